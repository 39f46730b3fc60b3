"""Shared fixtures: a virtual clock at a fixed instant, the app, an in-process client, and a live HTTPS server.

The live server runs as a subprocess (`python -m mock_identity_server --port 0 --json`), the way the harness and
the real CLI meet it; each test that needs isolation gets its own world on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from harness._server import ServerProcess
from harness._session import Session
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


LiveServer = ServerProcess


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
def live_server(sleepwalk_server: ServerProcess) -> ServerProcess:
    """The live HTTPS server of the sleepwalk pytest plugin (harness/pytest_plugin.py), which our tests use too."""
    return sleepwalk_server


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


@pytest.fixture(scope="session")
def reference_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    """A session whose server is called through its ASGI app: no port, no process."""
    app = create_app(clock=VirtualClock(START), seed=AccountSpec(email=EMAIL, password=PASSWORD, kdf=FAST_KDF))
    with TestClient(app, base_url="https://testserver") as http:
        yield Session(http, tmp_path_factory.mktemp("reference"))
