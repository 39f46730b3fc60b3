"""Drive `sleepwalk serve` and the manual commands as QA does: separate processes, synchronised on their output."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

SLEEPWALK = [sys.executable, "-m", "harness.cli"]
BANNER_END = "Ctrl-C stops the server."


@dataclass
class Served:
    """A `sleepwalk serve` process and the facts it left in its data directory."""

    process: subprocess.Popen[str]
    home: Path
    banner: str
    facts: dict[str, Any]

    @property
    def url(self) -> str:
        return str(self.facts["url"])

    @property
    def ca_cert(self) -> str:
        return str(self.facts["ca_cert"])

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "SLEEPWALK_HOME": str(self.home)}

    def sleepwalk(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*SLEEPWALK, *args], env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )

    @contextmanager
    def background(self, *args: str, ready: str) -> Iterator[subprocess.Popen[str]]:
        """`sleepwalk ARGS` in the background, returned once it says `ready...` on stderr; killed if still running."""
        with subprocess.Popen(
            [*SLEEPWALK, *args], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as process:
            try:
                assert process.stderr is not None
                said = process.stderr.readline()
                assert said.startswith(ready), said + process.stderr.read()
                yield process
            finally:
                if process.poll() is None:
                    process.kill()

    def following(self) -> AbstractContextManager[subprocess.Popen[str]]:
        """`sleepwalk journal --follow`, once it follows."""
        return self.background("journal", "--follow", ready="Following the journal")

    def sleeping(self, *args: str) -> AbstractContextManager[subprocess.Popen[str]]:
        """`sleepwalk sleep ARGS`, once its hold is armed."""
        return self.background("sleep", *args, ready="Holding the next request")

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, verify=ssl.create_default_context(cafile=self.ca_cert), timeout=30)

    def api_key_token(self) -> str:
        """An access token for the seeded account, through its API key as a client would get one."""
        account = self.facts["account"]
        form = {
            "grant_type": "client_credentials",
            "scope": "api",
            "client_id": account["client_id"],
            "client_secret": account["client_secret"],
            "deviceType": "25",
            "deviceIdentifier": str(uuid.uuid4()),
            "deviceName": "linux",
        }
        with self.http() as http:
            response = http.post("/identity/connect/token", data=form)
        response.raise_for_status()
        return str(response.json()["access_token"])


@contextmanager
def served(home: Path, *args: str) -> Iterator[Served]:
    """`sleepwalk serve --port 0 ARGS` with its own SLEEPWALK_HOME, stopped (and checked stopped) afterwards."""
    env = {**os.environ, "SLEEPWALK_HOME": str(home)}
    process = subprocess.Popen(
        [*SLEEPWALK, "serve", "--port", "0", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.strip() == BANNER_END:
                break
        else:
            raise AssertionError("sleepwalk serve ended before its banner: " + "".join(lines) + process.stderr.read())
        facts = json.loads((home / "server" / "server.json").read_text())
        yield Served(process, home, "".join(lines), facts)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
