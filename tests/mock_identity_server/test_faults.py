"""Faults: status answers in the real services' shapes, counts, matching, delays and dropped connections."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from mock_identity_server.app import ConnectionDropped
from mock_identity_server.faults import FaultAction, FaultMatch
from tests.conftest import LiveWorld
from tests.mock_identity_server.helpers import (
    add_fault,
    bearer,
    control,
    journal,
    login,
    password_form,
    refresh,
    token_request,
)


def _status_fault(status: int, **action: Any) -> dict[str, Any]:
    return {"match": {"path": "/api/alive"}, "action": {"kind": "status", "status": status, **action}}


def _parse(instant: str) -> datetime:
    return datetime.fromisoformat(instant.replace("Z", "+00:00"))


def test_status_fault_with_an_oauth_body(client: TestClient) -> None:
    add_fault(
        client,
        {
            "match": {"path": "/identity/connect/token"},
            "action": {"kind": "status", "status": 400, "body": "oauth", "error": "invalid_grant", "message": "no"},
        },
    )
    response = token_request(client, password_form())
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json() == {"error": "invalid_grant", "error_description": "no"}


def test_status_fault_with_a_bitwarden_body(client: TestClient) -> None:
    add_fault(client, _status_fault(500, body="bitwarden", message="Boom."))
    response = client.get("/api/alive")
    assert response.status_code == 500
    body = response.json()
    assert body["message"] == "Boom."
    assert body["object"] == "error"
    assert body["validationErrors"] is None


@pytest.mark.parametrize(("status", "header"), [(401, 'Bearer error="invalid_token"'), (503, None)])
def test_status_fault_with_an_empty_body(client: TestClient, status: int, header: str | None) -> None:
    add_fault(client, _status_fault(status))
    response = client.get("/api/alive")
    assert response.status_code == status
    assert response.content == b""
    assert response.headers.get("www-authenticate") == header


def test_fault_fires_once_by_default_then_falls_back_to_normal(client: TestClient) -> None:
    fault = add_fault(client, _status_fault(500))
    assert fault["times"] == 1
    assert fault["remaining"] == 1
    assert client.get("/api/alive").status_code == 500
    assert client.get("/api/alive").status_code == 200
    assert client.get("/api/alive").status_code == 200
    entries = journal(client)
    assert [entry["fault_id"] for entry in entries] == [fault["id"], None, None]
    assert entries[0]["fault_action"] == "status"
    assert [entry["status"] for entry in entries] == [500, 200, 200]


def test_fault_fires_n_times(client: TestClient) -> None:
    add_fault(client, {**_status_fault(502), "times": 3})
    statuses = [client.get("/api/alive").status_code for _ in range(5)]
    assert statuses == [502, 502, 502, 200, 200]


def test_permanent_fault_keeps_firing(client: TestClient) -> None:
    fault = add_fault(client, {**_status_fault(503), "times": None})
    assert all(client.get("/api/alive").status_code == 503 for _ in range(10))
    (listed,) = control(client, "GET", "/faults")
    assert listed["fired"] == 10
    assert listed["remaining"] is None
    assert listed["id"] == fault["id"]


def test_fault_list_shows_fired_and_remaining(client: TestClient) -> None:
    first = add_fault(client, {**_status_fault(500), "times": 2})
    second = add_fault(client, {**_status_fault(500), "match": {"path": "/api/now"}})
    client.get("/api/alive")
    listed = {fault["id"]: fault for fault in control(client, "GET", "/faults")}
    assert (listed[first["id"]]["fired"], listed[first["id"]]["remaining"]) == (1, 1)
    assert (listed[second["id"]]["fired"], listed[second["id"]]["remaining"]) == (0, 1)
    assert listed[first["id"]]["match"] == {
        "method": None,
        "path": "/api/alive",
        "grant_type": None,
        "authenticated": None,
        "exclude": [],
        "skip": 0,
    }
    assert listed[first["id"]]["action"]["kind"] == "status"
    client.get("/api/alive")
    used_up = {fault["id"]: fault for fault in control(client, "GET", "/faults")}[first["id"]]
    assert (used_up["fired"], used_up["remaining"]) == (2, 0)


def test_faults_fire_in_the_order_they_were_added(client: TestClient) -> None:
    add_fault(client, _status_fault(500))
    add_fault(client, _status_fault(502))
    assert [client.get("/api/alive").status_code for _ in range(3)] == [500, 502, 200]


def test_remove_one_fault_and_all(client: TestClient) -> None:
    fault = add_fault(client, {**_status_fault(500), "times": None})
    assert control(client, "DELETE", f"/faults/{fault['id']}") == {"removed": fault["id"]}
    assert client.get("/api/alive").status_code == 200
    missing = client.delete(f"/_control/faults/{fault['id']}")
    assert missing.status_code == 404
    assert fault["id"] in missing.json()["error"]
    add_fault(client, {**_status_fault(500), "times": None})
    assert control(client, "DELETE", "/faults") == {"removed": "all"}
    assert control(client, "GET", "/faults") == []
    assert client.get("/api/alive").status_code == 200


@pytest.mark.parametrize(
    ("match", "method", "path", "fires"),
    [
        ({"method": "POST"}, "GET", "/api/alive", False),
        ({"method": "get"}, "GET", "/api/alive", True),
        ({"path": "/api/*"}, "GET", "/api/alive", True),
        ({"path": "/api/*"}, "GET", "/api/ciphers/abc", True),
        ({"path": "/api/ciphers/*"}, "GET", "/api/ciphers", False),
        ({"path": "/identity/*"}, "GET", "/api/alive", False),
        ({"path": "/api/sync"}, "GET", "/api/sync", True),
        ({"grant_type": "password"}, "GET", "/api/alive", False),
    ],
)
def test_match_by_method_and_glob_path(match: dict[str, Any], method: str, path: str, fires: bool) -> None:
    assert FaultMatch(**match).matches(method, path, None) is fires


def test_match_by_path_over_http(client: TestClient) -> None:
    add_fault(client, {"match": {"method": "GET", "path": "/api/n*"}, "action": {"kind": "status", "status": 500}})
    assert client.get("/api/alive").status_code == 200
    assert client.post("/api/now").status_code == 405
    assert client.get("/api/now").status_code == 500


def test_path_matches_ignore_the_query(client: TestClient) -> None:
    token = login(client)["access_token"]
    add_fault(client, {"match": {"path": "/api/sync"}, "action": {"kind": "status", "status": 500}})
    assert client.get("/api/sync?excludeDomains=true", headers=bearer(token)).status_code == 500


def test_match_by_grant_type(client: TestClient) -> None:
    handle = login(client)["refresh_token"]
    add_fault(
        client,
        {
            "match": {"path": "/identity/connect/token", "grant_type": "refresh_token"},
            "action": {"kind": "status", "status": 400, "body": "oauth"},
        },
    )
    assert token_request(client, password_form()).status_code == 200
    failed = refresh(client, handle)
    assert failed.status_code == 400
    assert failed.json()["error"] == "invalid_grant"
    assert refresh(client, handle).status_code == 200
    grant_types = [entry["grant_type"] for entry in journal(client)]
    assert grant_types == ["password", "password", "refresh_token", "refresh_token"]


def test_delay_fault_answers_after_the_delay(client: TestClient) -> None:
    fault = add_fault(client, {"match": {"path": "/api/alive"}, "action": {"kind": "delay", "seconds": 0.05}})
    response = client.get("/api/alive")
    assert response.status_code == 200
    (entry,) = journal(client)
    assert entry["fault_id"] == fault["id"]
    assert entry["fault_action"] == "delay"
    assert (_parse(entry["answered_real"]) - _parse(entry["arrived_real"])).total_seconds() >= 0.05
    assert entry["arrived_virtual"] == entry["answered_virtual"]


def test_close_fault_in_process_raises_connection_dropped(client: TestClient) -> None:
    add_fault(client, {"match": {"path": "/api/alive"}, "action": {"kind": "close"}})
    with pytest.raises(ConnectionDropped, match="close fault"):
        client.get("/api/alive")
    (entry,) = journal(client)
    assert entry["note"] == "connection dropped by fault"
    assert entry["fault_action"] == "close"
    assert client.get("/api/alive").status_code == 200


def test_close_fault_on_the_live_server_drops_the_connection(live_world: LiveWorld) -> None:
    fault = add_fault(live_world.control, {"match": {"path": "/api/alive"}, "action": {"kind": "close"}})
    with (
        live_world.server.http(live_world.base_url) as http,
        pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)),
    ):
        http.get("/api/alive")
    with live_world.server.http(live_world.base_url) as http:
        assert http.get("/api/alive").status_code == 200
    first, second = live_world.journal()
    assert first["note"] == "connection dropped by fault"
    assert first["status"] is None
    assert first["fault_id"] == fault["id"]
    assert second["status"] == 200


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param({"match": {}, "action": {"kind": "status"}}, id="status-without-status"),
        pytest.param({"match": {}, "action": {"kind": "explode"}}, id="unknown-kind"),
        pytest.param({"match": {}, "action": {"kind": "status", "status": 500}, "times": 0}, id="times-zero"),
        pytest.param({"match": {}, "action": {"kind": "status", "status": 200}}, id="status-not-an-error"),
        pytest.param({"match": {}, "action": {"kind": "delay", "seconds": -1}}, id="negative-delay"),
        pytest.param({"match": {}, "action": {"kind": "status", "status": 500, "body": "xml"}}, id="unknown-body"),
        pytest.param({"match": {"verb": "GET"}, "action": {"kind": "close"}}, id="unknown-match-field"),
        pytest.param({"action": {"kind": "close"}}, id="no-match"),
        pytest.param([], id="not-an-object"),
    ],
)
def test_invalid_fault_specs_are_refused_not_500(client: TestClient, spec: Any) -> None:
    response = client.post("/_control/faults", json=spec)
    assert response.status_code in (400, 422)
    assert response.headers["content-type"].startswith("application/json")
    assert control(client, "GET", "/faults") == []


def test_invalid_fault_message_says_what_is_missing(client: TestClient) -> None:
    response = client.post("/_control/faults", json={"match": {}, "action": {"kind": "status"}})
    assert "needs `status`" in str(response.json())


def test_status_action_validator_lives_on_the_model() -> None:
    with pytest.raises(ValueError, match="needs `status`"):
        FaultAction(kind="status")  # type: ignore[arg-type]


def test_skip_lets_matching_requests_through_and_a_later_fault_may_take_them(client: TestClient) -> None:
    add_fault(client, {"match": {"path": "/api/alive", "skip": 2}, "action": {"kind": "status", "status": 503}})
    add_fault(client, {"match": {"path": "/api/alive"}, "action": {"kind": "status", "status": 418}})
    statuses = [client.get("/api/alive").status_code for _ in range(4)]
    assert statuses == [418, 200, 503, 200]
    first = control(client, "GET", "/faults")[0]
    assert (first["skipped"], first["fired"], first["remaining"]) == (2, 1, 0)
