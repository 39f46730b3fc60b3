"""`python -m mock_identity_server`: refusals at start-up (exit 2), and the control-token guard."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mock_identity_server import create_app
from mock_identity_server.__main__ import main
from mock_identity_server.app import CONTROL_TOKEN_HEADER
from mock_identity_server.clock import VirtualClock
from mock_identity_server.settings import ServerSettings
from mock_identity_server.store import AccountSpec
from tests.conftest import EMAIL, FAST_KDF, PASSWORD, START


def _run(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if name != "SLEEPWALK_CONTROL_TOKEN"}
    return subprocess.run(
        [sys.executable, "-m", "mock_identity_server", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        check=False,
    )


def test_non_loopback_host_without_control_token_exits_2(tmp_path: Path) -> None:
    result = _run("--host", "0.0.0.0", "--port", "0", data_dir=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "--control-token" in result.stderr
    assert "'0.0.0.0'" in result.stderr
    assert not (tmp_path / "server.json").exists()


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield sock.getsockname()[1]


def test_port_in_use_exits_2_with_a_clear_sentence(tmp_path: Path, busy_port: int) -> None:
    result = _run("--port", str(busy_port), data_dir=tmp_path)
    assert result.returncode == 2
    assert f"Cannot listen on 127.0.0.1:{busy_port}" in result.stderr
    assert "Pick another --port" in result.stderr
    assert not (tmp_path / "server.json").exists()


def test_bad_settings_on_the_command_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Settings are checked before anything is built, so main() can run in-process here.
    assert main(["--access-token-lifetime", "0", "--data-dir", str(tmp_path)]) == 2
    assert "access_token_lifetime" in capsys.readouterr().err
    assert not tmp_path.joinpath("server.json").exists()


@pytest.fixture
def guarded() -> Iterator[TestClient]:
    app = create_app(
        ServerSettings(),
        VirtualClock(START),
        seed=AccountSpec(email=EMAIL, password=PASSWORD, kdf=FAST_KDF),
        control_token="s3cret",
    )
    with TestClient(app, base_url="https://testserver") as client:
        yield client


@pytest.mark.parametrize("path", ["/_control/clock", "/_control/faults", "/docs", "/openapi.json"])
@pytest.mark.parametrize(("token", "status"), [(None, 401), ("wrong", 401), ("s3cre", 401), ("s3cret", 200)])
def test_control_api_needs_the_token_header(guarded: TestClient, path: str, token: str | None, status: int) -> None:
    headers = {CONTROL_TOKEN_HEADER: token} if token is not None else {}
    response = guarded.get(path, headers=headers)
    assert response.status_code == status
    if status == 401:
        assert CONTROL_TOKEN_HEADER in response.json()["error"]


def test_product_endpoints_need_no_control_token(guarded: TestClient) -> None:
    assert guarded.get("/api/alive").status_code == 200
    assert guarded.get("/api/config").status_code == 200


def test_without_a_control_token_the_control_api_is_open(client: TestClient) -> None:
    assert client.get("/_control/clock").status_code == 200


def test_create_app_refuses_a_clock_it_cannot_move() -> None:
    class Fixed:
        def now(self) -> object:
            return START

    with pytest.raises(TypeError, match=r"VirtualClock\(start\)"):
        create_app(ServerSettings(), Fixed())  # type: ignore[arg-type]
