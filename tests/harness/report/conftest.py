"""Report fixtures: a hand-made run (sleep, skew, faults, a hold, a hostile path) and a real reference-client run."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.report import ChromiumMissing, RunRecord, find_chromium

T0 = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
R0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HOSTILE = "/api/ciphers</script><script>alert(1)</script>"


def iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def entry(seq: int, method: str, path: str, v: float, r: float, status: int | None = 200, **extra: Any) -> dict:
    """A journal entry `v` virtual and `r` real seconds into the run, with every optional field filled."""
    virtual, real = iso(T0 + timedelta(seconds=v)), iso(R0 + timedelta(seconds=r))
    return {
        "seq": seq,
        "method": method,
        "path": path,
        "query": "",
        "grant_type": None,
        "arrived_real": real,
        "arrived_virtual": virtual,
        "answered_real": real,
        "answered_virtual": virtual,
        "status": status,
        "token_id": None,
        "token_verdict": None,
        "user_id": "u1",
        "issued_token_id": None,
        "fault_id": None,
        "fault_action": None,
        "held": False,
        "note": None,
        **extra,
    }


def clock_event(seq: int, v: float, r: float, seconds: float, reason: str | None) -> dict:
    return {
        "seq": seq,
        "kind": "clock",
        "real": iso(R0 + timedelta(seconds=r)),
        "virtual": iso(T0 + timedelta(seconds=v)),
        "virtual_after": iso(T0 + timedelta(seconds=v + seconds)),
        "seconds": seconds,
        "reason": reason,
        "text": f"clock {reason}: {seconds:+g} s",
    }


def hand_journal() -> list[dict]:
    token = "/identity/connect/token"
    exp_a, exp_b = iso(T0 + timedelta(seconds=330)), iso(T0 + timedelta(seconds=850))
    return [
        entry(1, "POST", token, 0, 0.0, grant_type="password", issued_token_id="A", issued_token_expires_virtual=exp_a),
        entry(2, "GET", "/api/sync", 0, 0.01, token_id="A", token_verdict="valid"),
        entry(3, "GET", "/api/accounts/revision-date", 400, 0.03, 401, token_id="A", token_verdict="expired"),
        entry(
            4,
            "POST",
            token,
            400,
            0.04,
            500,
            grant_type="refresh_token",
            token_id="R1",
            fault_id="f1",
            fault_action="status",
        ),
        entry(
            5,
            "POST",
            token,
            520,
            0.06,
            grant_type="refresh_token",
            token_id="R1",
            issued_token_id="B",
            issued_token_expires_virtual=exp_b,
        ),
        entry(
            6,
            "GET",
            HOSTILE,
            520,
            0.07,
            None,
            token_id="B",
            token_verdict="valid",
            fault_id="f2",
            fault_action="close",
            held=True,
            note="held; then closed #1",
        ),
    ]


def hand_events() -> list[dict]:
    fault = {
        "seq": 2,
        "kind": "fault",
        "real": iso(R0 + timedelta(seconds=0.015)),
        "virtual": iso(T0),
        "virtual_after": None,
        "seconds": None,
        "reason": None,
        "text": "fault f1 added: status 500 on POST /identity/connect/token; 1 time(s)",
    }
    return [fault, clock_event(1, 0, 0.02, 400, "sleep"), clock_event(3, 400, 0.05, 120, "skew")]


def hand_result() -> dict:
    return {
        "scenario": "hand-made",
        "client": "reference:legacy",
        "profile": "legacy",
        "expected_profile": "fixed",
        "passed": False,
        "problems": ["expected [GET /api/sync 200]; observed <none> #1"],
        "state": "logged_out",
        "exit_code": 1,
        "logout_reason": "invalid_grant; <b>bold</b>",
        "error": None,
        "description": "A hand-made run: sleep, skew, a 500 refresh, a held request & a hostile path.",
        "source": "https://example.com/issues/1?a=1&b=<2>",
        "settings": {"access_token_lifetime": 330, "leeway": 0},
        "expected": {"state": "unlocked", "requests": ["GET /api/sync 200"]},
        "requests": [],
        "commands": [{"command": "bw sync", "exit_code": 1, "stdout": "", "stderr": "</script>", "seconds": 0.1}],
    }


@pytest.fixture
def hand_run() -> RunRecord:
    return RunRecord("hand-made", "reference:legacy", hand_journal(), hand_events(), hand_result(), None)


@pytest.fixture(scope="session")
def real_report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two scenarios run with both reference profiles; the report dir `sleepwalk run` wrote."""
    report_dir = tmp_path_factory.mktemp("real-reports")
    args = ["run", "sleep-before-send", "s06-retry-refresh-500", "-c", "reference:legacy", "-c", "reference:fixed"]
    result = CliRunner().invoke(app, [*args, "--report-dir", str(report_dir)])
    assert result.exit_code == 0, result.output
    return report_dir


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Chromium, or a skip naming it (a failure on CI, which must not pass by skipping)."""
    try:
        return find_chromium()
    except ChromiumMissing as exc:
        if os.environ.get("CI"):
            pytest.fail(f"{exc} CI must run the report's browser tests.", pytrace=False)
        pytest.skip(f"chromium is not installed: {exc}")
