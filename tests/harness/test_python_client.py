"""The freezegun bridge: unmodified Python client code under the harness's sleeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness._control import Control
from harness._errors import ClientError
from harness._outcome import Verdict
from harness._runner import run_scenario
from harness._scenario import ClientState, Step, load_scenario
from harness.clients.python_client import PythonClientDriver
from tests.conftest import LiveServer
from tests.harness.example_client import ExampleVaultClient

FLAGSHIP = Path(__file__).parents[2] / "scenarios" / "sleep-before-send.yaml"


def _run(live_server: LiveServer, tmp_path: Path, *, bridge: bool) -> Verdict:
    driver = PythonClientDriver(ExampleVaultClient, live_server.ca_cert, name="example", bridge=bridge)
    with live_server.http() as http:
        return run_scenario(load_scenario(FLAGSHIP), driver, Control(http), tmp_path)


def test_the_example_client_recovers_from_the_flagship_sleep_through_the_bridge(
    live_server: LiveServer, tmp_path: Path
) -> None:
    verdict = _run(live_server, tmp_path, bridge=True)
    assert verdict.passed, verdict.problems
    assert [str(request) for request in verdict.outcome.requests] == [
        "GET /api/accounts/revision-date 401",
        "POST /identity/connect/token refresh_token 200",
        "GET /api/accounts/revision-date 200",
    ]


def test_without_the_bridge_the_client_misses_the_sleep_and_is_logged_out(
    live_server: LiveServer, tmp_path: Path
) -> None:
    # The server slept 400 s but the client's host clock did not move: it still sees a fresh token, resends it
    # unrefreshed, and gets a second 401. That is the false failure the bridge prevents (real-cli.md §10).
    verdict = _run(live_server, tmp_path, bridge=False)
    assert not verdict.passed
    assert verdict.outcome.state is ClientState.LOGGED_OUT
    assert [str(request) for request in verdict.outcome.requests] == [
        "GET /api/accounts/revision-date 401",
        "GET /api/accounts/revision-date 401",
    ]


@pytest.mark.parametrize("step", ["create_item", "delete_item"])
def test_unsupported_steps_are_refused_in_words(live_server: LiveServer, step: str) -> None:
    driver = PythonClientDriver(ExampleVaultClient, live_server.ca_cert)
    driver._client = object()  # type: ignore[assignment]
    with pytest.raises(ClientError, match="runs only `sync` and `status`"):
        driver.run(Step.model_validate({step: {}}), None)
