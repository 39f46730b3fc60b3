"""Held requests: parked before judgement, answered after release as if they arrived then.

A request is sent from a worker thread through the same in-process client; the test learns it is parked from
`POST /_control/holds/wait` and collects the answer by joining the thread, so nothing waits on a sleep.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import START
from tests.mock_identity_server.helpers import add_fault, advance, bearer, claims, control, journal, login

REVISION_DATE = "/api/accounts/revision-date"
JOIN_TIMEOUT = 10
EXPIRED_AT_10 = 'Bearer error="invalid_token", error_description="The token expired at \'01/15/2026 10:00:10\'"'


@pytest.fixture
def pool(client: TestClient) -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=4) as executor:
        try:
            yield executor
        finally:
            # A failed test may leave requests parked; release them so joining the workers cannot hang.
            for world in client.get("/_control/worlds").json():
                prefix = "" if world["id"] == "default" else f"/w/{world['id']}"
                client.post(f"{prefix}/_control/holds/release")


def _hold(client: TestClient, path: str = REVISION_DATE, prefix: str = "", times: int | None = 1) -> dict[str, Any]:
    return add_fault(
        client, {"match": {"method": "GET", "path": path}, "action": {"kind": "hold"}, "times": times}, prefix
    )


def _send(pool: ThreadPoolExecutor, client: TestClient, path: str, token: str) -> Future[httpx.Response]:
    return pool.submit(client.get, path, headers=bearer(token))


def _wait(client: TestClient, count: int = 1, prefix: str = "") -> list[dict[str, Any]]:
    held: list[dict[str, Any]] = control(client, "POST", "/holds/wait", prefix, json={"count": count, "timeout": 10})
    return held


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_held_request_is_judged_by_the_clock_at_release(client: TestClient, pool: ThreadPoolExecutor) -> None:
    token = login(client)["access_token"]
    exp = claims(token)["exp"]
    fault = _hold(client)
    pending = _send(pool, client, REVISION_DATE, token)

    (held,) = _wait(client)
    assert held["path"] == REVISION_DATE
    assert held["method"] == "GET"
    assert held["fault_id"] == fault["id"]
    assert held["arrived_virtual"] == "2026-01-15T10:00:00.000Z"
    assert not pending.done()

    advance(client, 11)
    released = control(client, "POST", f"/holds/{held['id']}/release")
    assert released["id"] == held["id"]
    response = pending.result(timeout=JOIN_TIMEOUT)

    assert response.status_code == 401
    assert response.content == b""
    assert response.headers["www-authenticate"] == EXPIRED_AT_10
    (entry,) = (entry for entry in journal(client) if entry["path"] == REVISION_DATE)
    assert entry["held"] is True
    assert entry["fault_id"] == fault["id"]
    assert entry["fault_action"] == "hold"
    assert entry["seq"] == held["journal_seq"]
    assert entry["token_verdict"] == "expired"
    assert entry["status"] == 401
    assert _instant(entry["arrived_virtual"]).timestamp() < exp
    assert _instant(entry["answered_virtual"]).timestamp() > exp
    assert _instant(entry["answered_virtual"]) == START + timedelta(seconds=11)
    assert control(client, "GET", "/holds") == []


def test_held_request_without_a_clock_move_is_served(client: TestClient, pool: ThreadPoolExecutor) -> None:
    token = login(client)["access_token"]
    _hold(client)
    pending = _send(pool, client, REVISION_DATE, token)
    (held,) = _wait(client)
    control(client, "POST", f"/holds/{held['id']}/release")
    response = pending.result(timeout=JOIN_TIMEOUT)
    assert response.status_code == 200
    assert response.json() == int(START.timestamp() * 1000)
    (entry,) = (entry for entry in journal(client) if entry["path"] == REVISION_DATE)
    assert entry["held"] is True
    assert entry["token_verdict"] == "valid"
    assert entry["arrived_virtual"] == entry["answered_virtual"]


def test_hold_that_is_used_up_lets_the_next_request_through(client: TestClient, pool: ThreadPoolExecutor) -> None:
    token = login(client)["access_token"]
    _hold(client)
    pending = _send(pool, client, REVISION_DATE, token)
    _wait(client)
    assert client.get(REVISION_DATE, headers=bearer(token)).status_code == 200
    control(client, "POST", "/holds/release")
    assert pending.result(timeout=JOIN_TIMEOUT).status_code == 200


def test_wait_times_out_with_408_and_a_message(client: TestClient) -> None:
    response = client.post("/_control/holds/wait", json={"count": 1, "timeout": 0.05})
    assert response.status_code == 408
    message = response.json()["error"]
    assert "1 held request(s)" in message
    assert "0 arrived" in message
    assert "GET /_control/faults" in message


@pytest.mark.parametrize("body", [{"count": 0}, {"timeout": 0}, {"timeout": 301}, {"seconds": 1}])
def test_wait_refuses_bad_arguments(client: TestClient, body: dict[str, Any]) -> None:
    assert client.post("/_control/holds/wait", json=body).status_code == 400


def test_releasing_an_unknown_hold_is_404(client: TestClient) -> None:
    response = client.post("/_control/holds/h99/release")
    assert response.status_code == 404
    assert "h99" in response.json()["error"]


def test_release_all_answers_every_held_request(client: TestClient, pool: ThreadPoolExecutor) -> None:
    token = login(client)["access_token"]
    _hold(client, path="/api/*", times=3)
    pending = [_send(pool, client, path, token) for path in (REVISION_DATE, "/api/sync", "/api/accounts/profile")]
    held = _wait(client, count=3)
    assert len(held) == 3
    assert len(control(client, "GET", "/holds")) == 3
    released = control(client, "POST", "/holds/release")
    assert {item["id"] for item in released} == {item["id"] for item in held}
    assert [future.result(timeout=JOIN_TIMEOUT).status_code for future in pending] == [200, 200, 200]
    assert control(client, "GET", "/holds") == []
    assert control(client, "POST", "/holds/release") == []


def test_world_reset_releases_held_requests(client: TestClient, pool: ThreadPoolExecutor) -> None:
    token = login(client)["access_token"]
    _hold(client)
    pending = _send(pool, client, REVISION_DATE, token)
    _wait(client)
    control(client, "POST", "/reset")
    response = pending.result(timeout=JOIN_TIMEOUT)
    assert response.status_code in (200, 401)
    assert control(client, "GET", "/holds") == []


def test_world_deletion_releases_held_requests(client: TestClient, pool: ThreadPoolExecutor) -> None:
    control(client, "POST", "/worlds", json={"id": "doomed"})
    prefix = "/w/doomed"
    token = login(client, prefix=prefix)["access_token"]
    _hold(client, prefix=prefix)
    pending = _send(pool, client, f"{prefix}{REVISION_DATE}", token)
    _wait(client, prefix=prefix)
    assert control(client, "DELETE", "/worlds/doomed") == {"deleted": "doomed"}
    response = pending.result(timeout=JOIN_TIMEOUT)
    assert response.status_code in (200, 401)
    assert client.get(f"{prefix}{REVISION_DATE}").status_code == 404


def test_holds_are_per_world(client: TestClient, pool: ThreadPoolExecutor) -> None:
    control(client, "POST", "/worlds", json={"id": "other"})
    token = login(client)["access_token"]
    _hold(client)
    pending = _send(pool, client, REVISION_DATE, token)
    _wait(client)
    assert control(client, "GET", "/holds", "/w/other") == []
    timed_out = client.post("/w/other/_control/holds/wait", json={"timeout": 0.05})
    assert timed_out.status_code == 408
    control(client, "POST", "/holds/release")
    assert pending.result(timeout=JOIN_TIMEOUT).status_code == 200
