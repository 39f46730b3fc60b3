"""Start and stop the mock server as a subprocess, the way the real CLI meets it: HTTPS on a free port.

The server prints one JSON line when its socket is listening (`--json`), so start-up waits on that line, not on
a timer. Stopping signals the server's own PID and waits for it.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import ssl
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from harness._errors import ServerError

__all__ = ["ServerProcess"]

logger = logging.getLogger(__name__)


@dataclass
class ServerProcess:
    """A running mock server: its URL, CA certificate and seeded account."""

    url: str
    ca_cert: Path
    pid: int
    account: dict[str, Any]
    _process: subprocess.Popen[str]

    @classmethod
    def start(cls, data_dir: Path, *extra_args: str, python: str = sys.executable) -> ServerProcess:
        """Start `python -m mock_identity_server` on 127.0.0.1 and a free port; returns once it listens."""
        command = [
            python,
            "-m",
            "mock_identity_server",
            "--port",
            "0",
            "--data-dir",
            str(data_dir),
            "--json",
            *extra_args,
        ]
        data_dir.mkdir(parents=True, exist_ok=True)
        log_path = data_dir / "server.log"
        # The server's log goes to a file: a pipe nobody reads would fill up and stall the server.
        with log_path.open("w") as log:
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True)
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            process.wait(timeout=30)
            said = log_path.read_text().strip()[-800:]
            raise ServerError(f"The mock server did not start (exit {process.returncode}): {said}")
        try:
            facts = json.loads(line)
        except ValueError as exc:
            process.kill()
            process.wait()
            raise ServerError(f"The mock server printed {line!r} instead of its JSON facts line.") from exc
        logger.info("mock server %s listening (pid %s)", facts["url"], facts["pid"])
        return cls(facts["url"], Path(facts["ca_cert"]), process.pid, facts["account"], process)

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_cert))

    def http(self, base_url: str | None = None, *, timeout: float = 60.0) -> httpx.Client:
        """An HTTPS client trusting the server's CA, for the server's root or a world's `base_url`."""
        return httpx.Client(base_url=base_url or self.url, verify=self.ssl_context(), timeout=timeout)

    def wait(self) -> int:
        """Block until the server exits by itself; its exit status."""
        return self._process.wait()

    def stop(self) -> None:
        if self._process.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
