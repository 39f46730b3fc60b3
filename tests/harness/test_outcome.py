"""Verdicts: request-sequence matching with '...', and failure text that shows both sequences side by side."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness._outcome import CommandResult, ObservedRequest, Outcome, judge, matches_sequence
from harness._profiles import Profile
from harness._scenario import ClientState, RequestPattern, load_scenario

FLAGSHIP = load_scenario(Path(__file__).parents[2] / "scenarios" / "sleep-before-send.yaml")


def _seen(*texts: str) -> list[ObservedRequest]:
    requests = []
    for seq, text in enumerate(texts, 1):
        pattern = RequestPattern.parse(text)
        requests.append(ObservedRequest(seq, pattern.method, pattern.path, pattern.grant_type, pattern.status))
    return requests


@pytest.mark.parametrize(
    ("expected", "seen", "fits"),
    [
        (["GET /api/sync 200"], ["GET /api/sync 200"], True),
        (["GET /api/sync 200"], ["GET /api/sync 401"], False),
        (["GET /api/sync"], ["GET /api/sync 401"], True),
        (["...", "GET /api/sync 200"], ["POST /identity/connect/token refresh_token 200", "GET /api/sync 200"], True),
        (["GET /api/ciphers/*/delete"], ["GET /api/ciphers/abc/delete 200"], True),
        (["POST /identity/connect/token refresh_token"], ["POST /identity/connect/token password 200"], False),
        (["GET /api/sync -"], ["GET /api/sync -"], True),
        ([], [], True),
        (["..."], [], True),
        (["GET /api/sync 200"], [], False),
    ],
)
def test_matches_sequence(expected: list[str], seen: list[str], fits: bool) -> None:
    patterns = [item if item == "..." else RequestPattern.parse(item) for item in expected]
    assert matches_sequence(patterns, _seen(*seen)) is fits


def _outcome(state: ClientState, exit_code: int, *requests: str) -> Outcome:
    return Outcome(
        "sleep-before-send",
        "bw@2025.12.1",
        Profile.LEGACY,
        tuple(_seen(*requests)),
        state,
        (CommandResult("bw sync", exit_code, "", "Syncing failed"),),
    )


def test_a_matching_outcome_passes() -> None:
    verdict = judge(
        FLAGSHIP, _outcome(ClientState.LOGGED_OUT, 1, "GET /api/config 200", "GET /api/accounts/revision-date 401")
    )
    assert verdict.passed, verdict.problems


def test_a_failure_shows_both_sequences_and_every_mismatch() -> None:
    outcome = _outcome(ClientState.LOGGED_OUT, 1, "GET /api/accounts/revision-date 401")
    verdict = judge(FLAGSHIP, outcome, Profile.FIXED)
    assert not verdict.passed
    sequence, state, exit_code = verdict.problems
    assert "expected" in sequence
    assert "observed" in sequence
    assert "POST /identity/connect/token refresh_token 200" in sequence
    assert state == "Expected the client to end unlocked, it ended logged_out."
    assert exit_code == "Expected the last command to exit 0, it exited 1."


def test_a_profile_without_expectation_is_a_problem_not_a_pass() -> None:
    verdict = judge(FLAGSHIP, _outcome(ClientState.UNLOCKED, 0), Profile.MOBILE)
    assert verdict.problems == (
        "Scenario 'sleep-before-send' declares no expectation for mobile; it has legacy, fixed.",
    )


def test_check_raises_an_assertion_with_every_problem() -> None:
    from harness._errors import ScenarioFailed

    verdict = judge(FLAGSHIP, _outcome(ClientState.LOGGED_OUT, 1, "GET /api/accounts/revision-date 401"), Profile.FIXED)
    with pytest.raises(ScenarioFailed, match="did not meet the fixed expectation") as caught:
        verdict.check()
    assert isinstance(caught.value, AssertionError)
    assert "it ended logged_out" in str(caught.value)


@pytest.mark.parametrize(
    ("printed", "passes"),
    [
        ('Syncing failed: {"response":{"error":"invalid_grant"}}', True),
        ("Error [ERR_UNHANDLED_REJECTION]: This error originated either by throwing ...", True),
        ("Syncing complete.", False),
    ],
)
def test_an_output_alternative_accepts_any_one_of_its_texts(printed: str, passes: bool) -> None:
    scenario = load_scenario(Path(__file__).parents[2] / "scenarios" / "s07-proactive-refresh-invalid-grant.yaml")
    outcome = Outcome(
        scenario.id,
        "bw@2026.1.0",
        Profile.FIXED,
        tuple(_seen("POST /identity/connect/token refresh_token 400")),
        ClientState.LOGGED_OUT,
        (CommandResult("bw sync", 1, "", printed),),
    )
    verdict = judge(scenario, outcome)
    assert verdict.passed is passes, verdict.problems
    if not passes:
        assert "or 'ERR_UNHANDLED_REJECTION'" in verdict.problems[0]
