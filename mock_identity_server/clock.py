"""Clocks: the only place in the project that reads the host's wall clock.

Everything the server decides about time (issuing and validating tokens, sliding refresh lifetimes, the journal)
reads a `Clock` passed in. `VirtualClock` is the one the server uses: it starts frozen at a given instant,
moves forward only through `advance()`, jumps (also backwards) only through an explicit `set()`, and can be let
run, in which case it follows real monotonic time from where it stands. Real monotonic time is used for the
running mode so that a host clock change never moves a world's clock behind its back.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "SystemClock", "VirtualClock", "ensure_aware", "host_now"]


@runtime_checkable
class Clock(Protocol):
    """Something that tells the current instant as an aware UTC datetime."""

    def now(self) -> datetime: ...


def host_now() -> datetime:
    """The host's wall clock, aware and in UTC; used for real timestamps in the journal and as a start instant."""
    return datetime.now(UTC)


def ensure_aware(instant: datetime) -> datetime:
    """Return `instant` in UTC, refusing naive datetimes because their zone would be a guess."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(
            f"Expected a timezone-aware datetime, got the naive {instant!r}; "
            "pass one with tzinfo, for example datetime(2026, 1, 15, 10, 0, tzinfo=UTC)."
        )
    return instant.astimezone(UTC)


class SystemClock:
    """The host's wall clock behind the `Clock` protocol."""

    def now(self) -> datetime:
        return host_now()


class VirtualClock:
    """A clock moved by hand: frozen by default, optionally running at real speed.

    >>> clock = VirtualClock(datetime(2026, 1, 15, 10, 0, tzinfo=UTC))
    >>> clock.advance(600)
    >>> clock.now().isoformat()
    '2026-01-15T10:10:00+00:00'
    """

    def __init__(self, start: datetime, *, running: bool = False) -> None:
        self._lock = threading.Lock()
        self._anchor = ensure_aware(start)
        self._anchor_monotonic = time.monotonic()
        self._running = running

    @property
    def running(self) -> bool:
        return self._running

    def now(self) -> datetime:
        with self._lock:
            return self._now_locked()

    def advance(self, seconds: float | timedelta) -> datetime:
        """Move forward by `seconds`; negative steps are refused (use `set()` to go back on purpose)."""
        step = seconds if isinstance(seconds, timedelta) else timedelta(seconds=seconds)
        if step < timedelta(0):
            raise ValueError(
                f"A clock only advances forwards; got a step of {step.total_seconds()!r} s. "
                "Use set() with an earlier instant to move the clock back on purpose."
            )
        with self._lock:
            self._rebase(self._now_locked() + step)
            return self._anchor

    def set(self, instant: datetime) -> datetime:
        """Jump to `instant`, forwards or backwards."""
        with self._lock:
            self._rebase(ensure_aware(instant))
            return self._anchor

    def freeze(self) -> datetime:
        """Stop the clock where it stands."""
        with self._lock:
            self._rebase(self._now_locked())
            self._running = False
            return self._anchor

    def run(self) -> datetime:
        """Let the clock follow real time from where it stands."""
        with self._lock:
            self._rebase(self._now_locked())
            self._running = True
            return self._anchor

    def _now_locked(self) -> datetime:
        if not self._running:
            return self._anchor
        return self._anchor + timedelta(seconds=time.monotonic() - self._anchor_monotonic)

    def _rebase(self, instant: datetime) -> None:
        self._anchor = instant
        self._anchor_monotonic = time.monotonic()
