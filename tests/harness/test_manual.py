"""Manual QA mode: `sleepwalk serve` and the commands that steer it, as separate processes, as QA runs them."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness._errors import HarnessError
from harness._manual import NoServerRunning, RunningServer, describe_request, parse_clock_change
from harness.cli import app
from tests.manual_mode import Served, served

runner = CliRunner()


@pytest.mark.parametrize(("text", "seconds"), [("+1h", 3600.0), ("20m", 1200.0), ("-5m", -300.0), ("+1h30m", 5400.0)])
def test_clock_changes_are_steps(text: str, seconds: float) -> None:
    assert parse_clock_change(text).seconds == seconds


def test_a_clock_change_can_be_an_instant_with_a_zone() -> None:
    change = parse_clock_change("2026-01-15T10:00:00Z")
    assert change.instant is not None
    assert change.instant.isoformat() == "2026-01-15T10:00:00+00:00"
    with pytest.raises(HarnessError, match="with a zone"):
        parse_clock_change("2026-01-15T10:00:00")


def test_a_journal_line_says_times_method_path_grant_verdict_and_status() -> None:
    entry = {
        "seq": 7,
        "method": "GET",
        "path": "/api/sync",
        "query": "excludeDomains=true",
        "arrived_virtual": "2026-01-15T10:20:00.250Z",
        "arrived_real": "2026-12-05T08:00:01.125Z",
        "grant_type": None,
        "token_verdict": "expired",
        "status": 401,
        "held": True,
        "fault_id": "f1",
        "fault_action": "hold",
        "note": None,
    }
    line = describe_request(entry)
    assert " ".join(line.split()) == (
        "#7 virtual 2026-01-15 10:20:00.250 real 08:00:01.125 GET /api/sync?excludeDomains=true "
        "token expired -> 401 (held) (fault f1: hold)"
    )
    assert "grant=refresh_token" in describe_request({**entry, "grant_type": "refresh_token"})


def test_no_server_file_means_no_server(tmp_path: Path) -> None:
    with pytest.raises(NoServerRunning, match="start one with `sleepwalk serve`"):
        RunningServer.find(tmp_path)


def test_a_server_file_left_by_a_dead_process_means_no_server(tmp_path: Path) -> None:
    dead = os.fork()
    if dead == 0:
        os._exit(0)
    os.waitpid(dead, 0)
    (tmp_path / "server.json").write_text(json.dumps({"url": "https://127.0.0.1:1", "ca_cert": "x", "pid": dead}))
    with pytest.raises(NoServerRunning, match=f"PID {dead}, which has exited"):
        RunningServer.find(tmp_path)


@pytest.fixture
def no_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SLEEPWALK_HOME", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sleep", "banana"], "Cannot read the duration 'banana'"),
        (["sleep", "0s"], "moves no clock"),
        (["fault", "banana"], "Unknown fault kind 'banana'"),
        (["fault", "status"], "A status fault needs a code from 400 to 599"),
        (["fault", "999"], "A status fault needs a code from 400 to 599"),
        (["fault", "403", "--body", "xml"], "Unknown --body 'xml'"),
        (["clock", "yesterday"], "Cannot read the clock change 'yesterday'"),
        (["sleep", "20m"], "No sleepwalk server is running"),
        (["clock"], "No sleepwalk server is running"),
        (["expire"], "No sleepwalk server is running"),
        (["revoke"], "No sleepwalk server is running"),
        (["reset"], "No sleepwalk server is running"),
        (["journal"], "No sleepwalk server is running"),
        (["fault", "list"], "No sleepwalk server is running"),
    ],
)
def test_bad_arguments_and_no_server_exit_2_with_one_sentence(no_server: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with served(tmp_path_factory.mktemp("manual")) as running:
        yield running


@pytest.fixture
def fresh(server: Served) -> Served:
    result = server.sleepwalk("reset")
    assert result.returncode == 0, result.stderr
    return server


def test_serve_prints_the_url_the_ca_how_to_trust_it_and_the_account(server: Served) -> None:
    banner = server.banner
    assert f"listening on {server.url}" in banner
    assert f"NODE_EXTRA_CA_CERTS={server.ca_cert}" in banner
    assert "update-ca-certificates" in banner
    assert f"{server.facts['account']['email']} / {server.facts['account']['password']}" in banner
    assert f"SLEEPWALK_CLOCK_OFFSET_FILE={server.home / 'server' / 'client-clock-offset'}" in banner


def test_a_second_serve_on_the_same_data_directory_is_refused(server: Served) -> None:
    result = server.sleepwalk("serve", "--port", "0")
    assert result.returncode == 2
    assert f"already running at {server.url}" in result.stderr


def test_sleep_holds_the_next_authenticated_request_then_both_clocks_jump(fresh: Served) -> None:
    token = fresh.api_key_token()  # the token request carries no bearer token: it must not be held
    with fresh.sleeping("20m", "--timeout", "30s") as sleeping, fresh.http() as http:
        # The config fetch clients make on the side is not held by default: a 401 there proves nothing.
        assert http.get("/api/config", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        answer = http.get("/api/sync", headers={"Authorization": f"Bearer {token}"})
        stdout, _ = sleeping.communicate(timeout=30)
    assert answer.status_code == 401
    assert sleeping.returncode == 0
    assert "Held GET /api/sync" in stdout
    assert "Slept 20m" in stdout
    assert "the server answered 401 (token expired)" in stdout
    assert (fresh.home / "server" / "client-clock-offset").read_text().strip() == str(20 * 60 * 1000)

    journal = fresh.sleepwalk("journal")
    assert journal.returncode == 0
    lines = journal.stdout.splitlines()
    (sync_line,) = [line for line in lines if "/api/sync" in line]
    assert "token expired  -> 401  (held)" in sync_line
    assert any("host slept: +1200 s" in line for line in lines)


def test_sleep_gives_up_cleanly_when_no_request_comes(fresh: Served) -> None:
    result = fresh.sleepwalk("sleep", "20m", "--timeout", "1s")
    assert result.returncode == 1
    assert "nothing was held and no clock moved" in result.stdout
    faults = fresh.sleepwalk("fault", "list")
    assert faults.stdout.strip() == "No faults."
    clock = fresh.sleepwalk("clock")
    assert "+0s from real time); bridged client clocks: +0s" in clock.stdout


def test_clock_moves_the_server_alone_or_with_the_clients(fresh: Served) -> None:
    alone = fresh.sleepwalk("clock", "+1h")
    assert alone.returncode == 0, alone.stderr
    assert "Server clock moved +1h" in alone.stdout
    assert "clock skew" in alone.stdout
    back = fresh.sleepwalk("clock", "-30m", "--client-too")
    assert "Server clock moved -30m" in back.stdout
    assert (fresh.home / "server" / "client-clock-offset").read_text().strip() == str(-30 * 60 * 1000)
    shown = fresh.sleepwalk("clock").stdout
    assert "(running, +30m from real time); bridged client clocks: -30m from real time." in shown


def test_expire_makes_the_current_token_fail_and_says_so(fresh: Served) -> None:
    token = fresh.api_key_token()
    result = fresh.sleepwalk("expire")
    assert "Declared all 1 access token(s) issued so far expired" in result.stdout
    with fresh.http() as http:
        assert http.get("/api/sync", headers={"Authorization": f"Bearer {token}"}).status_code == 401
        assert http.get("/api/sync", headers={"Authorization": f"Bearer {fresh.api_key_token()}"}).status_code == 200


def test_fault_commands_add_list_and_clear(fresh: Served) -> None:
    added = fresh.sleepwalk("fault", "403", "--path", "/api/*", "--always")
    assert added.returncode == 0, added.stderr
    assert re.match(r"Added fault f\d+: answer 403 on any method /api/\*, every time\.", added.stdout)
    with fresh.http() as http:
        assert http.get("/api/sync", headers={"Authorization": f"Bearer {fresh.api_key_token()}"}).status_code == 403
    assert "fired 1, permanent" in fresh.sleepwalk("fault", "list").stdout
    assert "Removed every fault" in fresh.sleepwalk("fault", "clear").stdout
    assert fresh.sleepwalk("fault", "list").stdout.strip() == "No faults."


def test_revoke_ends_refresh_tokens(fresh: Served) -> None:
    result = fresh.sleepwalk("revoke")
    assert result.returncode == 0
    assert "refresh token(s)" in result.stdout


def test_journal_json_lines_are_the_server_entries(fresh: Served) -> None:
    fresh.api_key_token()
    lines = fresh.sleepwalk("journal", "--json").stdout.splitlines()
    entries = [json.loads(line) for line in lines if '"seq"' in line and '"method"' in line]
    assert [(entry["method"], entry["path"], entry["status"]) for entry in entries] == [
        ("POST", "/identity/connect/token", 200)
    ]


def test_journal_follow_prints_each_request_as_it_is_answered(fresh: Served) -> None:
    with fresh.following() as follower:
        assert follower.stdout is not None
        fresh.api_key_token()
        line = follower.stdout.readline()
    assert "POST   /identity/connect/token  grant=client_credentials  -> 200" in line


def test_report_saves_the_session_and_draws_its_timeline(fresh: Served, tmp_path: Path) -> None:
    token = fresh.api_key_token()
    with fresh.sleeping("10m", "--timeout", "30s") as sleeping, fresh.http() as http:
        http.get("/api/sync", headers={"Authorization": f"Bearer {token}"})
        sleeping.communicate(timeout=30)
    result = fresh.sleepwalk("report", "--save-to", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert f"Wrote {tmp_path / 'report.html'} (1 run(s))" in result.stdout
    saved = json.loads((tmp_path / "manual" / "serve" / "journal.json").read_text())
    assert [(entry["path"], entry["status"]) for entry in saved] == [
        ("/identity/connect/token", 200),
        ("/api/sync", 401),
    ]
    events = json.loads((tmp_path / "manual" / "serve" / "events.json").read_text())
    assert [event["reason"] for event in events if event["kind"] == "clock"] == ["sleep"]
    mermaid = fresh.sleepwalk("report", str(tmp_path), "--format", "mermaid").stdout
    assert "GET /api/sync" in mermaid
    assert "401 (token expired)" in mermaid
