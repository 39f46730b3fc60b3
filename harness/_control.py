"""A client of the mock server's control API, for one world.

It takes an injected `httpx.Client` (a live HTTPS client or FastAPI's in-process `TestClient`) and speaks only
the wire format of `/_control/`, so the harness never imports the server.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx

from harness._errors import ServerError

__all__ = ["Control", "WorldInfo"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorldInfo:
    id: str
    base_url: str
    prefix: str
    account: dict[str, Any]
    settings: dict[str, Any]


class Control:
    """Control-API calls on the world under `prefix` ('' = the default world)."""

    def __init__(self, http: httpx.Client, prefix: str = "") -> None:
        self.http = http
        self.prefix = prefix

    def for_world(self, world: WorldInfo) -> Control:
        return Control(self.http, world.prefix)

    def _call(self, method: str, path: str, *, json: Any = None, timeout: float | None = None) -> Any:
        url = f"{self.prefix}/_control{path}"
        try:
            # Only long polls pass a timeout: FastAPI's in-process TestClient warns on any.
            extra: dict[str, Any] = {"timeout": timeout} if timeout is not None else {}
            response = self.http.request(method, url, json=json, **extra)
        except httpx.HTTPError as exc:
            raise ServerError(f"The mock server did not answer {method} {url}: {exc}. Is it running?") from exc
        if response.status_code >= 400:
            try:
                detail = response.json()
            except ValueError:
                detail = response.text
            raise ServerError(f"{method} {url} was refused with {response.status_code}: {detail}")
        return response.json() if response.content else None

    # worlds -----------------------------------------------------------------------------------------------
    def create_world(self, **body: Any) -> WorldInfo:
        data = self._call("POST", "/worlds", json=body)
        base_url: str = data["base_url"]
        prefix = f"/w/{data['id']}"
        return WorldInfo(data["id"], base_url, prefix, data["account"] or {}, data["settings"])

    def delete_world(self, world_id: str) -> None:
        self._call("DELETE", f"/worlds/{world_id}")

    # clock ------------------------------------------------------------------------------------------------
    def clock(self) -> dict[str, Any]:
        state: dict[str, Any] = self._call("GET", "/clock")
        return state

    def advance(self, seconds: float, reason: str | None = None) -> dict[str, Any]:
        """Move the world clock; `reason` (sleep, advance, skew) is kept in the event log for reports."""
        body: dict[str, Any] = {"seconds": seconds}
        if reason is not None:
            body["reason"] = reason
        state: dict[str, Any] = self._call("POST", "/clock/advance", json=body)
        return state

    def set_clock(self, instant: str) -> dict[str, Any]:
        state: dict[str, Any] = self._call("POST", "/clock/set", json={"instant": instant})
        return state

    def freeze_clock(self) -> None:
        self._call("POST", "/clock/freeze")

    # settings and accounts --------------------------------------------------------------------------------
    def change_settings(self, changes: dict[str, Any]) -> dict[str, Any]:
        settings: dict[str, Any] = self._call("PATCH", "/settings", json=changes)
        return settings

    def accounts(self) -> list[dict[str, Any]]:
        accounts: list[dict[str, Any]] = self._call("GET", "/accounts")
        return accounts

    def settings(self) -> dict[str, Any]:
        settings: dict[str, Any] = self._call("GET", "/settings")
        return settings

    def revoke(self) -> int:
        revoked: int = self._call("POST", "/revoke")["revoked"]
        return revoked

    def expire(self) -> dict[str, Any]:
        """Make every access token issued so far count as expired; returns how many and since when."""
        answer: dict[str, Any] = self._call("POST", "/expire")
        return answer

    def reset(self) -> dict[str, Any]:
        world: dict[str, Any] = self._call("POST", "/reset")
        return world

    def rotate_stamp(self, account_id: str) -> None:
        self._call("POST", f"/accounts/{account_id}/security-stamp")

    # faults and holds -------------------------------------------------------------------------------------
    def add_fault(self, match: dict[str, Any], action: dict[str, Any], times: int | None = 1) -> dict[str, Any]:
        fault: dict[str, Any] = self._call("POST", "/faults", json={"match": match, "action": action, "times": times})
        return fault

    def faults(self) -> list[dict[str, Any]]:
        faults: list[dict[str, Any]] = self._call("GET", "/faults")
        return faults

    def remove_fault(self, fault_id: str) -> None:
        self._call("DELETE", f"/faults/{fault_id}")

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def wait_for_holds(self, count: int = 1, timeout: float = 30.0) -> list[dict[str, Any]] | None:
        """The held requests once `count` are parked; None when they did not come within `timeout` seconds."""
        try:
            held: list[dict[str, Any]] = self._call(
                "POST", "/holds/wait", json={"count": count, "timeout": timeout}, timeout=timeout + 10
            )
        except ServerError as exc:
            if "408" in str(exc):
                return None
            raise
        return held

    def holds(self) -> list[dict[str, Any]]:
        held: list[dict[str, Any]] = self._call("GET", "/holds")
        return held

    def release(self, held_id: str | None = None) -> list[dict[str, Any]]:
        if held_id is None:
            released: list[dict[str, Any]] = self._call("POST", "/holds/release")
            return released
        return [self._call("POST", f"/holds/{held_id}/release")]

    # journal ----------------------------------------------------------------------------------------------
    def journal(self, since: int = 0) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self._call("GET", f"/journal?since={since}")
        return entries

    def events(self, since: int = 0) -> list[dict[str, Any]]:
        """What was done to the world (clock jumps, faults, revocations...), oldest first."""
        events: list[dict[str, Any]] = self._call("GET", f"/events?since={since}")
        return events

    def last_seq(self) -> int:
        entries = self.journal()
        return entries[-1]["seq"] if entries else 0
