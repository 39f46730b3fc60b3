"""The one small protocol every client driver meets, and what the runner hands a driver for a sleep.

A driver runs commands the way its kind of client does (a process per command, a long-lived process, an
in-process model) and moves its client's wall clock. The runner owns the world: it creates it, moves the server
clock, and reads the journal. `SleepPlan.jump` moves both clocks together, so a driver calls it at the one moment
its client is asleep — between building a request and sending it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from harness._control import Control, WorldInfo
from harness._outcome import CommandResult
from harness._profiles import Profile
from harness._scenario import ClientSetup, ClientState, RequestPattern, Step

__all__ = ["ClientDriver", "SleepPlan"]


@dataclass(frozen=True)
class SleepPlan:
    """Sleep `duration` seconds while the `occurrence`-th request matching `request` is in flight.

    With `count` > 1, the sleep starts once that many matching requests are in flight together (concurrent
    requests or processes caught at the same moment) and all of them are released after it.
    """

    request: RequestPattern
    duration: float
    occurrence: int
    jump: Callable[[float], None]
    count: int = 1


class ClientDriver(Protocol):
    """A client under test, driven through a scenario."""

    #: How reports name it, e.g. `bw@2026.1.0` or `reference:fixed`.
    name: str
    profile: Profile
    #: True when the client reads real time (a process): its world's clock then runs at real speed too.
    realtime: bool

    def start(self, world: WorldInfo, control: Control, workdir: Path, setup: ClientSetup) -> None:
        """Point the client at `world` and log in as `setup` says; raises ClientError when it cannot."""

    def run(self, step: Step, sleep: SleepPlan | None) -> list[CommandResult]:
        """Run a command step (in `step.processes` processes where that means something), sleeping per `sleep`."""

    def shift_clock(self, seconds: float) -> None:
        """Move the client's wall clock by `seconds`, leaving its monotonic clock alone."""

    def suspend(self) -> None:
        """Freeze the client, if it is a running process (a host going to sleep)."""

    def resume(self) -> None:
        """Thaw it again."""

    def state(self) -> ClientState:
        """Unlocked, locked or logged out, as the client itself reports it."""

    def logout_reason(self) -> str | None:
        """The logout reason, where the client exposes it (the real CLI never prints it)."""

    def close(self) -> None:
        """Stop every process the driver started."""
