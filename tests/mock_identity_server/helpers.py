"""Helpers shared by the mock server tests: logging in, refreshing, reading tokens and the journal."""

from __future__ import annotations

import functools
import json
import uuid
from typing import Any

import httpx

from mock_identity_server.crypto import KdfSettings, derive_master_key, server_password_hash
from mock_identity_server.tokens import b64url_decode, b64url_encode
from tests.conftest import EMAIL, FAST_KDF, PASSWORD

TOKEN_PATH = "/identity/connect/token"
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


@functools.cache
def password_hash(password: str = PASSWORD, email: str = EMAIL, kdf: KdfSettings = FAST_KDF) -> str:
    """The server hash the client sends as `password` on the password grant."""
    return server_password_hash(derive_master_key(password, email, kdf), password)


def password_form(**overrides: str) -> dict[str, str]:
    """The password-grant form the CLI sends; `overrides` replace fields, a value of "" drops it."""
    form = {
        "scope": "api offline_access",
        "client_id": "cli",
        "deviceType": "25",
        "deviceIdentifier": str(uuid.uuid4()),
        "deviceName": "linux",
        "grant_type": "password",
        "username": EMAIL,
        "password": password_hash(),
    }
    form.update(overrides)
    return {name: value for name, value in form.items() if value != ""}


def token_request(client: httpx.Client, form: dict[str, str], prefix: str = "") -> httpx.Response:
    return client.post(f"{prefix}{TOKEN_PATH}", data=form, headers=FORM)


def login(client: httpx.Client, prefix: str = "", **overrides: str) -> dict[str, Any]:
    """Log in with the password grant and return the token response body."""
    response = token_request(client, password_form(**overrides), prefix)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def refresh(client: httpx.Client, refresh_token: str, prefix: str = "", client_id: str = "cli") -> httpx.Response:
    form = {"grant_type": "refresh_token", "client_id": client_id, "refresh_token": refresh_token}
    return token_request(client, form, prefix)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def claims(jwt: str) -> dict[str, Any]:
    """The payload of a JWT, unverified."""
    payload: dict[str, Any] = json.loads(b64url_decode(jwt.split(".")[1]))
    return payload


def forge(payload: dict[str, Any] | bytes, header: dict[str, Any] | None = None, signature: bytes = b"sig") -> str:
    """A compact JWT with any header, payload and signature, for tokens the server must refuse."""
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    head = json.dumps(header or {"alg": "HS256", "typ": "at+jwt"}).encode()
    return f"{b64url_encode(head)}.{b64url_encode(raw)}.{b64url_encode(signature)}"


def control(client: httpx.Client, method: str, path: str, prefix: str = "", **kwargs: Any) -> Any:
    """Call the control API and return the JSON body, failing on any non-2xx answer."""
    response = client.request(method, f"{prefix}/_control{path}", **kwargs)
    assert response.is_success, f"{method} {path}: {response.status_code} {response.text}"
    return response.json()


def account(client: httpx.Client, prefix: str = "") -> dict[str, Any]:
    """The world's seeded account as the control API shows it (id, security stamp, API key)."""
    accounts: list[dict[str, Any]] = control(client, "GET", "/accounts", prefix)
    return accounts[0]


def journal(client: httpx.Client, prefix: str = "") -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = control(client, "GET", "/journal", prefix)
    return entries


def add_fault(client: httpx.Client, spec: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    fault: dict[str, Any] = control(client, "POST", "/faults", prefix, json=spec)
    return fault


def advance(client: httpx.Client, seconds: float, prefix: str = "") -> None:
    control(client, "POST", "/clock/advance", prefix, json={"seconds": seconds})
