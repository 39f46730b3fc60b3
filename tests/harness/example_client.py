"""A small Python Bitwarden client that knows nothing about sleepwalk: it reads the host clock and uses httpx.

It refreshes its token when fewer than 300 s remain by `time.time()`, and on a 401 rebuilds the request once (as
Bitwarden clients do since PR #17407). The freezegun driver runs it under the harness's sleeps unchanged.
"""

from __future__ import annotations

import base64
import hashlib
import ssl
import time
import uuid

import httpx


class ExampleVaultClient:
    def __init__(self, base_url: str, verify: ssl.SSLContext) -> None:
        self.http = httpx.Client(base_url=base_url, verify=verify, timeout=30)
        self.access_token: str | None = None
        self.refresh_token: str | None = None
        self.expires_at = 0.0

    def login(self, email: str, password: str) -> None:
        prelogin = self.http.post("/identity/accounts/prelogin/password", json={"email": email}).json()
        salt = (prelogin["salt"] or email).lower().encode()
        master_key = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, prelogin["kdfSettings"]["iterations"], 32)
        password_hash = base64.b64encode(hashlib.pbkdf2_hmac("sha256", master_key, password.encode(), 1, 32)).decode()
        form = {
            "grant_type": "password",
            "username": email,
            "password": password_hash,
            "client_id": "cli",
            "scope": "api offline_access",
            "deviceType": "25",
            "deviceIdentifier": str(uuid.uuid4()),
            "deviceName": "linux",
        }
        self._keep(self._grant(form))

    def sync(self, force: bool = False) -> None:
        response = self.http.get("/api/accounts/revision-date", headers=self._auth())
        if response.status_code == 401:
            response = self.http.get("/api/accounts/revision-date", headers=self._auth())
        if response.status_code in (401, 403):
            self.access_token = None
            raise PermissionError(f"logged out after {response.status_code}")
        response.raise_for_status()

    def is_logged_in(self) -> bool:
        return self.access_token is not None

    def close(self) -> None:
        self.http.close()

    def _auth(self) -> dict[str, str]:
        if self.expires_at - time.time() < 300:
            assert self.refresh_token is not None
            self._keep(
                self._grant({"grant_type": "refresh_token", "client_id": "cli", "refresh_token": self.refresh_token})
            )
        return {"Authorization": f"Bearer {self.access_token}"}

    def _grant(self, form: dict[str, str]) -> dict[str, object]:
        response = self.http.post("/identity/connect/token", data=form)
        response.raise_for_status()
        body: dict[str, object] = response.json()
        return body

    def _keep(self, body: dict[str, object]) -> None:
        self.access_token = str(body["access_token"])
        self.refresh_token = str(body.get("refresh_token") or self.refresh_token)
        self.expires_at = time.time() + float(str(body["expires_in"]))
