"""The README's manual QA session, replayed with the real CLI: serve, point bw at it, sleep 20m, read the journal.

Each command is a separate process, as QA types them in two terminals; they meet only through the server.json
that `sleepwalk serve` leaves behind. The bw environment is taken from what `serve` printed, so the banner is
tested too. `tests/test_readme.py` checks that the README still shows these steps.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.manual_mode import Served, served

pytestmark = pytest.mark.realcli

#: The steps of README.md's "Manual QA mode" section, in order.
README_STEPS = (
    "sleepwalk serve",
    "bw config server",
    "bw login",
    "sleepwalk sleep 20m",
    "bw sync",
    "sleepwalk journal",
    "sleepwalk report",
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with served(tmp_path_factory.mktemp("manual-realcli")) as running:
        yield running


def _exported(banner: str) -> dict[str, str]:
    """The variables `serve` told QA to export, as a shell would set them."""
    variables = {}
    for line in banner.splitlines():
        if line.strip().startswith("export "):
            name, _, value = line.strip().removeprefix("export ").partition("=")
            variables[name] = value[1:-1] if value.startswith("'") else value
    return variables


def _bw(bw_js: Path, env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    def run(*args: str, session: str | None = None) -> subprocess.CompletedProcess[str]:
        extra = {"BW_SESSION": session} if session else {}
        return subprocess.run(
            ["node", str(bw_js), *args], env={**env, **extra}, capture_output=True, text=True, timeout=120, check=False
        )

    return run


def _from_the_held_request(journal: str) -> list[str]:
    """The held request and every request after it, as `METHOD PATH ... -> STATUS ...` without the times."""
    lines = journal.splitlines()
    (held,) = [index for index, line in enumerate(lines) if "(held)" in line]
    assert "host slept: +1200 s" in "".join(lines[held:]), journal
    return [" ".join(line.split()[6:]) for line in lines[held:] if line.startswith("#")]


@pytest.mark.parametrize("version", ["2025.12.1", "2026.1.0"])
def test_the_readme_manual_session_with_the_real_cli(
    version: str, server: Served, bw_js: Callable[[str], Path], tmp_path: Path
) -> None:
    assert server.sleepwalk("reset").returncode == 0
    env = {
        **os.environ,
        **_exported(server.banner),
        "BITWARDENCLI_APPDATA_DIR": str(tmp_path / "bw"),
        "BW_NOINTERACTION": "true",
    }
    assert set(_exported(server.banner)) == {"NODE_EXTRA_CA_CERTS", "NODE_OPTIONS", "SLEEPWALK_CLOCK_OFFSET_FILE"}
    bw = _bw(bw_js(version), env)
    account = server.facts["account"]

    assert bw("config", "server", server.url).returncode == 0
    login = bw("login", account["email"], account["password"], "--raw")
    assert login.returncode == 0, login.stderr
    session = login.stdout.strip()

    with server.sleeping("20m", "--timeout", "60s") as sleeping:
        sync = bw("sync", session=session)
        slept, _ = sleeping.communicate(timeout=60)
    assert sleeping.returncode == 0, slept
    assert "Slept 20m" in slept
    assert "the server answered 401 (token expired)" in slept

    journal = server.sleepwalk("journal").stdout
    after = _from_the_held_request(journal)
    assert "token expired -> 401 (held)" in after[0], journal
    held_path = after[0].split()[1]
    status = bw("status", session=session).stdout
    if version == "2025.12.1":
        # Before bitwarden/clients#17407: the 401 logs the user out; no refresh, no retry.
        assert sync.returncode == 1, sync.stdout + sync.stderr
        assert not any("grant=refresh_token" in line for line in after), journal
        assert '"status":"unauthenticated"' in status
    else:
        # Since #17407: the request is rebuilt, which refreshes (the bridged CLI clock also jumped), then retried.
        assert sync.returncode == 0, sync.stdout + sync.stderr
        assert "grant=refresh_token -> 200" in after[1], journal
        assert any(line.split()[1] == held_path and line.endswith("-> 200") for line in after[2:]), journal
        assert '"status":"unlocked"' in status

    report = server.sleepwalk("report", "--save-to", str(tmp_path / "reports"))
    assert report.returncode == 0, report.stderr
    assert (tmp_path / "reports" / "report.html").stat().st_size > 10_000
    mermaid = server.sleepwalk("report", str(tmp_path / "reports"), "--format", "mermaid").stdout
    assert "401 (token expired)" in mermaid
