"""Held requests: requests parked by a `hold` fault until someone releases them.

A held request has not been judged yet: its token is validated only after release, against the world clock as
it stands then, exactly as a request that reached the server after the client's host woke up.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mock_identity_server.journal import iso_millis

__all__ = ["HeldRequest", "Holds"]


@dataclass
class HeldRequest:
    id: str
    method: str
    path: str
    fault_id: str
    journal_seq: int
    arrived_real: datetime
    arrived_virtual: datetime
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "method": self.method,
            "path": self.path,
            "fault_id": self.fault_id,
            "journal_seq": self.journal_seq,
            "arrived_real": iso_millis(self.arrived_real),
            "arrived_virtual": iso_millis(self.arrived_virtual),
        }


class Holds:
    """The parked requests of one world, and waiting for them to arrive."""

    def __init__(self) -> None:
        self._held: dict[str, HeldRequest] = {}
        self._ids = itertools.count(1)
        self._changed = asyncio.Event()

    def park(self, **fields: Any) -> HeldRequest:
        held = HeldRequest(id=f"h{next(self._ids)}", **fields)
        self._held[held.id] = held
        self._notify()
        return held

    def pending(self) -> list[HeldRequest]:
        return list(self._held.values())

    def release(self, held_id: str | None = None) -> list[HeldRequest]:
        """Release one held request by id, or all when `held_id` is None; returns those released."""
        chosen = (
            list(self._held.values()) if held_id is None else [self._held[held_id]] if held_id in self._held else []
        )
        for held in chosen:
            del self._held[held.id]
            held.released.set()
        self._notify()
        return chosen

    async def wait_for(self, count: int, timeout: float) -> bool:
        """Wait up to `timeout` real seconds until at least `count` requests are held."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self._held) < count:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                return len(self._held) >= count
        return True

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()
