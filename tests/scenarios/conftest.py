"""Fixtures for scenario suites: an in-process session for the reference client, and, once per test session, the
real-CLI runs of every scenario (in parallel, two at a time) that the real-CLI and conformance tests share."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from harness._outcome import Verdict
from harness._profiles import Profile, cli_profile
from harness._scenario import Scenario, load_scenarios
from harness._session import Session
from tests.conftest import LiveServer

SCENARIO_DIR = Path(__file__).parents[2] / "scenarios"
SCENARIOS: dict[str, Scenario] = load_scenarios(SCENARIO_DIR)
#: The real-CLI versions each scenario runs on in CI: the last before the fix and the first with it.
REAL_CLIS = ("2025.12.1", "2026.1.0")
REFERENCE_FOR = {Profile.LEGACY: "2025.12.1", Profile.FIXED: "2026.1.0"}


def real_cli_pairs() -> list[tuple[str, str]]:
    return [
        (scenario.id, version)
        for scenario in SCENARIOS.values()
        for version in REAL_CLIS
        if cli_profile(version) in scenario.expect and not scenario.reference_only
    ]


def require_node() -> None:
    if shutil.which("node") is None:
        message = "node is not installed: the real @bitwarden/cli needs Node.js (apt-get install nodejs npm)"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI must install it (.ci/run)")
        pytest.skip(message)


@pytest.fixture(scope="session")
def real_cli_verdicts(
    live_server: LiveServer, tmp_path_factory: pytest.TempPathFactory
) -> dict[tuple[str, str], Verdict]:
    """Every scenario on every real CLI version it declares a profile for, two runs at a time."""
    require_node()
    workdir = tmp_path_factory.mktemp("real-cli")
    with live_server.http() as http:
        session = Session(http, workdir, ca_cert=live_server.ca_cert)
        verdicts: dict[tuple[str, str], Verdict] = {}
        for version in REAL_CLIS:
            chosen = [
                scenario
                for scenario in SCENARIOS.values()
                if cli_profile(version) in scenario.expect and not scenario.reference_only
            ]
            for verdict in session.run_all(chosen, [f"bw@{version}"], jobs=2, report_dir=workdir / "reports"):
                verdicts[(verdict.outcome.scenario_id, version)] = verdict
    return verdicts
