"""Shared fixtures: a virtual clock at a fixed instant, the app, an in-process client, and a live HTTPS server.

The live server runs as a subprocess (`python -m mock_identity_server --port 0 --json`), the way the harness and
the real CLI meet it; each test that needs isolation gets its own world on it.
"""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from mock_identity_server import create_app
from mock_identity_server.clock import VirtualClock
from mock_identity_server.crypto import KdfSettings
from mock_identity_server.settings import ServerSettings
from mock_identity_server.store import AccountSpec

START = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
EMAIL = "qa@example.com"
PASSWORD = "correct horse battery staple"
# Unit tests derive keys often; the lowest iteration count clients accept keeps that cheap.
FAST_KDF = KdfSettings.pbkdf2(5_000)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


@pytest.fixture
def settings() -> ServerSettings:
    return ServerSettings()


@pytest.fixture
def app(clock: VirtualClock, settings: ServerSettings) -> Any:
    return create_app(settings, clock, seed=AccountSpec(email=EMAIL, password=PASSWORD, kdf=FAST_KDF))


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, base_url="https://testserver") as test_client:
        yield test_client


@dataclass(frozen=True)
class LiveServer:
    url: str
    ca_cert: Path
    pid: int
    account: dict[str, str]

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_cert))

    def http(self, base_url: str | None = None) -> httpx.Client:
        return httpx.Client(base_url=base_url or self.url, verify=self.ssl_context(), timeout=30)


@dataclass(frozen=True)
class LiveWorld:
    server: LiveServer
    id: str
    base_url: str
    account: dict[str, Any]
    control: httpx.Client

    def journal(self) -> list[dict[str, Any]]:
        response = self.control.get("/_control/journal")
        response.raise_for_status()
        entries: list[dict[str, Any]] = response.json()
        return entries


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("server")
    log_path = data_dir / "server.log"
    with log_path.open("w") as log:  # a file, not a pipe: an unread pipe would fill up and stall the server
        process = subprocess.Popen(
            [sys.executable, "-m", "mock_identity_server", "--port", "0", "--data-dir", str(data_dir), "--json"],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            process.wait(timeout=10)
            pytest.fail(f"The mock server did not start; it said: {log_path.read_text().strip()!r}")
        facts = json.loads(line)
        yield LiveServer(facts["url"], Path(facts["ca_cert"]), process.pid, facts["account"])
    finally:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def make_world(server: LiveServer, **request: Any) -> LiveWorld:
    """A fresh world on the live server; `request` is the body of POST /_control/worlds."""
    with server.http() as http:
        response = http.post("/_control/worlds", json=request)
        response.raise_for_status()
        world = response.json()
    control = server.http(world["base_url"])
    return LiveWorld(server, world["id"], world["base_url"], world["account"], control)


@pytest.fixture
def live_world(live_server: LiveServer) -> Iterator[LiveWorld]:
    world = make_world(live_server)
    try:
        yield world
    finally:
        world.control.close()
        with live_server.http() as http:
            http.delete(f"/_control/worlds/{world.id}")
