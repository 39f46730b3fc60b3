"""The Bitwarden API: bearer checks (401/403 with the official headers), ciphers, sync, config and 404s."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mock_identity_server.tokens import b64url_encode
from tests.conftest import EMAIL, START
from tests.mock_identity_server import helpers
from tests.mock_identity_server.helpers import (
    account,
    advance,
    bearer,
    claims,
    control,
    forge,
    journal,
    login,
)

EXPIRED_AT_10 = 'Bearer error="invalid_token", error_description="The token expired at \'01/15/2026 10:00:10\'"'
BAD_SIGNATURE = 'Bearer error="invalid_token", error_description="The signature is invalid"'
MALFORMED = 'Bearer error="invalid_token"'
MILLIS = int(START.timestamp() * 1000)
ITEM = {"type": 1, "name": "2.aaaa|bbbb|cccc", "notes": None, "login": {"username": "2.u|u|u", "password": "2.p|p|p"}}


@pytest.fixture
def token(client: TestClient) -> str:
    access_token: str = login(client)["access_token"]
    return access_token


@pytest.mark.parametrize(
    "path", ["/api/sync?excludeDomains=true", "/api/accounts/revision-date", "/api/accounts/profile", "/api/config"]
)
def test_valid_token_is_served(client: TestClient, token: str, path: str) -> None:
    response = client.get(path, headers=bearer(token))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"


def test_revision_date_is_epoch_milliseconds(client: TestClient, token: str) -> None:
    assert client.get("/api/accounts/revision-date", headers=bearer(token)).json() == MILLIS


@pytest.mark.parametrize(("seconds", "status"), [(10, 200), (11, 401)])
def test_token_expires_with_the_virtual_clock(client: TestClient, token: str, seconds: int, status: int) -> None:
    advance(client, seconds)
    response = client.get("/api/accounts/revision-date", headers=bearer(token))
    assert response.status_code == status
    if status == 401:
        assert response.content == b""
        assert response.headers["www-authenticate"] == EXPIRED_AT_10
        entry = journal(client)[-1]
        assert entry["token_verdict"] == "expired"
        assert entry["token_id"] == claims(token)["jti"]


def test_leeway_setting_keeps_an_expired_token_working(client: TestClient, token: str) -> None:
    control(client, "PATCH", "/settings", json={"leeway": 300})
    advance(client, 310)
    assert client.get("/api/accounts/revision-date", headers=bearer(token)).status_code == 200
    advance(client, 1)
    assert client.get("/api/accounts/revision-date", headers=bearer(token)).status_code == 401


def test_enforced_lifetime_rejects_a_token_whose_exp_is_far(client: TestClient) -> None:
    control(client, "PATCH", "/settings", json={"access_token_lifetime": 3600, "enforced_access_token_lifetime": 5})
    token = login(client)["access_token"]
    advance(client, 6)
    response = client.get("/api/sync", headers=bearer(token))
    assert response.status_code == 401
    assert "The token expired at '01/15/2026 10:00:05'" in response.headers["www-authenticate"]


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-header"),
        pytest.param({"Authorization": "Bearer"}, id="empty-bearer"),
        pytest.param({"Authorization": "Basic dXNlcjpwYXNz"}, id="basic"),
    ],
)
def test_missing_token_is_401_bearer(client: TestClient, headers: dict[str, str]) -> None:
    response = client.get("/api/sync", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.content == b""
    assert journal(client)[-1]["token_verdict"] == "missing"


HEADER = b64url_encode(b'{"alg":"HS256","typ":"at+jwt"}')
PAYLOAD = b64url_encode(b'{"sub":"x","exp":1768474800}')


@pytest.mark.parametrize(
    ("make_token", "www_authenticate", "verdict"),
    [
        pytest.param(lambda good: f"{HEADER}.{PAYLOAD}", MALFORMED, "malformed", id="two-segments"),
        pytest.param(lambda good: f"{HEADER}.%%%.sig", MALFORMED, "malformed", id="bad-base64"),
        pytest.param(lambda good: f"{HEADER}.{b64url_encode(b'nope')}.sig", MALFORMED, "malformed", id="not-json"),
        pytest.param(lambda good: forge(b'{"sub":"x","exp":1e400}'), MALFORMED, "malformed", id="exp-infinite"),
        pytest.param(lambda good: forge(b"[" * 3000), MALFORMED, "malformed", id="nested-too-deep"),
        pytest.param(
            lambda good: forge(claims(good), header={"alg": "none"}, signature=b""),
            BAD_SIGNATURE,
            "bad-signature",
            id="alg-none",
        ),
        pytest.param(lambda good: forge(claims(good)), BAD_SIGNATURE, "bad-signature", id="wrong-signature"),
        pytest.param(lambda good: good[:-4] + "AAAA", BAD_SIGNATURE, "bad-signature", id="tampered-signature"),
    ],
)
def test_malformed_and_forged_tokens_are_401_never_500(
    client: TestClient, token: str, make_token: Any, www_authenticate: str, verdict: str
) -> None:
    response = client.get("/api/sync", headers=bearer(make_token(token)))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == www_authenticate
    assert response.content == b""
    assert journal(client)[-1]["token_verdict"] == verdict


def test_token_with_nbf_in_the_future_is_not_yet_valid(client: TestClient, token: str) -> None:
    control(client, "POST", "/clock/set", json={"instant": "2026-01-15T09:59:00Z"})
    response = client.get("/api/sync", headers=bearer(token))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == (
        'Bearer error="invalid_token", error_description="The token is not valid before \'01/15/2026 10:00:00\'"'
    )
    assert journal(client)[-1]["token_verdict"] == "not-yet-valid"


def test_token_without_scope_api_is_403_with_empty_body(client: TestClient) -> None:
    token = login(client, scope="offline_access")["access_token"]
    response = client.get("/api/sync", headers=bearer(token))
    assert response.status_code == 403
    assert response.content == b""
    assert "www-authenticate" not in response.headers
    assert journal(client)[-1]["token_verdict"] == "insufficient-scope"


def test_json_error_bodies_when_empty_bodies_are_off(client: TestClient, token: str) -> None:
    control(client, "PATCH", "/settings", json={"empty_error_bodies": False})
    missing = client.get("/api/sync")
    assert missing.status_code == 401
    assert missing.json()["message"] == "Unauthorized."
    assert missing.json()["object"] == "error"
    assert missing.headers["www-authenticate"] == "Bearer"
    advance(client, 11)
    expired = client.get("/api/sync", headers=bearer(token))
    assert expired.json()["message"] == "Unauthorized."
    assert expired.headers["www-authenticate"] == EXPIRED_AT_10
    forbidden = client.get("/api/sync", headers=bearer(login(client, scope="offline_access")["access_token"]))
    assert forbidden.status_code == 403
    assert forbidden.json()["message"] == "Forbidden."


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/nothing"),
        ("GET", "/nothing"),
        ("GET", "/identity/.well-known/openid-configuration"),
        ("GET", "/notifications/hub"),
        ("POST", "/api/two-factor"),
        ("GET", "/"),
    ],
)
def test_unknown_paths_are_404_json(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["message"] == "Resource not found."


@pytest.mark.parametrize(
    ("content", "error_key"),
    [
        pytest.param(b"{not json", "", id="not-json"),
        pytest.param(b"", "", id="empty"),
        pytest.param(b"\xff\xfe", "", id="not-utf8"),
        pytest.param(b"[" * 5000, "", id="nested-too-deep"),
        pytest.param(b"[]", "", id="not-an-object"),
        pytest.param(b'{"name": "2.a|b|c"}', "type", id="no-type"),
        pytest.param(b'{"type": 99, "name": "2.a|b|c"}', "type", id="type-out-of-range"),
        pytest.param(b'{"type": 1}', "name", id="no-name"),
    ],
)
def test_bad_cipher_bodies_get_the_bitwarden_400(
    client: TestClient, token: str, content: bytes, error_key: str
) -> None:
    headers = {**bearer(token), "Content-Type": "application/json; charset=utf-8"}
    response = client.post("/api/ciphers", content=content, headers=headers)
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == "The model state is invalid."
    assert body["object"] == "error"
    assert error_key in body["validationErrors"]


def test_bad_body_on_a_json_route_is_checked_after_the_token(client: TestClient) -> None:
    response = client.post("/api/ciphers", content=b"{not json")
    assert response.status_code == 401


def _revision_date(client: TestClient, token: str) -> int:
    value: int = client.get("/api/accounts/revision-date", headers=bearer(token)).json()
    return value


def test_cipher_round_trip_bumps_the_revision_date(client: TestClient) -> None:
    control(client, "POST", "/settings/preset/official")
    token = login(client)["access_token"]
    auth = bearer(token)
    assert _revision_date(client, token) == MILLIS

    advance(client, 60)
    created = client.post("/api/ciphers", json=ITEM, headers=auth)
    assert created.status_code == 200
    cipher = created.json()
    assert cipher["object"] == "cipherDetails"
    assert cipher["name"] == ITEM["name"]
    assert cipher["login"] == ITEM["login"]
    assert cipher["creationDate"] == cipher["revisionDate"] == "2026-01-15T10:01:00.000Z"
    assert cipher["deletedDate"] is None
    assert cipher["edit"] is True
    assert cipher["permissions"] == {"delete": True, "restore": True}
    assert _revision_date(client, token) == MILLIS + 60_000

    fetched = client.get(f"/api/ciphers/{cipher['id']}", headers=auth)
    assert fetched.status_code == 200
    assert fetched.json() == cipher

    advance(client, 60)
    updated = client.put(f"/api/ciphers/{cipher['id']}", json={**ITEM, "name": "2.new|new|new"}, headers=auth)
    assert updated.status_code == 200
    assert updated.json()["name"] == "2.new|new|new"
    assert updated.json()["creationDate"] == "2026-01-15T10:01:00.000Z"
    assert updated.json()["revisionDate"] == "2026-01-15T10:02:00.000Z"
    assert _revision_date(client, token) == MILLIS + 120_000

    advance(client, 60)
    soft = client.put(f"/api/ciphers/{cipher['id']}/delete", headers=auth)
    assert soft.status_code == 200
    assert soft.content == b""
    assert client.get(f"/api/ciphers/{cipher['id']}", headers=auth).json()["deletedDate"] == (
        "2026-01-15T10:03:00.000Z"
    )
    assert _revision_date(client, token) == MILLIS + 180_000

    advance(client, 60)
    assert client.delete(f"/api/ciphers/{cipher['id']}", headers=auth).status_code == 200
    assert client.get(f"/api/ciphers/{cipher['id']}", headers=auth).status_code == 404
    assert _revision_date(client, token) == MILLIS + 240_000


def test_create_with_collections(client: TestClient, token: str) -> None:
    response = client.post("/api/ciphers/create", json={"cipher": ITEM, "collectionIds": ["c1"]}, headers=bearer(token))
    assert response.status_code == 200
    assert response.json()["collectionIds"] == ["c1"]


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("GET", ""), ("PUT", ""), ("PUT", "/delete"), ("DELETE", "")],
)
def test_unknown_cipher_is_404(client: TestClient, token: str, method: str, suffix: str) -> None:
    response = client.request(method, f"/api/ciphers/{'0' * 8}{suffix}", json=ITEM, headers=bearer(token))
    assert response.status_code == 404
    assert response.json()["message"] == "Resource not found."


def test_sync_contains_the_created_cipher_and_the_profile(client: TestClient, token: str) -> None:
    created = client.post("/api/ciphers", json=ITEM, headers=bearer(token)).json()
    response = client.get("/api/sync", params={"excludeDomains": "true"}, headers=bearer(token))
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "sync"
    assert [cipher["id"] for cipher in body["ciphers"]] == [created["id"]]
    assert body["ciphers"][0] == created
    profile = body["profile"]
    assert profile["email"] == EMAIL
    assert profile["securityStamp"] == account(client)["security_stamp"]
    assert (profile["organizations"], profile["providers"], profile["providerOrganizations"]) == ([], [], [])
    assert body["userDecryption"]["masterPasswordUnlock"]["salt"] == EMAIL
    assert journal(client)[-1]["query"] == "excludeDomains=true"


def test_user_key_id_is_echoed_by_sync(client: TestClient, token: str) -> None:
    posted = client.post(
        "/api/accounts/key-management/user-key-id", json={"userKeyId": "ab" * 16}, headers=bearer(token)
    )
    assert posted.status_code == 200
    assert posted.content == b""
    sync = client.get("/api/sync", headers=bearer(token)).json()
    assert sync["userDecryption"]["userKeyId"] == "ab" * 16


def test_config_is_served_anonymously_and_with_a_token(client: TestClient, token: str) -> None:
    anonymous = client.get("/api/config")
    assert anonymous.status_code == 200
    body = anonymous.json()
    assert body["object"] == "config"
    assert body["version"] == "2026.1.0"
    assert body["server"] is None
    assert body["featureStates"] == {}
    assert body["environment"]["api"] == "https://testserver/api"
    assert body["environment"]["identity"] == "https://testserver/identity"
    authenticated = client.get("/api/config", headers=bearer(token))
    assert authenticated.json() == body
    assert journal(client)[-1]["token_verdict"] == "valid"


def test_config_with_an_expired_token_is_401(client: TestClient, token: str) -> None:
    advance(client, 11)
    response = client.get("/api/config", headers=bearer(token))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == EXPIRED_AT_10


def test_events_collect_answers_exactly_200(client: TestClient, token: str) -> None:
    response = client.post("/events/collect", json=[{"type": 1000}], headers=bearer(token))
    assert response.status_code == 200


@pytest.mark.parametrize(("password_hash", "status"), [(None, 200), ("d3Jvbmc=", 400)])
def test_verify_password(client: TestClient, token: str, password_hash: str | None, status: int) -> None:
    body = {"masterPasswordHash": password_hash or helpers.password_hash()}
    response = client.post("/api/accounts/verify-password", json=body, headers=bearer(token))
    assert response.status_code == status


@pytest.mark.parametrize("path", ["/api/alive", "/api/now"])
def test_health_endpoints_tell_the_virtual_time(client: TestClient, path: str) -> None:
    advance(client, 1.5)
    assert client.get(path).json() == (START + timedelta(seconds=1.5)).strftime("%Y-%m-%dT%H:%M:%S.500Z")
