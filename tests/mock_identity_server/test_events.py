"""The event log and the controls QA drives by hand: clock jumps with reasons, `expire`, authenticated holds."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.mock_identity_server.helpers import add_fault, bearer, claims, control, journal, login


def _events(client: TestClient) -> list[dict[str, object]]:
    events: list[dict[str, object]] = control(client, "GET", "/events")
    return events


def test_clock_jumps_are_logged_with_both_instants_and_the_reason(client: TestClient) -> None:
    control(client, "POST", "/clock/advance", json={"seconds": 600, "reason": "sleep"})
    control(client, "POST", "/clock/advance", json={"seconds": 30})
    sleep, plain = _events(client)
    assert (sleep["kind"], sleep["reason"], sleep["seconds"]) == ("clock", "sleep", 600)
    assert (sleep["virtual"], sleep["virtual_after"]) == ("2026-01-15T10:00:00.000Z", "2026-01-15T10:10:00.000Z")
    assert sleep["text"] == "host slept: +600 s"
    assert (plain["reason"], plain["virtual"]) == (None, "2026-01-15T10:10:00.000Z")
    assert [event["seq"] for event in control(client, "GET", "/events?since=1")] == [2]


def test_an_unknown_clock_reason_is_a_validation_error(client: TestClient) -> None:
    response = client.post("/_control/clock/advance", json={"seconds": 1, "reason": "nap"})
    assert response.status_code == 400
    assert "reason" in response.text
    assert _events(client) == []


def test_faults_revocations_settings_and_reset_are_logged(client: TestClient) -> None:
    add_fault(client, {"match": {"path": "/api/*", "authenticated": True}, "action": {"kind": "hold"}})
    control(client, "POST", "/revoke")
    control(client, "PATCH", "/settings", json={"leeway": 5})
    kinds = [(event["kind"], event["text"]) for event in _events(client)]
    assert kinds == [
        ("fault", "fault f1 added: hold on any method /api/* with a bearer token, 1 time(s)"),
        ("revoke", "0 refresh token(s) revoked"),
        ("settings", "settings changed: leeway=5"),
    ]
    control(client, "POST", "/reset")
    assert [event["kind"] for event in _events(client)] == ["reset"]


def test_expire_ends_every_token_issued_so_far_but_not_later_ones(client: TestClient) -> None:
    first = login(client)["access_token"]
    assert client.get("/api/sync", headers=bearer(first)).status_code == 200
    answer = control(client, "POST", "/expire")
    assert answer == {"expired": 1, "at": "2026-01-15T10:00:00.000Z"}

    rejected = client.get("/api/sync", headers=bearer(first))
    assert rejected.status_code == 401
    assert rejected.headers["www-authenticate"] == (
        'Bearer error="invalid_token", error_description="The token expired at \'01/15/2026 10:00:00\'"'
    )
    assert journal(client)[-1]["token_verdict"] == "expired"
    second = login(client)["access_token"]
    assert client.get("/api/sync", headers=bearer(second)).status_code == 200
    assert [event["kind"] for event in _events(client)] == ["expire"]


def test_token_ids_number_the_tokens_and_look_like_identityservers(client: TestClient) -> None:
    ids = [claims(login(client)["access_token"])["jti"] for _ in range(3)]
    assert [int(jti[:8], 16) for jti in ids] == [1, 2, 3]
    assert all(len(jti) == 32 and jti == jti.upper() for jti in ids)


def test_an_authenticated_only_hold_lets_the_token_request_through(client: TestClient) -> None:
    add_fault(
        client,
        {"match": {"authenticated": True}, "action": {"kind": "status", "status": 503}, "times": None},
    )
    token = login(client)["access_token"]
    assert client.get("/api/sync", headers=bearer(token)).status_code == 503
    assert client.get("/api/config").status_code == 200


def test_excluded_paths_are_left_alone(client: TestClient) -> None:
    add_fault(
        client,
        {"match": {"path": "/api/*", "exclude": ["/api/config"]}, "action": {"kind": "status", "status": 503}},
    )
    assert client.get("/api/config").status_code == 200
    assert client.get("/api/alive").status_code == 503
