"""A sleep on a request in flight, for clients that run on their own (a process, a thread): the server's hold.

The request is parked the moment it reaches the server — its token was valid when the client built it — then the
client is frozen, both clocks jump, the client is thawed and the request released, so the server judges the token
after the sleep (real-cli.md §12). Only the freeze and thaw differ between kinds of client.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

from harness._control import Control
from harness._errors import ClientError, HarnessError
from harness.clients.base import SleepPlan

__all__ = ["REQUEST_TIMEOUT", "sleep_through_hold"]

#: How long a sleep waits for its request to reach the server (real seconds).
REQUEST_TIMEOUT = 60.0


def sleep_through_hold(
    control: Control,
    sleep: SleepPlan,
    *,
    client: str,
    start: Callable[[], None],
    finished: Callable[[], bool],
    freeze: Callable[[], None],
    thaw: Callable[[], None],
) -> None:
    """Arm the hold, `start` the client, wait for the request, freeze the client, jump both clocks, thaw, release.

    The hold is armed before the client starts, so even a fast client cannot slip its request past it.
    `finished` tells whether the client has given up (its process ended), so a request that never comes fails in
    a second rather than after the full timeout.
    """
    match: dict[str, Any] = {"method": sleep.request.method, "path": sleep.request.path}
    if sleep.request.grant_type:
        match["grant_type"] = sleep.request.grant_type
    if sleep.occurrence > 1:  # let the earlier matching requests through untouched
        match["skip"] = sleep.occurrence - 1
    armed = [control.add_fault(match, {"kind": "hold"}, sleep.count)]
    try:
        start()
        held = _wait_for_holds(control, sleep, client, finished)
        freeze()
        try:
            sleep.jump(sleep.duration)
        finally:
            thaw()
        for request in held:
            control.release(request["id"])
    finally:
        for fault in armed:
            with contextlib.suppress(HarnessError):
                control.remove_fault(fault["id"])


def _wait_for_holds(
    control: Control, sleep: SleepPlan, client: str, finished: Callable[[], bool]
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + REQUEST_TIMEOUT
    while time.monotonic() < deadline:
        held = control.wait_for_holds(sleep.count, timeout=1.0)
        if held:
            return held
        if finished():
            break
    count = "" if sleep.count == 1 else f"{sleep.count} times "
    raise ClientError(
        f"{client} never sent {sleep.request} {count}: it finished (or {REQUEST_TIMEOUT:g} s passed) without it, so "
        "there was no request to sleep on. Check the scenario's sleep_at request against the journal."
    )
