"""The Identity service: prelogin, and the password, refresh and client-credentials grants with their errors."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mock_identity_server.settings import DAY
from tests.conftest import EMAIL, START
from tests.mock_identity_server.helpers import (
    FORM,
    TOKEN_PATH,
    account,
    advance,
    claims,
    control,
    journal,
    login,
    password_form,
    refresh,
    token_request,
)

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ENC_STRING = re.compile(r"^2\.[A-Za-z0-9+/=]+\|[A-Za-z0-9+/=]+\|[A-Za-z0-9+/=]+$")
INVALID_GRANT = {"error": "invalid_grant"}


def _set(client: TestClient, **changes: Any) -> None:
    control(client, "PATCH", "/settings", json=changes)


# --- prelogin ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/identity/accounts/prelogin/password", "/identity/accounts/prelogin", "/api/accounts/prelogin"]
)
def test_prelogin_serves_both_shapes_on_every_path(client: TestClient, path: str) -> None:
    response = client.post(path, json={"email": "  QA@Example.com "})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert body["kdf"] == 0
    assert body["kdfIterations"] == 5_000
    assert body["kdfSettings"] == {"kdfType": 0, "iterations": 5_000, "memory": None, "parallelism": None}
    assert body["salt"] == EMAIL


def test_prelogin_for_an_unknown_email_gives_default_kdf(client: TestClient) -> None:
    body = client.post("/identity/accounts/prelogin/password", json={"email": "nobody@example.com"}).json()
    assert body["kdfSettings"]["iterations"] == 600_000
    assert body["salt"] == "nobody@example.com"


@pytest.mark.parametrize(
    "content",
    [b"{}", b'{"email": ""}', b'{"email": 7}', b"[]", b'"qa@example.com"', b"not json", b"[" * 5000],
)
def test_prelogin_without_a_usable_email_is_400(client: TestClient, content: bytes) -> None:
    response = client.post(
        "/identity/accounts/prelogin/password", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["validationErrors"] == {"Email": ["The Email field is required."]}


# --- password grant ----------------------------------------------------------------------------------------


def test_password_grant_returns_what_the_cli_needs(client: TestClient) -> None:
    response = token_request(client, password_form())
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert isinstance(body["access_token"], str)
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 10
    assert re.fullmatch(r"[0-9A-F]{64}", body["refresh_token"])
    assert ENC_STRING.match(body["Key"])
    assert ENC_STRING.match(body["PrivateKey"])
    assert (body["Kdf"], body["KdfIterations"]) == (0, 5_000)
    assert body["ResetMasterPassword"] is False
    assert body["ForcePasswordReset"] is False
    options = body["UserDecryptionOptions"]
    assert options["HasMasterPassword"] is True
    unlock = options["MasterPasswordUnlock"]
    assert unlock["Kdf"]["KdfType"] == 0
    assert unlock["Kdf"]["Iterations"] == 5_000
    assert unlock["Salt"] == EMAIL
    assert unlock["MasterKeyEncryptedUserKey"] == body["Key"]
    assert unlock["MasterKeyWrappedUserKey"] == body["Key"]
    pair = body["AccountKeys"]["publicKeyEncryptionKeyPair"]
    assert set(pair) == {"wrappedPrivateKey", "publicKey"}
    assert pair["wrappedPrivateKey"] == body["PrivateKey"]


def test_access_token_claims_come_from_the_virtual_clock(client: TestClient) -> None:
    device = str(uuid.uuid4())
    token = login(client, deviceIdentifier=device)["access_token"]
    jwt = claims(token)
    issued = int(START.timestamp())
    assert GUID.match(jwt["sub"])
    assert jwt["sub"] == account(client)["id"]
    assert jwt["iat"] == jwt["nbf"] == jwt["auth_time"] == issued
    assert jwt["exp"] == issued + 10
    assert jwt["client_id"] == "cli"
    assert jwt["email"] == EMAIL
    assert jwt["email_verified"] is True
    assert jwt["name"] == "QA Tester"
    assert jwt["premium"] is False
    assert jwt["sstamp"] == account(client)["security_stamp"]
    assert jwt["device"] == device
    assert jwt["scope"] == ["api", "offline_access"]
    assert jwt["amr"] == ["Application"]
    assert re.fullmatch(r"[0-9A-F]{32}", jwt["jti"])
    assert jwt["iss"] == "https://testserver"


def test_lifetime_and_issue_time_follow_settings_and_clock(client: TestClient) -> None:
    control(client, "POST", "/settings/preset/official")
    advance(client, 125)
    body = login(client)
    jwt = claims(body["access_token"])
    assert jwt["iat"] == int(START.timestamp()) + 125
    assert jwt["exp"] == jwt["iat"] + 3600
    assert body["expires_in"] == 3600


def test_each_login_gets_its_own_jti_and_refresh_token(client: TestClient) -> None:
    first, second = login(client), login(client)
    assert claims(first["access_token"])["jti"] != claims(second["access_token"])["jti"]
    assert first["refresh_token"] != second["refresh_token"]


def test_login_without_offline_access_gets_no_refresh_token(client: TestClient) -> None:
    body = login(client, scope="api")
    assert "refresh_token" not in body


def test_field_names_are_read_case_insensitively(client: TestClient) -> None:
    form = {name.upper(): value for name, value in password_form().items()}
    form["GRANT_TYPE"] = "password"
    assert token_request(client, form).status_code == 200


def test_password_grant_is_journaled_with_issued_token(client: TestClient) -> None:
    token = login(client)["access_token"]
    (entry,) = journal(client)
    assert entry["grant_type"] == "password"
    assert entry["status"] == 200
    assert entry["issued_token_id"] == claims(token)["jti"]


# --- refresh grant -----------------------------------------------------------------------------------------


def test_refresh_with_reuse_returns_the_same_handle_and_a_new_access_token(client: TestClient) -> None:
    body = login(client)
    advance(client, 60)
    response = refresh(client, body["refresh_token"])
    assert response.status_code == 200
    renewed = response.json()
    assert set(renewed) == {"access_token", "expires_in", "token_type", "refresh_token", "scope"}
    assert renewed["refresh_token"] == body["refresh_token"]
    assert renewed["token_type"] == "Bearer"
    jwt = claims(renewed["access_token"])
    assert jwt["iat"] == int(START.timestamp()) + 60
    assert jwt["client_id"] == "cli"
    assert jwt["jti"] != claims(body["access_token"])["jti"]


@pytest.mark.parametrize(
    ("wait", "status"),
    [(30 * DAY - 1, 200), (30 * DAY, 200), (30 * DAY + 1, 400)],
)
def test_sliding_lifetime_boundary(client: TestClient, wait: float, status: int) -> None:
    handle = login(client)["refresh_token"]
    advance(client, wait)
    response = refresh(client, handle)
    assert response.status_code == status
    if status == 400:
        assert response.json() == INVALID_GRANT


def test_each_use_slides_the_lifetime(client: TestClient) -> None:
    handle = login(client)["refresh_token"]
    for _ in range(3):
        advance(client, 29 * DAY)
        assert refresh(client, handle).status_code == 200
    advance(client, 30 * DAY + 1)
    response = refresh(client, handle)
    assert response.status_code == 400
    assert response.json() == INVALID_GRANT
    assert journal(client)[-1]["note"] == "refresh token past its sliding lifetime"


def test_absolute_lifetime_caps_a_token_in_use(client: TestClient) -> None:
    control(client, "POST", "/settings/preset/vaultwarden")
    handle = login(client)["refresh_token"]
    advance(client, 20 * DAY)
    assert refresh(client, handle).status_code == 200
    advance(client, 10 * DAY)
    assert refresh(client, handle).status_code == 200
    advance(client, 1)
    response = refresh(client, handle)
    assert response.status_code == 400
    assert response.json() == INVALID_GRANT
    assert journal(client)[-1]["note"] == "refresh token past its absolute lifetime"


def test_one_time_tokens_rotate_and_refuse_reuse(client: TestClient) -> None:
    _set(client, refresh_token_usage="one-time")
    first = login(client)["refresh_token"]
    response = refresh(client, first)
    assert response.status_code == 200
    second = response.json()["refresh_token"]
    assert second != first
    again = refresh(client, first)
    assert again.status_code == 400
    assert again.json() == INVALID_GRANT
    assert journal(client)[-1]["note"] == "one-time refresh token used again"
    assert refresh(client, second).status_code == 200


@pytest.mark.parametrize(("after", "status"), [(0, 200), (59, 200), (60, 200), (61, 400)])
def test_one_time_grace_period_allows_reuse_inside_the_window(client: TestClient, after: float, status: int) -> None:
    _set(client, refresh_token_usage="one-time", refresh_token_grace_period=60)
    first = login(client)["refresh_token"]
    assert refresh(client, first).status_code == 200
    advance(client, after)
    assert refresh(client, first).status_code == status


def test_security_stamp_rotation_kills_refresh_tokens(client: TestClient) -> None:
    handle = login(client)["refresh_token"]
    user = account(client)
    rotated = control(client, "POST", f"/accounts/{user['id']}/security-stamp")
    assert rotated["security_stamp"] != user["security_stamp"]
    response = refresh(client, handle)
    assert response.status_code == 400
    assert response.json() == INVALID_GRANT
    assert journal(client)[-1]["note"] == "security stamp changed since login"
    assert claims(login(client)["access_token"])["sstamp"] == rotated["security_stamp"]


def test_security_stamp_of_an_account_found_by_email(client: TestClient) -> None:
    handle = login(client)["refresh_token"]
    control(client, "POST", f"/accounts/{EMAIL}/security-stamp")
    assert refresh(client, handle).status_code == 400


@pytest.mark.parametrize("scope", ["account", "world"])
def test_revoke_kills_refresh_tokens(client: TestClient, scope: str) -> None:
    handle = login(client)["refresh_token"]
    path = f"/accounts/{account(client)['id']}/revoke" if scope == "account" else "/revoke"
    assert control(client, "POST", path) == {"revoked": 1}
    response = refresh(client, handle)
    assert response.status_code == 400
    assert response.json() == INVALID_GRANT
    assert journal(client)[-1]["note"] == "refresh token revoked"
    assert control(client, "POST", path) == {"revoked": 0}


@pytest.mark.parametrize("path", ["/accounts/nobody/revoke", "/accounts/nobody/security-stamp"])
def test_account_actions_on_an_unknown_account_are_404(client: TestClient, path: str) -> None:
    response = client.post(f"/_control{path}")
    assert response.status_code == 404
    assert "nobody" in response.json()["error"]


@pytest.mark.parametrize(
    ("handle", "client_id", "note"),
    [
        ("0" * 64, "cli", "unknown refresh token"),
        (None, "web", "refresh token belongs to client 'cli', not 'web'"),
    ],
)
def test_refresh_with_a_wrong_handle_or_client_is_invalid_grant(
    client: TestClient, handle: str | None, client_id: str, note: str
) -> None:
    real = login(client)["refresh_token"]
    response = refresh(client, handle or real, client_id=client_id)
    assert response.status_code == 400
    assert response.json() == INVALID_GRANT
    assert journal(client)[-1]["note"] == note


# --- client credentials ------------------------------------------------------------------------------------


def _api_key_form(client: TestClient, secret: str | None = None) -> dict[str, str]:
    key = account(client)["api_key"]
    return {
        "grant_type": "client_credentials",
        "scope": "api",
        "client_id": key["client_id"],
        "client_secret": secret if secret is not None else key["client_secret"],
        "deviceType": "25",
        "deviceIdentifier": str(uuid.uuid4()),
        "deviceName": "linux",
    }


def test_client_credentials_issue_an_api_token_without_refresh(client: TestClient) -> None:
    user = account(client)
    response = token_request(client, _api_key_form(client))
    assert response.status_code == 200
    body = response.json()
    assert "refresh_token" not in body
    assert body["Key"]
    jwt = claims(body["access_token"])
    assert jwt["client_id"] == f"user.{user['id']}"
    assert jwt["scope"] == ["api"]
    assert jwt["sub"] == user["id"]


def test_client_credentials_accept_a_scope_that_contains_api(client: TestClient) -> None:
    form = {**_api_key_form(client), "scope": "api offline_access"}
    response = token_request(client, form)
    assert response.status_code == 200
    assert claims(response.json()["access_token"])["scope"] == ["api"]


def test_api_key_token_lifetime_is_its_own_setting(client: TestClient) -> None:
    _set(client, api_key_token_lifetime=3600)
    jwt = claims(token_request(client, _api_key_form(client)).json()["access_token"])
    assert jwt["exp"] - jwt["iat"] == 3600


@pytest.mark.parametrize(
    "change",
    [
        {"client_secret": "wrong"},
        {"client_secret": ""},
        {"client_id": "user.00000000-0000-0000-0000-000000000000"},
        {"client_id": "organization.123"},
    ],
)
def test_client_credentials_with_wrong_secret_or_client_is_invalid_client(
    client: TestClient, change: dict[str, str]
) -> None:
    response = token_request(client, {**_api_key_form(client), **change})
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_client"}


# --- bad input ---------------------------------------------------------------------------------------------

BAD_INPUTS: list[Any] = [
    pytest.param({"grant_type": "authorization_code"}, "unsupported_grant_type", id="unknown-grant"),
    pytest.param({"grant_type": ""}, "unsupported_grant_type", id="missing-grant-type"),
    pytest.param({"username": ""}, "invalid_grant", id="missing-username"),
    pytest.param({"password": ""}, "invalid_grant", id="missing-password"),
    pytest.param({"deviceIdentifier": ""}, "invalid_grant", id="missing-device"),
    pytest.param({"client_id": "nope"}, "invalid_client", id="unknown-client"),
    pytest.param({"password": "d3Jvbmc="}, "invalid_grant", id="wrong-password"),
    pytest.param({"username": "nobody@example.com"}, "invalid_grant", id="unknown-user"),
    pytest.param({"grant_type": "refresh_token", "refresh_token": ""}, "invalid_request", id="missing-refresh-token"),
    pytest.param({"grant_type": "client_credentials", "scope": "api"}, "invalid_client", id="api-key-no-secret"),
]


@pytest.mark.parametrize(("change", "error"), BAD_INPUTS)
def test_bad_form_input_is_a_400_oauth_error(client: TestClient, change: dict[str, str], error: str) -> None:
    response = token_request(client, password_form(**change))
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json()["error"] == error


def test_wrong_password_carries_the_message_the_cli_prints(client: TestClient) -> None:
    response = token_request(client, password_form(password="d3Jvbmc="))
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_grant"
    assert body["ErrorModel"] == {"Message": "Username or password is incorrect. Try again.", "Object": "error"}


@pytest.mark.parametrize(
    ("request_kwargs", "status", "error"),
    [
        pytest.param({"json": {"grant_type": "password"}}, 400, "invalid_request", id="json-body"),
        pytest.param({"content": b"grant_type=password"}, 400, "invalid_request", id="no-content-type"),
        pytest.param({"content": b"\xff\xfe=\x00", "headers": FORM}, 400, "unsupported_grant_type", id="not-utf8"),
        pytest.param({"content": b"", "headers": FORM}, 400, "unsupported_grant_type", id="empty-form"),
    ],
)
def test_unusable_token_bodies_are_4xx_json(
    client: TestClient, request_kwargs: dict[str, Any], status: int, error: str
) -> None:
    response = client.post(TOKEN_PATH, **request_kwargs)
    assert response.status_code == status
    assert response.json()["error"] == error


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_other_methods_on_the_token_endpoint_are_405_json(client: TestClient, method: str) -> None:
    response = client.request(method, TOKEN_PATH)
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("application/json")
    assert method in response.json()["message"]
