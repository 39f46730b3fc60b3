"""Control events: what was done to a world (clock jumps, faults, revocations, expiries...), with both times.

The journal records what clients asked; this log records what the tester did. A report needs both to draw a
sleep window next to the requests it broke, and `sleepwalk journal --follow` to say "the clock jumped here".
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from mock_identity_server.journal import iso_millis

__all__ = ["ClockReason", "ControlEvent", "EventKind", "EventLog"]


class EventKind(StrEnum):
    CLOCK = "clock"
    FAULT = "fault"
    REVOKE = "revoke"
    EXPIRE = "expire"
    SETTINGS = "settings"
    RELEASE = "release"
    RESET = "reset"


class ClockReason(StrEnum):
    """Why the clock jumped, as the caller says: only the caller knows whether the client's clock moved too."""

    SLEEP = "sleep"  # the host slept: client and server clocks jumped together, the client was suspended
    ADVANCE = "advance"  # both clocks moved, nothing suspended
    SKEW = "skew"  # only the server clock moved


@dataclass(frozen=True)
class ControlEvent:
    seq: int
    kind: EventKind
    real: datetime
    virtual: datetime
    text: str
    virtual_after: datetime | None = None
    seconds: float | None = None
    reason: ClockReason | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "kind": self.kind.value,
            "real": iso_millis(self.real),
            "virtual": iso_millis(self.virtual),
            "virtual_after": iso_millis(self.virtual_after),
            "seconds": self.seconds,
            "reason": self.reason.value if self.reason else None,
            "text": self.text,
        }


class EventLog:
    """An ordered, bounded list of control events."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._events: deque[ControlEvent] = deque(maxlen=max_entries)
        self._seq = itertools.count(1)

    def record(self, kind: EventKind, *, real: datetime, virtual: datetime, text: str, **extra: Any) -> ControlEvent:
        event = ControlEvent(seq=next(self._seq), kind=kind, real=real, virtual=virtual, text=text, **extra)
        self._events.append(event)
        return event

    def entries(self, since: int = 0) -> list[ControlEvent]:
        return [event for event in self._events if event.seq > since]

    def clear(self) -> None:
        self._events.clear()
