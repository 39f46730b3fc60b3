"""A session: one mock server and many scenario runs against it, in parallel when asked, cleaned up on Ctrl-C.

Each (scenario, client) pair runs in its own world and its own working directory, so `-j 2` gives the same
verdicts as a sequential run. On an interrupt the session first stops every client process (their runs then
finish and write their journals while the server still answers), then waits for the runs, then stops the server.
"""

from __future__ import annotations

import logging
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx

from harness._control import Control
from harness._errors import ClientError, HarnessError
from harness._outcome import Outcome, Verdict, judge
from harness._profiles import Profile
from harness._runner import run_scenario, write_result
from harness._scenario import Scenario
from harness._server import ServerProcess
from harness.clients import DriverContext, make_driver
from harness.clients.base import ClientDriver
from harness.report import ReportError, write_html_report

__all__ = ["Session"]

logger = logging.getLogger(__name__)


class Session:
    """Runs scenarios with clients against one server, reached through `http`.

    `http` is a client of a live server (`Session.started()` starts one) or FastAPI's in-process `TestClient`,
    in which case only in-process clients (the reference client) can run: processes need a real socket.
    """

    def __init__(self, http: httpx.Client, workdir: Path, *, ca_cert: Path | None = None) -> None:
        self.http = http
        self.workdir = workdir
        self.context = DriverContext(http, ca_cert)
        self.control = Control(http)
        self._active: set[ClientDriver] = set()
        self._lock = threading.Lock()
        self._report_lock = threading.Lock()

    @classmethod
    @contextmanager
    def started(cls, data_dir: Path | None = None) -> Iterator[Session]:
        """A session with its own server and scratch directory, both gone afterwards."""
        with tempfile.TemporaryDirectory(prefix="sleepwalk-") as scratch:
            root = Path(scratch)
            server = ServerProcess.start(data_dir or root / "server")
            try:
                with server.http() as http:
                    session = cls(http, root, ca_cert=server.ca_cert)
                    try:
                        yield session
                    finally:
                        session.stop_clients()
            finally:
                server.stop()

    def stop_clients(self) -> None:
        """Stop every client process of every run under way (Ctrl-C)."""
        with self._lock:
            active = list(self._active)
        for driver in active:
            try:
                driver.close()
            except Exception:  # a best-effort stop: report and go on with the others
                logger.exception("Could not stop %s", driver.name)

    def run_one(
        self, scenario: Scenario, client: str, *, expect: Profile | None = None, report_dir: Path | None = None
    ) -> Verdict:
        """Run `scenario` with `client`; with `report_dir`, its files and the directory's report.html are written."""
        verdict = self._run(scenario, client, expect=expect, report_dir=report_dir)
        if report_dir is not None:
            self._write_report(report_dir)
        return verdict

    def _run(
        self, scenario: Scenario, client: str, *, expect: Profile | None = None, report_dir: Path | None = None
    ) -> Verdict:
        try:
            if scenario.reference_only and not client.startswith("reference:"):
                raise ClientError(f"{scenario.id} runs on reference clients only: {scenario.reference_only}")
            driver = make_driver(client, self.context)
        except HarnessError as exc:
            outcome = Outcome(scenario.id, client, expect or Profile.FIXED, (), None, error=str(exc))
            verdict = judge(scenario, outcome, expect)
            if report_dir is not None:
                write_result(verdict, report_dir, scenario)
            return verdict
        with self._lock:
            self._active.add(driver)
        runs = self.workdir / "runs"
        runs.mkdir(parents=True, exist_ok=True)
        # A fresh directory per run: a client's data directory must never carry over into the next run.
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{scenario.id}-{client}-")
        workdir = Path(tempfile.mkdtemp(prefix=name, dir=runs))
        try:
            return run_scenario(scenario, driver, self.control, workdir, expect=expect, report_dir=report_dir)
        finally:
            with self._lock:
                self._active.discard(driver)

    def _write_report(self, report_dir: Path) -> None:
        """Rewrite report.html after every run, so an interrupted session still leaves a report of what ran."""
        with self._report_lock:
            try:
                write_html_report(report_dir)
            except ReportError as exc:  # the results are written; a report is a view of them
                logger.warning("Could not write the HTML report in %s: %s", report_dir, exc)

    def run_all(
        self,
        scenarios: list[Scenario],
        clients: list[str],
        *,
        jobs: int = 1,
        expect: Profile | None = None,
        report_dir: Path | None = None,
        on_verdict: Callable[[Verdict], None] | None = None,
    ) -> list[Verdict]:
        """Every scenario with every client; verdicts in the order of the pairs."""
        pairs = [(scenario, client) for scenario in scenarios for client in clients]
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures: list[Future[Verdict]] = [
                pool.submit(self.run_one, scenario, client, expect=expect, report_dir=report_dir)
                for scenario, client in pairs
            ]
            if on_verdict is not None:
                for future in futures:
                    future.add_done_callback(lambda done: on_verdict(done.result()) if not done.exception() else None)
            try:
                return [future.result() for future in futures]
            except BaseException:
                # Ctrl-C: runs not started are dropped; runs under way lose their client processes, fail fast,
                # and write their journals and results while the server still answers.
                for future in futures:
                    future.cancel()
                self.stop_clients()
                raise
