"""The pytest plugin's client fixtures: a reference client and a real bw CLI, each in the test's own world."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness import ClientDriver, ClientState, Step, play
from harness.clients.bw import BwClient
from harness.pytest_plugin import WorldFixture


def _requests(world: WorldFixture, since: int = 0) -> list[str]:
    return [
        f"{entry['method']} {entry['path']} {entry['grant_type'] or ''} {entry['status']}".replace("  ", " ")
        for entry in world.control.journal(since)
        if entry["path"] != "/api/config"
    ]


def test_a_reference_client_logs_in_to_the_tests_world_and_sleeps_through_a_request(
    sleepwalk_reference: Callable[[str], ClientDriver], sleepwalk_world: WorldFixture
) -> None:
    client = sleepwalk_reference("fixed")
    assert client.state() is ClientState.UNLOCKED
    assert "POST /identity/connect/token password 200" in _requests(sleepwalk_world)
    sleepwalk_world.control.change_settings({"access_token_lifetime": 330})
    play([Step.model_validate({"sync": {"force": True}})], client, sleepwalk_world.control)
    mark = sleepwalk_world.control.last_seq()
    step = Step.model_validate(
        {"sync": {}, "sleep_at": {"request": "GET /api/accounts/revision-date", "duration": "400s"}}
    )
    play([step], client, sleepwalk_world.control)
    assert _requests(sleepwalk_world, mark) == [
        "GET /api/accounts/revision-date 401",
        "POST /identity/connect/token refresh_token 200",
        "GET /api/accounts/revision-date 200",
    ]
    assert client.state() is ClientState.UNLOCKED


@pytest.mark.realcli
def test_a_bw_cli_of_a_given_version_is_pointed_at_the_tests_world(
    sleepwalk_bw: Callable[[str], BwClient], sleepwalk_world: WorldFixture
) -> None:
    client = sleepwalk_bw("2026.1.0")
    account = sleepwalk_world.info.account
    session = client.run("login", account["email"], account["password"], "--raw").check().stdout.strip()
    assert session
    status = client.run("status", env={"BW_SESSION": session}).check().stdout
    assert '"status":"unlocked"' in status
    assert sleepwalk_world.info.base_url in status
    assert "POST /identity/connect/token password 200" in _requests(sleepwalk_world)
