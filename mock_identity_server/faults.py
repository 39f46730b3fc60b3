"""Faults as data: what to match, what to do instead of (or before) answering, and how many times.

A fault is `match` + `action` + `times` (None = permanent). Faults are tried in the order they were added; the
first one that matches and has uses left fires and uses one up, and a used-up fault falls back to normal
behaviour. Error bodies copy the real service's shapes: OAuth `error`/`error_description` on the identity side,
Bitwarden's `ErrorModel` on the API side, and an empty 401 with `WWW-Authenticate` as the official API sends.
"""

from __future__ import annotations

import fnmatch
import itertools
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["ActionKind", "BodyShape", "Fault", "FaultAction", "FaultMatch", "FaultSpec", "Faults"]


class ActionKind(StrEnum):
    STATUS = "status"
    DELAY = "delay"
    CLOSE = "close"
    HOLD = "hold"


class BodyShape(StrEnum):
    EMPTY = "empty"
    BITWARDEN = "bitwarden"
    OAUTH = "oauth"


class FaultMatch(BaseModel):
    """Which requests a fault applies to. `path` is a glob on the path inside the world, without the query."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: str | None = Field(default=None, description="HTTP method, any when omitted.")
    path: str = Field(default="*", description="Glob, e.g. `/api/sync`, `/api/ciphers/*`, `/identity/*`.")
    grant_type: str | None = Field(default=None, description="Token endpoint only: `password`, `refresh_token`...")
    authenticated: bool | None = Field(
        default=None,
        description="Only requests that carry a bearer token (true) or that carry none (false); any when omitted.",
    )
    exclude: tuple[str, ...] = Field(
        default=(), description="Globs of paths the fault leaves alone even when `path` matches, e.g. `/api/config`."
    )
    skip: int = Field(
        default=0,
        ge=0,
        description="Let this many matching requests through untouched before the fault applies (0 = the first).",
    )

    def matches(self, method: str, path: str, grant_type: str | None, authenticated: bool = False) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if self.grant_type is not None and self.grant_type != grant_type:
            return False
        if self.authenticated is not None and self.authenticated != authenticated:
            return False
        if any(fnmatch.fnmatchcase(path, excluded) for excluded in self.exclude):
            return False
        return fnmatch.fnmatchcase(path, self.path)

    def summary(self) -> str:
        parts = [self.method or "any method", self.path]
        if self.grant_type:
            parts.append(f"grant_type={self.grant_type}")
        if self.authenticated is not None:
            parts.append("with a bearer token" if self.authenticated else "without a bearer token")
        if self.exclude:
            parts.append("except " + ", ".join(self.exclude))
        if self.skip:
            parts.append(f"after {self.skip} untouched")
        return " ".join(parts)


class FaultAction(BaseModel):
    """What a firing fault does."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ActionKind
    status: int | None = Field(default=None, ge=400, le=599, description="For `status`: the status to answer.")
    body: BodyShape = Field(default=BodyShape.EMPTY, description="For `status`: the shape of the error body.")
    error: str = Field(default="invalid_grant", description="OAuth `error` code for `body: oauth`.")
    message: str = Field(default="Injected failure.", description="Bitwarden message or OAuth description.")
    seconds: float = Field(default=0.0, ge=0, le=600, description="For `delay`: real seconds before answering.")

    @model_validator(mode="after")
    def _status_needs_code(self) -> FaultAction:
        if self.kind is ActionKind.STATUS and self.status is None:
            raise ValueError("a `status` action needs `status`, e.g. 401, 403 or 500")
        return self

    def response_parts(self) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Status, headers and body of a `status` action."""
        assert self.status is not None  # guaranteed by the validator
        headers: list[tuple[bytes, bytes]] = []
        if self.status == 401:
            headers.append((b"www-authenticate", b'Bearer error="invalid_token"'))
        body_obj: dict[str, Any] | None = None
        if self.body is BodyShape.OAUTH:
            body_obj = {"error": self.error, "error_description": self.message}
        elif self.body is BodyShape.BITWARDEN:
            body_obj = {
                "message": self.message,
                "validationErrors": None,
                "exceptionMessage": None,
                "exceptionStackTrace": None,
                "innerExceptionMessage": None,
                "object": "error",
            }
        if body_obj is None:
            return self.status, headers, b""
        headers.append((b"content-type", b"application/json; charset=utf-8"))
        return self.status, headers, json.dumps(body_obj).encode()


class FaultSpec(BaseModel):
    """A fault as a client submits it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    match: FaultMatch
    action: FaultAction
    times: int | None = Field(default=1, ge=1, description="How many requests it applies to; null = permanent.")


@dataclass
class Fault:
    id: str
    spec: FaultSpec
    fired: int = 0
    skipped: int = 0

    @property
    def used_up(self) -> bool:
        return self.spec.times is not None and self.fired >= self.spec.times

    def summary(self) -> str:
        """In words, for the event log: `hold on GET /api/* with a bearer token, once`."""
        action = self.spec.action
        what = f"{action.kind.value} {action.status}" if action.status else action.kind.value
        if action.kind.value == "delay":
            what = f"delay {action.seconds:g} s"
        times = "permanently" if self.spec.times is None else f"{self.spec.times} time(s)"
        return f"{what} on {self.spec.match.summary()}, {times}"

    def describe(self) -> dict[str, Any]:
        remaining = None if self.spec.times is None else self.spec.times - self.fired
        return {
            "id": self.id,
            **self.spec.model_dump(mode="json"),
            "fired": self.fired,
            "skipped": self.skipped,
            "remaining": remaining,
        }


class Faults:
    """The active faults of one world, in the order they were added."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)

    def add(self, spec: FaultSpec) -> Fault:
        fault = Fault(id=f"f{next(self._ids)}", spec=spec)
        self._faults.append(fault)
        return fault

    def all(self) -> list[Fault]:
        return list(self._faults)

    @property
    def active(self) -> bool:
        """Whether any fault is registered: the hot path skips matching (and header scanning) when none is."""
        return bool(self._faults)

    def remove(self, fault_id: str) -> bool:
        before = len(self._faults)
        self._faults = [fault for fault in self._faults if fault.id != fault_id]
        return len(self._faults) != before

    def clear(self) -> None:
        self._faults.clear()

    def take(self, method: str, path: str, grant_type: str | None, authenticated: bool = False) -> Fault | None:
        """The first fault with uses left that matches, with one use taken; None when none applies."""
        for fault in self._faults:
            if fault.used_up or not fault.spec.match.matches(method, path, grant_type, authenticated):
                continue
            if fault.skipped < fault.spec.match.skip:
                fault.skipped += 1  # counted as seen; a later fault in the list may still apply
                continue
            fault.fired += 1
            return fault
        return None
