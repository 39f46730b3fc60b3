"""The real Bitwarden CLI as a scenario client: `bw@VERSION`, one process per command or a long-lived `bw serve`.

A sleep at a request uses the server's hold: the request is parked the moment it arrives (its token was valid
when the CLI built it), the CLI process is frozen with SIGSTOP, both clocks jump, the process is thawed with
SIGCONT and the request released — so the server judges the token after the sleep, as after a real suspend
(../shared/docs/real-cli.md §12).
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from harness._control import Control, WorldInfo
from harness._errors import ClientError, StateUnknown
from harness._outcome import CommandResult
from harness._profiles import Profile, cli_profile
from harness._scenario import ClientSetup, ClientState, Step
from harness.clients._held_sleep import sleep_through_hold
from harness.clients.base import SleepPlan
from harness.clients.bw import BwClient, BwError, BwRun, install, kill_group

__all__ = ["BitwardenCliDriver"]

logger = logging.getLogger(__name__)

_STATES = {"unlocked": ClientState.UNLOCKED, "locked": ClientState.LOCKED, "unauthenticated": ClientState.LOGGED_OUT}
#: How long a command may run (real seconds).
COMMAND_TIMEOUT = 120.0


class BitwardenCliDriver:
    """Drives `@bitwarden/cli` at one version through a scenario."""

    realtime = True

    def __init__(self, version: str, ca_cert: Path, *, cache_dir: Path | None = None) -> None:
        self.version = version
        self.name = f"bw@{version}"
        try:
            self.profile: Profile = cli_profile(version)
            self.bw_js = install(version, cache_dir)
        except (BwError, ValueError) as exc:
            raise ClientError(str(exc)) from exc
        self.ca_cert = ca_cert
        self._client: BwClient | None = None
        self._control: Control | None = None
        self._setup = ClientSetup()
        self._account: dict[str, Any] = {}
        self._session = ""
        self._password = ""
        self._items: list[str] = []
        self._serve: subprocess.Popen[str] | None = None
        self._serve_url = ""
        self._running: list[subprocess.Popen[str]] = []
        self._closed = False

    # --- protocol ---------------------------------------------------------------------------------------------

    def start(self, world: WorldInfo, control: Control, workdir: Path, setup: ClientSetup) -> None:
        self._control = control
        self._setup = setup
        self._client = BwClient(self.bw_js, workdir / "bw-data", self.ca_cert)
        self._checked(self._run("config", "server", world.base_url), "configure the server")
        login_mark = control.last_seq()
        account = self._account = world.account
        self._password = account.get("password", "")
        if setup.login == "none":
            return
        if setup.login == "apikey":
            api_key = account["api_key"]
            env = {"BW_CLIENTID": api_key["client_id"], "BW_CLIENTSECRET": api_key["client_secret"]}
            self._checked(self._run("login", "--apikey", env=env), "log in with the API key")
        else:
            login = self._run("login", account["email"], self._password, "--raw")
            self._session = self._checked(login, "log in").stdout.strip()
        self._complete_login_sync(control, login_mark)
        if setup.mode == "serve":
            self._start_serve()

    def _complete_login_sync(self, control: Control, mark: int) -> None:
        """Finish a login the CLI left without its first sync.

        `bw login` sometimes exits before its post-login sync (2025.12.1 and 2026.1.0; docs/observations.md), which
        leaves lastSync unset: every later sync then skips the revision date, and a `bw serve` started on it
        syncs differently. Scenarios start from a logged-in, synced client, so the missing sync is run here.
        """
        if any(entry["path"] == "/api/sync" and entry["status"] == 200 for entry in control.journal(mark)):
            return
        logger.warning("%s logged in without its post-login sync (a known CLI race); syncing once", self.name)
        self._checked(self._run("sync", env=self._env()), "sync after logging in")

    def run(self, step: Step, sleep: SleepPlan | None) -> list[CommandResult]:
        if self._setup.mode == "serve":
            return self._run_serve(step, sleep)
        args = self._command_args(step)
        processes: list[subprocess.Popen[str]] = []

        def start() -> None:
            processes.extend(self._bw().start(*args, env=self._env()) for _ in range(step.processes))
            self._running.extend(processes)

        started = time.monotonic()
        try:
            if sleep is None:
                start()
            else:
                self._sleep_at(sleep, start, finished=lambda: all(_exited(p) for p in processes), frozen=processes)
            return [self._finish(process, args, started) for process in processes]
        finally:
            for process in processes:
                _kill(process)
            self._running = [process for process in self._running if process not in processes]

    def shift_clock(self, seconds: float) -> None:
        client = self._bw()
        client.set_clock_offset(client.clock_offset + seconds)

    def suspend(self) -> None:
        if self._serve is not None:
            os.kill(self._serve.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self._serve is not None:
            os.kill(self._serve.pid, signal.SIGCONT)

    def state(self) -> ClientState:
        if self._serve is not None:
            response = self._serve_call("GET", "/status")
            status = response.json().get("data", {}).get("template", {}).get("status")
        else:
            run = self._run("status", env=self._env())
            try:
                status = json.loads(run.stdout).get("status")
            except ValueError as exc:
                # It happens: after a long sleep `bw status` refetches the stale server config, refreshes for
                # it, and dies of the CLI's UnhandledPromiseRejection when that refresh fails.
                raise StateUnknown(
                    f"`bw status` printed {run.stdout!r} instead of JSON ({run.stderr.strip()[-300:]!r})."
                ) from exc
        if status not in _STATES:
            raise ClientError(f"{self.name} reported the unknown status {status!r}.")
        return _STATES[status]

    def logout_reason(self) -> str | None:
        return None  # the CLI never prints it (real-cli.md §15.11); verdicts read the request sequence instead

    def close(self) -> None:
        self._closed = True
        # Other threads may be waiting on these processes: only signal them here; each owner reaps its own.
        for process in list(self._running):
            kill_group(process)
        if self._serve is not None:
            _kill(self._serve)
            self._serve = None

    # --- commands ---------------------------------------------------------------------------------------------

    def _bw(self) -> BwClient:
        if self._closed:
            raise ClientError(f"{self.name} was stopped (interrupted); no further commands run.")
        if self._client is None:
            raise ClientError(f"{self.name} was used before start().")
        return self._client

    def _run(self, *args: str, env: dict[str, str] | None = None) -> BwRun:
        """A `bw` command run to completion, registered so that close() can stop it from another thread."""
        started: list[subprocess.Popen[str]] = []

        def register(process: subprocess.Popen[str]) -> None:
            started.append(process)
            self._running.append(process)

        try:
            return self._bw().run(*args, env=env, timeout=COMMAND_TIMEOUT, on_start=register)
        except BwError as exc:
            raise ClientError(str(exc)) from exc
        finally:
            for process in started:
                with contextlib.suppress(ValueError):
                    self._running.remove(process)

    def _env(self) -> dict[str, str]:
        return {"BW_SESSION": self._session} if self._session else {}

    def _command_args(self, step: Step) -> list[str]:
        if step.login is not None:
            return ["login", self._account["email"], self._password, "--raw"]
        if step.sync is not None:
            return ["sync", "--force"] if step.sync.force else ["sync"]
        if step.create_item is not None:
            return [
                "create",
                "item",
                _encoded_item(step.create_item.name, step.create_item.username, step.create_item.password),
            ]
        if step.delete_item is not None:
            if not self._items:
                raise ClientError("delete_item needs an item created earlier in the scenario (a create_item step).")
            return ["delete", "item", self._items[-1], *(["--permanent"] if step.delete_item.permanent else [])]
        return ["status"]

    def _finish(self, process: subprocess.Popen[str], args: list[str], started: float) -> CommandResult:
        shown = "bw " + " ".join(arg if len(arg) < 40 else arg[:20] + "…" for arg in args)
        try:
            stdout, stderr = process.communicate(timeout=COMMAND_TIMEOUT)
        except subprocess.TimeoutExpired:
            _kill(process)
            stdout, stderr = process.communicate()
            raise ClientError(
                f"`{shown}` did not finish within {COMMAND_TIMEOUT:g} s; it printed {stderr[-400:]!r}."
            ) from None
        if args[0] == "login" and process.returncode == 0:
            self._session = stdout.strip()
            shown = f"bw login {self._account['email']} *** --raw"
        if args[:2] == ["create", "item"] and process.returncode == 0:
            with contextlib.suppress(ValueError, KeyError):
                self._items.append(json.loads(stdout)["id"])
        return CommandResult(shown, process.returncode, stdout, stderr, time.monotonic() - started)

    def _sleep_at(
        self,
        sleep: SleepPlan,
        start: Callable[[], None],
        *,
        finished: Callable[[], bool],
        frozen: list[subprocess.Popen[str]],
    ) -> None:
        assert self._control is not None

        def signal_all(signum: int) -> None:
            for process in frozen:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signum)

        sleep_through_hold(
            self._control,
            sleep,
            client=self.name,
            start=start,
            finished=finished,
            freeze=lambda: signal_all(signal.SIGSTOP),
            thaw=lambda: signal_all(signal.SIGCONT),
        )

    # --- bw serve ---------------------------------------------------------------------------------------------

    def _start_serve(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self._serve = self._bw().start("serve", "--hostname", "127.0.0.1", "--port", str(port), env=self._env())
        self._serve_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while time.monotonic() < deadline:
            if self._serve.poll() is not None:
                _, stderr = self._serve.communicate()
                raise ClientError(f"`bw serve` exited {self._serve.returncode} at start: {stderr.strip()[-400:]!r}")
            try:
                httpx.get(f"{self._serve_url}/status", timeout=1.0)
                return
            except httpx.TransportError:
                time.sleep(0.1)  # the serve process is still starting: poll its port again
        raise ClientError(f"`bw serve` did not listen on {self._serve_url} within {COMMAND_TIMEOUT:g} s.")

    def _serve_call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        try:
            return httpx.request(method, f"{self._serve_url}{path}", json=body, timeout=COMMAND_TIMEOUT)
        except httpx.HTTPError as exc:
            raise ClientError(f"`bw serve` did not answer {method} {path}: {exc}") from exc

    def _run_serve(self, step: Step, sleep: SleepPlan | None) -> list[CommandResult]:
        if step.login is not None:
            raise ClientError("`bw serve` is already logged in; a login step needs client.mode command.")
        if step.sync is not None:
            method, path, body = "POST", "/sync" + ("?force=true" if step.sync.force else ""), None
        elif step.create_item is not None:
            item = step.create_item
            method, path = "POST", "/object/item"
            body = {"type": 1, "name": item.name, "login": {"username": item.username, "password": item.password}}
        elif step.delete_item is not None:
            if not self._items:
                raise ClientError("delete_item needs an item created earlier in the scenario (a create_item step).")
            method, path, body = "DELETE", f"/object/item/{self._items[-1]}", None
        else:
            method, path, body = "GET", "/status", None
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=step.processes) as pool:
            futures: list[Future[httpx.Response]] = []

            def start() -> None:
                futures.extend(pool.submit(self._serve_call, method, path, body) for _ in range(step.processes))

            if sleep is None:
                start()
            else:
                assert self._serve is not None
                done = lambda: all(future.done() for future in futures)  # noqa: E731 - a one-line predicate
                self._sleep_at(sleep, start, finished=done, frozen=[self._serve])
            responses = [future.result() for future in futures]
        results = []
        for response in responses:
            text = response.text
            if step.create_item is not None and response.status_code == 200:
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    self._items.append(response.json()["data"]["id"])
            code = 0 if response.status_code == 200 else 1
            results.append(CommandResult(f"serve {method} {path}", code, text, "", time.monotonic() - started))
        return results

    def _checked(self, run: Any, what: str) -> Any:
        if self._closed:
            raise ClientError(f"{self.name} was stopped (interrupted) while it tried to {what}.")
        if run.returncode != 0:
            raise ClientError(
                f"{self.name} could not {what}: exit {run.returncode}, stderr {run.stderr.strip()[-400:]!r}."
            )
        return run


def _encoded_item(name: str, username: str, password: str) -> str:
    item = {"type": 1, "name": name, "notes": None, "login": {"username": username, "password": password}}
    return base64.b64encode(json.dumps(item).encode()).decode()


def _exited(process: Any) -> bool:
    return bool(process.poll() is not None)


def _kill(process: subprocess.Popen[str]) -> None:
    kill_group(process)
    process.wait()
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
