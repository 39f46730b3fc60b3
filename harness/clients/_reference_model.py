"""The reference model of a Bitwarden client's ApiService and TokenService, request by request.

It follows ../shared/docs/client-behavior.md §3–§5 and §8 (sources: bitwarden/clients `api.service.ts` and
`token.service.ts` before and after PR #17407; bitwarden/android `AuthTokenManager.kt`; bitwarden/ios
`HTTPService.swift`):

- before each authenticated request the stored token is refreshed when fewer than 300 s remain by the client's
  own clock (whole seconds, strict `<`);
- concurrent refreshes in one process share one grant; a refresh token is used when stored, else the API key;
- `legacy`: any authenticated 401/403 logs out with `invalidGrantError`; a refresh answered 400 `invalid_grant`,
  401 or 403 too;
- `fixed`: a 401 on an authenticated request that expects a body is retried once after rebuilding the request
  (which refreshes only by the 300 s rule); a final 401/403 logs out with `invalidAccessToken`; a refresh answered
  400 `invalid_grant` logs out with `sessionExpired`, any other refresh failure raises without logout;
- `mobile`: a 401 always forces a refresh and one retry; API 401/403 never log out; a refresh answered
  `invalid_grant` logs out (bitwarden/android PR #5641).

The clock is injected and `before_send` is called between building a request and sending it — the window where a
host that sleeps makes a token expire in flight.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any

import httpx

from harness._jwt import jwt_claims
from harness._profiles import Profile

__all__ = ["ApiError", "ApiModel", "ClientClock", "LoggedOut", "Storage"]

REFRESH_WINDOW = 300
_LOGOUT_ON_API = {Profile.LEGACY: "invalidGrantError", Profile.FIXED: "invalidAccessToken"}


class ApiError(Exception):
    """A request failed; `status` is None for network errors."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class LoggedOut(ApiError):
    """The client logged its user out while handling a request."""


@dataclass(frozen=True)
class Storage:
    """What a client keeps on disk (the CLI's data.json): the part of its state that outlives a process."""

    user_id: str | None = None
    email: str | None = None
    access_token: str | None = None
    refresh_token: str | None = None
    api_key: tuple[str, str] | None = None
    unlocked: bool = False
    last_sync_ms: int | None = None
    logout_reason: str | None = None


class ClientClock:
    """The client's wall clock in epoch seconds; moved by the harness (sleep, awake time), never by the host."""

    def __init__(self, epoch: float) -> None:
        self._epoch = epoch
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._epoch

    def shift(self, seconds: float) -> None:
        with self._lock:
            self._epoch += seconds


