"""Every scenario with the real CLI on each pinned version it declares a profile for (issue: real-CLI scenarios),
and conformance: the reference client must see the same server-side request sequence and end in the same state
as the real CLI of its profile."""

from __future__ import annotations

import pytest

from harness._outcome import Verdict, relevant
from harness._profiles import Profile, cli_profile
from harness._session import Session
from tests.scenarios.conftest import SCENARIOS, real_cli_pairs

PAIRS = real_cli_pairs()
# The first test waits for the session fixture that runs every scenario on both CLIs (a few minutes), which
# pytest-timeout counts against that test.
pytestmark = [pytest.mark.realcli, pytest.mark.timeout(1800)]


@pytest.mark.parametrize(("scenario_id", "version"), PAIRS, ids=[f"{s}-bw@{v}" for s, v in PAIRS])
def test_real_cli_meets_the_expectation(
    real_cli_verdicts: dict[tuple[str, str], Verdict], scenario_id: str, version: str
) -> None:
    verdict = real_cli_verdicts[(scenario_id, version)]
    assert verdict.passed, "\n".join(verdict.problems)


def _sequence(verdict: Verdict, profile: Profile) -> list[str]:
    expectation = SCENARIOS[verdict.outcome.scenario_id].expect[profile]
    return [str(request) for request in relevant(expectation, verdict.outcome.requests)]


@pytest.mark.parametrize(("scenario_id", "version"), PAIRS, ids=[f"{s}-bw@{v}" for s, v in PAIRS])
def test_reference_client_agrees_with_the_real_cli(
    real_cli_verdicts: dict[tuple[str, str], Verdict], reference_session: Session, scenario_id: str, version: str
) -> None:
    profile = cli_profile(version)
    real = real_cli_verdicts[(scenario_id, version)]
    reference = reference_session.run_one(SCENARIOS[scenario_id], f"reference:{profile.value}")
    assert real.outcome.error is None, real.outcome.error
    assert (_sequence(reference, profile), reference.outcome.state) == (_sequence(real, profile), real.outcome.state), (
        f"reference:{profile.value} and bw@{version} differ on {scenario_id}"
    )
