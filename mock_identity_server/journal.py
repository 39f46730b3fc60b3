"""The journal: every request a world served, with real and virtual timestamps and how it was judged.

Entries are appended when a request arrives and completed when it is answered; subscribers of the live stream
get each entry once it is complete. Tests and the harness read it to assert the request sequence a client sent.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

__all__ = ["Journal", "JournalEntry", "iso_millis"]


def iso_millis(instant: datetime | None) -> str | None:
    """ISO-8601 UTC with milliseconds, as Bitwarden servers write timestamps."""
    if instant is None:
        return None
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}Z"


@dataclass
class JournalEntry:
    seq: int
    method: str
    path: str
    query: str
    arrived_real: datetime
    arrived_virtual: datetime
    grant_type: str | None = None
    answered_real: datetime | None = None
    answered_virtual: datetime | None = None
    status: int | None = None
    token_id: str | None = None
    token_verdict: str | None = None
    user_id: str | None = None
    issued_token_id: str | None = None
    issued_token_expires_virtual: datetime | None = None
    fault_id: str | None = None
    fault_action: str | None = None
    held: bool = False
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in (
            "arrived_real",
            "arrived_virtual",
            "answered_real",
            "answered_virtual",
            "issued_token_expires_virtual",
        ):
            data[key] = iso_millis(data[key])
        return data


class Journal:
    """An ordered, bounded record of requests with a live feed."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._entries: deque[JournalEntry] = deque(maxlen=max_entries)
        self._seq = itertools.count(1)
        self._subscribers: set[asyncio.Queue[JournalEntry]] = set()

    def open(self, **fields: Any) -> JournalEntry:
        entry = JournalEntry(seq=next(self._seq), **fields)
        self._entries.append(entry)
        return entry

    def close(self, entry: JournalEntry) -> None:
        for queue in self._subscribers:
            queue.put_nowait(entry)

    def entries(self, since: int = 0) -> list[JournalEntry]:
        return [entry for entry in self._entries if entry.seq > since]

    def clear(self) -> None:
        self._entries.clear()

    def subscribe(self) -> asyncio.Queue[JournalEntry]:
        queue: asyncio.Queue[JournalEntry] = asyncio.Queue()
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[JournalEntry]) -> None:
        self._subscribers.discard(queue)