class ApiModel:
    """One client process: its in-memory refresh de-duplication over a shared `Storage`."""

    def __init__(
        self,
        profile: Profile,
        http: httpx.Client,
        base_url: str,
        clock: ClientClock,
        storage: Storage,
        *,
        before_send: Callable[[httpx.Request], None] | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.profile = profile
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.clock = clock
        self.storage = storage
        self.before_send = before_send or (lambda request: None)
        self.warn = warn or (lambda message: None)
        self._lock = threading.Lock()
        self._refreshing: Future[str] | None = None

    # --- storage -------------------------------------------------------------------------------------------

    def store(self, **changes: Any) -> None:
        with self._lock:
            self.storage = replace(self.storage, **changes)

    def logout(self, reason: str) -> None:
        self.store(access_token=None, refresh_token=None, unlocked=False, last_sync_ms=None, logout_reason=reason)

    @property
    def logged_in(self) -> bool:
        return self.storage.access_token is not None

    # --- tokens --------------------------------------------------------------------------------------------

    def seconds_remaining(self) -> int:
        token = self.storage.access_token
        if token is None:
            return 0
        expires = jwt_claims(token).get("exp")
        return round(float(expires) - self.clock.now()) if isinstance(expires, int | float) else 0

    def access_token(self) -> str:
        """The stored token, refreshed first when fewer than 300 s remain by the client's clock."""
        if self.seconds_remaining() < REFRESH_WINDOW:
            return self.refresh()
        token = self.storage.access_token
        assert token is not None
        return token

    def refresh(self) -> str:
        """Refresh now; concurrent callers in this process share one grant."""
        with self._lock:
            pending = self._refreshing
            owner = pending is None
            if pending is None:
                pending = self._refreshing = Future()
        if not owner:
            return pending.result()
        try:
            token = self._grant()
        except BaseException as exc:
            pending.set_exception(exc)
            raise
        else:
            pending.set_result(token)
            return token
        finally:
            with self._lock:
                self._refreshing = None

    def _grant(self) -> str:
        storage = self.storage
        if storage.refresh_token is not None:
            form = {
                "grant_type": "refresh_token",
                "client_id": self._client_id(),
                "refresh_token": storage.refresh_token,
            }
        elif storage.api_key is not None:
            client_id, secret = storage.api_key
            form = {
                "scope": "api",
                "client_id": client_id,
                "deviceType": "25",
                "deviceIdentifier": "sleepwalk-ref",
                "deviceName": "linux",
                "grant_type": "client_credentials",
                "client_secret": secret,
            }
        else:
            raise ApiError("Cannot refresh access token, no refresh token or api keys are stored.")
        response = self._send(self._build("POST", "/identity/connect/token", form=form))
        if response.status_code == 200:
            body = response.json()
            self.store(
                access_token=body["access_token"], refresh_token=body.get("refresh_token") or storage.refresh_token
            )
            return str(body["access_token"])
        self._refresh_failed(response, api_key=storage.refresh_token is None)
        raise AssertionError("unreachable")  # pragma: no cover - _refresh_failed always raises

    def _refresh_failed(self, response: httpx.Response, *, api_key: bool) -> None:
        status = response.status_code
        body = _json(response)
        error = body.get("error") if status == 400 and isinstance(body, dict) else None
        message = _message(response)
        if api_key:  # an API-key re-login never logs out, before or after the fix (client-behavior.md §4)
            raise ApiError(message, status)
        if self.profile is Profile.LEGACY and (error == "invalid_grant" or status in (401, 403)):
            self.logout("invalidGrantError")
            raise LoggedOut(message, status)
        if self.profile is not Profile.LEGACY and error == "invalid_grant":
            self.logout("sessionExpired")
            raise LoggedOut(message, status)
        raise ApiError(message, status)

    def _client_id(self) -> str:
        token = self.storage.access_token
        client_id = jwt_claims(token).get("client_id") if token else None
        # The client sends the claim back; without one it sends the literal `undefined` (client-behavior.md §4).
        return str(client_id) if client_id else "undefined"

    # --- requests ------------------------------------------------------------------------------------------

    def _build(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        form: dict[str, str] | None = None,
        token: str | None = None,
    ) -> httpx.Request:
        headers = {"Device-Type": "25", "Bitwarden-Client-Name": "cli", "Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.http.build_request(method, f"{self.base_url}{path}", json=json_body, data=form, headers=headers)

    def _send(self, request: httpx.Request) -> httpx.Response:
        self.before_send(request)
        try:
            return self.http.send(request)
        except Exception as exc:
            # Whatever keeps an answer from arriving is a network error to a client: a reset socket on a live
            # server, or the exception an in-process server raises where it would drop the connection.
            # The wording is node-fetch's, as the CLI prints it.
            raise ApiError(f"FetchError: request to {request.url} failed, reason: socket hang up") from exc

    def request(
        self, method: str, path: str, *, json_body: Any = None, authed: bool = True, has_response: bool = True
    ) -> Any:
        """Send one API request the way ApiService does, with the profile's retry and logout rules."""
        if authed and not self.logged_in:
            raise ApiError("You are not logged in.")
        response = self._send(self._build(method, path, json_body=json_body, token=self._token(authed)))
        if authed and response.status_code == 401:
            if self.profile is Profile.FIXED and has_response:
                shown = path.removeprefix("/api")
                self.warn(f"Unauthorized response received for request to {shown}. Attempting request again.")
                response = self._send(self._build(method, path, json_body=json_body, token=self.access_token()))
            elif self.profile is Profile.MOBILE:
                response = self._send(self._build(method, path, json_body=json_body, token=self.refresh()))
        if response.status_code in (200, 201, 204):
            return _json(response) if has_response and response.content else None
        if authed and response.status_code in (401, 403) and self.profile is not Profile.MOBILE:
            self.logout(_LOGOUT_ON_API[self.profile])
            raise LoggedOut(_message(response), response.status_code)
        raise ApiError(_message(response), response.status_code)

    def _token(self, authed: bool) -> str | None:
        return self.access_token() if authed else None


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {}


def _message(response: httpx.Response) -> str:
    """What the CLI prints for a failed response: the body's message, else the ErrorResponse as JSON."""
    body = _json(response) if response.content else None
    if isinstance(body, dict):
        message = body.get("message") or body.get("Message") or (body.get("ErrorModel") or {}).get("Message")
        if message:
            return str(message)
    return json.dumps({"response": body, "statusCode": response.status_code}, separators=(",", ":"))
