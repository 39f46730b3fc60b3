"""Unmodified Python client code as a scenario client, its clock bound to the world clock through freezegun.

Users put their own Python client under the same sleeps as the real CLI: they hand over a factory that builds
their client for a base URL; the client uses its own HTTP library and reads the host clock (`time.time()`,
`datetime.now()`). Each call into it runs inside `freezegun.freeze_time` at the client's virtual instant, and a
sleep moves that instant together with the server clock. Without the bridge (`bridge=False`) the client reads
the real host clock and misses the sleep — which is why the bridge exists.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, TypeVar

from freezegun import freeze_time

from harness._control import Control, WorldInfo
from harness._errors import ClientError
from harness._outcome import CommandResult
from harness._profiles import Profile
from harness._scenario import ClientSetup, ClientState, Step
from harness.clients._held_sleep import sleep_through_hold
from harness.clients.base import SleepPlan

__all__ = ["PythonClient", "PythonClientDriver"]

_T = TypeVar("_T")
# Modules that keep real time under freezegun: the harness's own waits, the HTTP stack's timeouts and any event
# loop, which hangs on a frozen monotonic clock (spulec/freezegun#437). Not this module: freezegun looks a few
# frames up the stack, and this module's frames sit right above the client's own clock reads.
_REAL_TIME = [
    "harness._control",
    "harness._runner",
    "harness.clients._held_sleep",
    "httpx",
    "httpcore",
    "h11",
    "anyio",
    "asyncio",
    "ssl",
    "urllib3",
    "requests.adapters",
]


class PythonClient(Protocol):
    """What a Python client under test offers the driver."""

    def login(self, email: str, password: str) -> None: ...

    def sync(self, force: bool = False) -> None:
        """Raise any exception when the sync fails."""

    def is_logged_in(self) -> bool: ...


class PythonClientDriver:
    """Runs a `PythonClient` through a scenario (commands: `sync`, `status`)."""

    realtime = False

    def __init__(
        self,
        factory: Callable[[str, ssl.SSLContext], PythonClient],
        ca_cert: Path,
        *,
        name: str = "python",
        profile: Profile = Profile.FIXED,
        bridge: bool = True,
    ) -> None:
        self.factory = factory
        self.ca_cert = ca_cert
        self.name = name if bridge else f"{name} (no clock bridge)"
        self.profile = profile
        self.bridge = bridge
        self._now = datetime.fromtimestamp(0, UTC)
        self._freezer: Any = None
        self._client: PythonClient | None = None
        self._control: Control | None = None

    def start(self, world: WorldInfo, control: Control, workdir: Path, setup: ClientSetup) -> None:
        if setup.login != "password" or setup.mode != "command":
            raise ClientError(f"{self.name} supports password logins in command mode only.")
        self._control = control
        self._now = datetime.fromtimestamp(control.clock()["epoch"], UTC)
        context = ssl.create_default_context(cafile=str(self.ca_cert))
        client = self._client = self._call(lambda: self.factory(world.base_url, context))
        account = world.account
        self._call(lambda: client.login(account["email"], account["password"]))

    def run(self, step: Step, sleep: SleepPlan | None) -> list[CommandResult]:
        client = self._require()
        if step.sync is not None:
            force = step.sync.force
            name, work = "sync", lambda: client.sync(force)
        elif step.status is not None:
            name, work = "status", lambda: None
        else:
            raise ClientError(f"{self.name} runs only `sync` and `status` steps, not {step.action!r}.")
        if step.processes != 1:
            raise ClientError(f"{self.name} runs one command at a time; drop `processes` from the step.")
        failure: list[BaseException] = []

        def command() -> None:
            try:
                self._call(work)
            except Exception as exc:  # the client's own failure is the command's outcome, whatever its type
                failure.append(exc)

        if sleep is None:
            command()
        else:
            # The client runs in a thread, so it can be "asleep" in its request while the harness moves time.
            worker = threading.Thread(target=command, name=f"{self.name} {name}")
            assert self._control is not None
            try:
                sleep_through_hold(
                    self._control,
                    sleep,
                    client=self.name,
                    start=worker.start,
                    finished=lambda: not worker.is_alive(),
                    freeze=lambda: None,  # the thread is blocked in its held request: asleep already
                    thaw=lambda: None,
                )
            finally:
                if worker.ident is not None:
                    worker.join()
        if failure:
            return [CommandResult(name, 1, "", f"{type(failure[0]).__name__}: {failure[0]}")]
        return [CommandResult(name, 0, "done", "")]

    def shift_clock(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        if self._freezer is not None:
            self._freezer.move_to(self._now)

    def suspend(self) -> None:
        """Nothing of the client runs between steps."""

    def resume(self) -> None:
        """See `suspend`."""

    def state(self) -> ClientState:
        return ClientState.UNLOCKED if self._call(self._require().is_logged_in) else ClientState.LOGGED_OUT

    def logout_reason(self) -> str | None:
        return None

    def close(self) -> None:
        close = getattr(self._client, "close", None)
        if callable(close):  # a client that holds connections may offer close(); the protocol does not require it
            close()
        self._client = None

    def _require(self) -> PythonClient:
        if self._client is None:
            raise ClientError(f"{self.name} was used before start().")
        return self._client

    def _call(self, work: Callable[[], _T]) -> _T:
        if not self.bridge:
            return work()
        with freeze_time(self._now, ignore=_REAL_TIME) as freezer:
            self._freezer = freezer
            try:
                return work()
            finally:
                self._freezer = None
