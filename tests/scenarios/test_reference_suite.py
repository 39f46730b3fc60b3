"""Every scenario × every profile it declares, with the reference client, in-process and in virtual time."""

from __future__ import annotations

import pytest

from harness._session import Session
from tests.scenarios.conftest import SCENARIOS

CASES = [(scenario.id, profile.value) for scenario in SCENARIOS.values() for profile in scenario.expect]


@pytest.mark.parametrize(("scenario_id", "profile"), CASES, ids=[f"{s}-{p}" for s, p in CASES])
def test_reference_client_meets_the_expectation(reference_session: Session, scenario_id: str, profile: str) -> None:
    reference_session.run_one(SCENARIOS[scenario_id], f"reference:{profile}").check()
