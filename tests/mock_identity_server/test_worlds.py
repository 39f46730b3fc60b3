"""Worlds: isolated clocks, settings, accounts and journals under /w/<id>, reset, and the journal stream."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import START, LiveWorld
from tests.mock_identity_server.helpers import (
    account,
    add_fault,
    advance,
    bearer,
    claims,
    control,
    journal,
    login,
    refresh,
)

BAD_SIGNATURE = 'Bearer error="invalid_token", error_description="The signature is invalid"'


def _create(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post("/_control/worlds", json=body)
    assert response.status_code == 201, response.text
    world: dict[str, Any] = response.json()
    return world


def test_create_world_with_preset_settings_and_start(client: TestClient) -> None:
    world = _create(
        client, id="a", preset="official", settings={"leeway": 0}, start="2027-06-01T08:00:00Z", seed_account=True
    )
    assert world["id"] == "a"
    assert world["base_url"] == "https://testserver/w/a"
    clock = dict(world["clock"])
    assert clock.pop("ahead") > 0  # a frozen clock in 2027 is ahead of the host
    assert clock == {"now": "2027-06-01T08:00:00.000Z", "epoch": 1811836800.0, "running": False}
    assert world["settings"]["access_token_lifetime"] == 3600
    assert world["settings"]["leeway"] == 0
    assert world["account"]["email"] == "qa@example.com"
    assert control(client, "GET", "/clock", "/w/a")["now"] == "2027-06-01T08:00:00.000Z"
    assert control(client, "GET", "/settings", "/w/a")["access_token_lifetime"] == 3600
    assert control(client, "GET", "/settings")["access_token_lifetime"] == 10
    assert {item["id"] for item in control(client, "GET", "/worlds")} == {"default", "a"}


def test_world_without_id_gets_a_random_one_and_the_default_clock(client: TestClient) -> None:
    advance(client, 30)
    world = _create(client)
    assert len(world["id"]) == 8
    assert world["clock"]["now"] == "2026-01-15T10:00:30.000Z"


def test_world_without_seed_account_has_no_account(client: TestClient) -> None:
    world = _create(client, id="empty", seed_account=False)
    assert world["account"] is None
    assert control(client, "GET", "/accounts", "/w/empty") == []


def test_requests_under_a_world_use_its_clock_and_accounts(client: TestClient) -> None:
    _create(client, id="a", start="2027-06-01T08:00:00Z")
    body = login(client, prefix="/w/a")
    jwt = claims(body["access_token"])
    assert jwt["iat"] == 1811836800
    assert jwt["sub"] == account(client, "/w/a")["id"]
    assert jwt["sub"] != account(client)["id"]
    assert jwt["iss"] == "https://testserver"
    assert client.get("/w/a/api/sync", headers=bearer(body["access_token"])).status_code == 200
    config = client.get("/w/a/api/config").json()
    assert config["environment"]["api"] == "https://testserver/w/a/api"
    assert [entry["path"] for entry in journal(client, "/w/a")] == [
        "/identity/connect/token",
        "/api/sync",
        "/api/config",
    ]
    assert journal(client) == []


def test_a_token_from_one_world_has_a_bad_signature_in_another(client: TestClient) -> None:
    _create(client, id="a")
    _create(client, id="b")
    token = login(client, prefix="/w/a")["access_token"]
    for prefix in ("/w/b", ""):
        response = client.get(f"{prefix}/api/sync", headers=bearer(token))
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == BAD_SIGNATURE
    assert journal(client, "/w/b")[-1]["token_verdict"] == "bad-signature"


def test_a_refresh_token_from_one_world_is_unknown_in_another(client: TestClient) -> None:
    _create(client, id="a")
    handle = login(client, prefix="/w/a")["refresh_token"]
    response = refresh(client, handle)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant"}


def test_advancing_one_world_leaves_the_default_world_alone(client: TestClient) -> None:
    _create(client, id="a")
    token = login(client)["access_token"]
    advance(client, 3600, "/w/a")
    assert control(client, "GET", "/clock", "/w/a")["now"] == "2026-01-15T11:00:00.000Z"
    assert control(client, "GET", "/clock")["now"] == "2026-01-15T10:00:00.000Z"
    assert client.get("/api/sync", headers=bearer(token)).status_code == 200


def test_faults_belong_to_their_world(client: TestClient) -> None:
    _create(client, id="a")
    add_fault(client, {"match": {"path": "/api/alive"}, "action": {"kind": "status", "status": 500}}, "/w/a")
    assert client.get("/api/alive").status_code == 200
    assert client.get("/w/a/api/alive").status_code == 500


@pytest.mark.parametrize("path", ["/w/nope/api/sync", "/w/nope/_control/clock", "/w/nope", "/w//api/sync"])
def test_unknown_world_is_404_json(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "POST /_control/worlds" in response.json()["error"]


def test_duplicate_world_id_is_409(client: TestClient) -> None:
    _create(client, id="a")
    response = client.post("/_control/worlds", json={"id": "a"})
    assert response.status_code == 409
    assert "exists already" in response.json()["error"]
    assert client.post("/_control/worlds", json={"id": "default"}).status_code == 409


@pytest.mark.parametrize(
    "world_id",
    ["has space", "slash/inside", "x" * 65, "ünï", "exists!", "dot.dot"],
)
def test_bad_world_id_is_400(client: TestClient, world_id: str) -> None:
    response = client.post("/_control/worlds", json={"id": world_id})
    assert response.status_code == 400
    assert "1 to 64 letters, digits" in response.json()["error"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"preset": "bitwarden"}, "official, strict, vaultwarden"),
        ({"settings": {"leeway": -1}}, "leeway"),
        ({"start": "2026-01-15T10:00:00"}, "naive"),
    ],
)
def test_bad_world_settings_are_400(client: TestClient, body: dict[str, Any], fragment: str) -> None:
    response = client.post("/_control/worlds", json=body)
    assert response.status_code == 400
    assert fragment in response.json()["error"]


def test_deleting_worlds(client: TestClient) -> None:
    _create(client, id="a")
    assert control(client, "DELETE", "/worlds/a") == {"deleted": "a"}
    assert client.get("/w/a/api/alive").status_code == 404
    assert [item["id"] for item in control(client, "GET", "/worlds")] == ["default"]


@pytest.mark.parametrize(("world_id", "status"), [("default", 400), ("nope", 404), ("not-the-default", 404)])
def test_deleting_the_default_or_an_unknown_world_is_refused(client: TestClient, world_id: str, status: int) -> None:
    response = client.delete(f"/_control/worlds/{world_id}")
    assert response.status_code == status
    assert response.json()["error"]


def test_reset_restores_settings_clock_and_empties_the_world(client: TestClient) -> None:
    _create(client, id="a", preset="vaultwarden", start="2027-06-01T08:00:00Z")
    prefix = "/w/a"
    before = account(client, prefix)
    body = login(client, prefix=prefix)
    token = body["access_token"]
    client.post(f"{prefix}/api/ciphers", json={"type": 2, "name": "2.a|b|c"}, headers=bearer(token))
    control(client, "PATCH", "/settings", prefix, json={"leeway": 0, "access_token_lifetime": 5})
    control(client, "POST", "/clock/run", prefix)
    advance(client, 86_400, prefix)
    add_fault(client, {"match": {"path": "/api/alive"}, "action": {"kind": "status", "status": 500}}, prefix)

    world = control(client, "POST", "/reset", prefix)

    clock = dict(world["clock"])
    assert clock.pop("ahead") > 0  # a frozen clock in 2027 is ahead of the host
    assert clock == {"now": "2027-06-01T08:00:00.000Z", "epoch": 1811836800.0, "running": False}
    assert world["settings"]["access_token_lifetime"] == 7200
    assert world["settings"]["leeway"] == 30
    assert control(client, "GET", "/faults", prefix) == []
    assert journal(client, prefix) == []
    after = account(client, prefix)
    assert after["id"] == before["id"]
    assert after["email"] == before["email"]
    assert refresh(client, body["refresh_token"], prefix).status_code == 400
    fresh = login(client, prefix=prefix)["access_token"]
    sync = client.get(f"{prefix}/api/sync", headers=bearer(fresh)).json()
    assert sync["ciphers"] == []
    assert client.get(f"{prefix}/api/alive").status_code == 200


def test_reset_of_the_default_world(client: TestClient) -> None:
    before = control(client, "GET", "/accounts")[0]
    advance(client, 100)
    control(client, "PATCH", "/settings", json={"leeway": 5})
    world = control(client, "POST", "/reset")
    # What `sleepwalk serve` printed stays true: same account id, password and API key.
    assert (world["account"]["id"], world["account"]["api_key"]) == (before["id"], before["api_key"])
    assert world["id"] == "default"
    assert world["base_url"] == "https://testserver"
    assert world["clock"]["now"] == "2026-01-15T10:00:00.000Z"
    assert world["settings"]["leeway"] == 0


def test_reset_of_a_running_world_keeps_it_on_real_time(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    import mock_identity_server.world as world_module

    host = [datetime(2026, 3, 1, 9, 0, tzinfo=UTC)]
    monkeypatch.setattr(world_module, "host_now", lambda: host[0])
    _create(client, id="r", start="2026-03-01T09:00:00Z", running=True)
    prefix = "/w/r"
    advance(client, 600, prefix)
    host[0] += timedelta(hours=1)  # the server has been up an hour when QA resets it
    world = control(client, "POST", "/reset", prefix)
    now = datetime.fromisoformat(world["clock"]["now"].replace("Z", "+00:00"))
    assert timedelta(0) <= now - host[0] < timedelta(seconds=30)
    assert world["clock"]["running"] is True


def test_journal_entries_carry_real_and_virtual_times_and_verdicts(client: TestClient) -> None:
    body = login(client)
    advance(client, 11)
    client.get("/api/sync", params={"excludeDomains": "true"}, headers=bearer(body["access_token"]))
    fault = add_fault(client, {"match": {"path": "/api/alive"}, "action": {"kind": "status", "status": 503}})
    client.get("/api/alive")

    token_entry, sync_entry, fault_entry = journal(client)
    expected_keys = {
        "seq",
        "method",
        "path",
        "query",
        "arrived_real",
        "arrived_virtual",
        "answered_real",
        "answered_virtual",
        "grant_type",
        "status",
        "token_id",
        "token_verdict",
        "user_id",
        "issued_token_id",
        "issued_token_expires_virtual",
        "fault_id",
        "fault_action",
        "held",
        "note",
    }
    assert set(token_entry) == expected_keys
    assert (token_entry["method"], token_entry["path"], token_entry["grant_type"]) == (
        "POST",
        "/identity/connect/token",
        "password",
    )
    assert token_entry["status"] == 200
    assert token_entry["arrived_virtual"] == token_entry["answered_virtual"] == "2026-01-15T10:00:00.000Z"
    assert token_entry["arrived_real"].endswith("Z")
    assert token_entry["answered_real"] >= token_entry["arrived_real"]
    assert token_entry["fault_id"] is None
    assert token_entry["issued_token_id"] == claims(body["access_token"])["jti"]
    assert token_entry["issued_token_expires_virtual"] == "2026-01-15T10:00:10.000Z"

    assert (sync_entry["method"], sync_entry["path"], sync_entry["query"]) == (
        "GET",
        "/api/sync",
        "excludeDomains=true",
    )
    assert sync_entry["grant_type"] is None
    assert sync_entry["token_id"] == claims(body["access_token"])["jti"]
    assert sync_entry["token_verdict"] == "expired"
    assert sync_entry["status"] == 401
    assert sync_entry["arrived_virtual"] == "2026-01-15T10:00:11.000Z"
    assert sync_entry["held"] is False

    assert fault_entry["fault_id"] == fault["id"]
    assert fault_entry["status"] == 503
    assert [entry["seq"] for entry in (token_entry, sync_entry, fault_entry)] == [1, 2, 3]
    assert [entry["path"] for entry in control(client, "GET", "/journal", params={"since": 2})] == ["/api/alive"]


def test_control_requests_are_not_journaled(client: TestClient) -> None:
    control(client, "GET", "/clock")
    control(client, "GET", "/faults")
    assert journal(client) == []


def test_journal_stream_yields_ndjson_lines(live_world: LiveWorld) -> None:
    with (
        live_world.server.http(live_world.base_url) as stream_client,
        stream_client.stream("GET", "/_control/journal/stream") as stream,
    ):
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("application/x-ndjson")
        with live_world.server.http(live_world.base_url) as http:
            assert http.get("/api/alive").status_code == 200
        line = next(stream.iter_lines())
    entry = json.loads(line)
    assert (entry["method"], entry["path"], entry["status"]) == ("GET", "/api/alive", 200)
    assert entry["answered_virtual"] is not None


def test_journal_stream_replays_the_backlog_first(live_world: LiveWorld) -> None:
    with live_world.server.http(live_world.base_url) as http:
        http.get("/api/alive")
        http.get("/api/now")
    with (
        live_world.server.http(live_world.base_url) as stream_client,
        stream_client.stream("GET", "/_control/journal/stream", params={"since": 1}) as stream,
    ):
        line = next(stream.iter_lines())
    assert json.loads(line)["path"] == "/api/now"


def test_start_instant_is_the_fixture_clock(client: TestClient) -> None:
    assert control(client, "GET", "/clock")["epoch"] == START.timestamp()


def test_tokens_issued_before_a_reset_are_rejected_after_it(client: TestClient) -> None:
    body = login(client)
    assert client.get("/api/accounts/revision-date", headers=bearer(body["access_token"])).status_code == 200
    control(client, "POST", "/reset")
    response = client.get("/api/accounts/revision-date", headers=bearer(body["access_token"]))
    assert response.status_code == 401
    assert "The signature is invalid" in response.headers["www-authenticate"]
    assert refresh(client, body["refresh_token"]).json() == {"error": "invalid_grant"}
