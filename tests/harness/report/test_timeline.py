"""The timeline model: token lives, refresh windows, clock jumps, and what is left when fields are missing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from harness.report import RunRecord
from harness.report._timeline import build_timeline, parse_time
from tests.harness.report.conftest import R0, T0, entry, hand_journal, hand_result


def test_token_lives_come_from_the_issuing_responses_and_the_requests_that_present_them(hand_run) -> None:
    timeline = build_timeline(hand_run)
    a, b = timeline.tokens
    assert (a.token_id, a.issued_seq, a.grant, b.token_id, b.issued_seq) == ("A", 1, "password", "B", 5)
    assert a.issued_virtual == T0
    assert a.expires_virtual == T0 + timedelta(seconds=330)
    assert a.expiry_source == "journal"
    # A refresh token's id (R1) is not an access token: the refresh calls do not count as uses of A.
    assert a.used_by == (2, 3)
    assert a.rejected_by == (3,)
    assert b.used_by == (6,)
    assert b.rejected_by == ()


def test_the_refresh_window_opens_300_s_before_expiry(hand_run) -> None:
    a = build_timeline(hand_run).tokens[0]
    assert a.refresh_from_virtual == T0 + timedelta(seconds=30)


def test_the_refresh_window_never_opens_before_the_token_was_issued() -> None:
    exp = (T0 + timedelta(seconds=100)).isoformat()
    journal = [entry(1, "POST", "/identity/connect/token", 0, 0, issued_token_id="T", issued_token_expires_virtual=exp)]
    token = build_timeline(RunRecord("s", "c", journal, [], None)).tokens[0]
    assert token.refresh_from_virtual == T0


def test_expiry_falls_back_to_the_configured_lifetime_and_then_to_unknown() -> None:
    journal = [entry(1, "POST", "/identity/connect/token", 10, 0, grant_type="password", issued_token_id="T")]
    with_settings = build_timeline(RunRecord("s", "c", journal, [], {"settings": {"access_token_lifetime": 600}}))
    assert with_settings.tokens[0].expires_virtual == T0 + timedelta(seconds=610)
    assert with_settings.tokens[0].expiry_source == "settings"
    unknown = build_timeline(RunRecord("s", "c", journal, [], None)).tokens[0]
    assert (unknown.expires_virtual, unknown.expiry_source, unknown.refresh_from_virtual) == (None, None, None)


def test_clock_events_become_jumps_with_their_reason_and_other_events_stay_control_marks(hand_run) -> None:
    timeline = build_timeline(hand_run)
    assert [(jump.kind, jump.seconds, jump.inferred) for jump in timeline.jumps] == [
        ("sleep", 400, False),
        ("skew", 120, False),
    ]
    sleep = timeline.jumps[0]
    assert (sleep.virtual_before, sleep.virtual_after) == (T0, T0 + timedelta(seconds=400))
    assert sleep.summary == "host sleeps 6 min 40 s: clocks +400 s"
    assert timeline.jumps[1].summary == "server clock skewed +120 s (client clock unchanged)"
    assert [(control.kind, control.seq) for control in timeline.controls] == [("fault", 2)]


def test_without_events_clock_jumps_are_inferred_from_the_journal() -> None:
    timeline = build_timeline(RunRecord("s", "c", hand_journal(), [], hand_result()))
    assert [(jump.seconds, jump.inferred, jump.kind) for jump in timeline.jumps] == [
        (400, True, "jump"),
        (120, True, "jump"),
    ]
    assert timeline.jumps[0].real == R0 + timedelta(seconds=0.03)


def test_an_expiry_inside_a_sleep_maps_to_the_real_instant_of_the_sleep(hand_run) -> None:
    timeline = build_timeline(hand_run)
    assert timeline.to_real(T0 + timedelta(seconds=330)) == R0 + timedelta(seconds=0.02)
    assert timeline.to_real(T0) == R0
    # Past the last known instant the clock is assumed to run at real speed.
    assert timeline.to_real(T0 + timedelta(seconds=530)) == R0 + timedelta(seconds=0.07 + 10)


def test_requests_carry_status_class_refresh_and_participant(hand_run) -> None:
    requests = build_timeline(hand_run).requests
    assert [request.status_class for request in requests] == ["2xx", "2xx", "4xx", "5xx", "2xx", "none"]
    assert [request.is_refresh for request in requests] == [False, False, False, True, True, False]
    assert [request.participant for request in requests] == ["Identity", "API", "API", "Identity", "Identity", "API"]
    assert requests[5].held
    assert requests[3].label == "POST /identity/connect/token refresh_token"


def test_the_result_fills_the_header_fields(hand_run) -> None:
    timeline = build_timeline(hand_run)
    assert (timeline.passed, timeline.state, timeline.exit_code) == (False, "logged_out", 1)
    assert timeline.expected == {"state": "unlocked", "requests": ["GET /api/sync 200"]}
    assert timeline.virtual_start == T0
    assert timeline.virtual_end == T0 + timedelta(seconds=520)


def test_a_journal_with_only_the_oldest_fields_still_builds() -> None:
    journal = [{"seq": 1, "method": "GET", "path": "/api/sync"}, {"method": "GET", "path": "/api/sync", "status": 401}]
    timeline = build_timeline(RunRecord("s", "c", journal, [], None))
    assert [request.seq for request in timeline.requests] == [1, 2]
    assert [request.status_class for request in timeline.requests] == ["none", "4xx"]
    assert (timeline.tokens, timeline.jumps, timeline.controls) == ((), (), ())
    assert (timeline.virtual_start, timeline.real_start, timeline.passed, timeline.state) == (None, None, None, None)
    assert timeline.to_real(T0) is None


def test_malformed_values_are_ignored_rather_than_fatal() -> None:
    journal = [entry(1, "GET", "/api/sync", 0, 0, status="teapot", arrived_virtual="yesterday", held=None)]
    result = {"settings": "none", "problems": "one", "passed": "yes", "exit_code": True}
    events = [{"kind": "clock", "virtual": 3, "seconds": "lots"}, {"kind": "revoke"}]
    timeline = build_timeline(RunRecord("s", "c", journal, events, result))
    assert timeline.requests[0].status is None
    assert timeline.requests[0].virtual is None
    assert (timeline.passed, timeline.problems, timeline.exit_code) == (None, (), None)
    assert [jump.seconds for jump in timeline.jumps] == [0.0]
    assert [control.kind for control in timeline.controls] == ["revoke"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2026-01-15T10:00:00.000Z", T0), ("2026-01-15T10:00:00", None), ("", None), (None, None), ("soon", None)],
)
def test_parse_time_accepts_only_aware_iso_times(text, expected) -> None:
    assert parse_time(text) == expected
