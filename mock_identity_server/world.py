"""Worlds: all server state of one isolated universe, and the registry that finds them by path prefix.

A world owns its clock, settings, accounts, grants, ciphers, faults, held requests and journal. The default
world is served at the root; others under `/w/<id>`. Because a client configured with a base URL under
`/w/<id>` sends every request there (server-protocol.md §1), scenarios running in parallel against one server
never see each other's clocks or tokens.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from mock_identity_server.clock import VirtualClock, host_now
from mock_identity_server.events import ClockReason, ControlEvent, EventKind, EventLog
from mock_identity_server.faults import Faults
from mock_identity_server.holds import Holds
from mock_identity_server.journal import Journal
from mock_identity_server.settings import ServerSettings
from mock_identity_server.store import Account, AccountSpec, Store
from mock_identity_server.tokens import TokenSigner

__all__ = ["DEFAULT_WORLD_ID", "World", "WorldError", "Worlds"]

DEFAULT_WORLD_ID = "default"
_WORLD_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class WorldError(ValueError):
    """A world id that is malformed, taken or unknown."""


@dataclass
class World:
    id: str
    clock: VirtualClock
    settings: ServerSettings
    seed: AccountSpec | None
    store: Store = field(default_factory=Store)
    faults: Faults = field(default_factory=Faults)
    holds: Holds = field(default_factory=Holds)
    journal: Journal = field(default_factory=Journal)
    events: EventLog = field(default_factory=EventLog)
    signer: TokenSigner = field(default_factory=TokenSigner)
    # Access tokens carry their issue number in their jti, so `expire` can end every token issued so far
    # without keeping a list of them: tokens numbered up to `expired_through` count as expired.
    tokens_issued: int = 0
    expired_through: int = 0
    expired_at: datetime | None = None
    seeded_account: Account | None = None
    initial_settings: ServerSettings | None = None
    initial_clock: tuple[datetime, bool] | None = None
    initial_offset: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        self.initial_settings = self.settings
        self.initial_clock = (self.clock.now(), self.clock.running)
        # A running clock is "real time plus this much": a reset keeps that relation, not the start instant,
        # or a server up for an hour would come back from a reset an hour in the past.
        self.initial_offset = self.clock.now() - host_now()
        self._seed()

    @property
    def prefix(self) -> str:
        return "" if self.id == DEFAULT_WORLD_ID else f"/w/{self.id}"

    def next_token_jti(self) -> str:
        """A jti for a new access token: 32 upper-case hex digits like IdentityServer's, the first 8 numbering it."""
        self.tokens_issued += 1
        return f"{self.tokens_issued:08X}{secrets.token_hex(12).upper()}"

    def expire_access_tokens(self) -> int:
        """Make every access token issued so far count as expired from now on; returns how many were issued."""
        self.expired_through = self.tokens_issued
        self.expired_at = self.clock.now()
        return self.tokens_issued

    def force_expired(self, jti: str) -> bool:
        """Whether `expire` ended the token with this jti (a jti we did not number never is)."""
        if self.expired_through == 0:
            return False
        try:
            number = int(jti[:8], 16)
        except ValueError:
            return False
        return 0 < number <= self.expired_through

    def record(self, kind: EventKind, text: str, **extra: Any) -> ControlEvent:
        """Log a control event at the current real and virtual time."""
        return self.events.record(kind, real=host_now(), virtual=self.clock.now(), text=text, **extra)

    def record_clock_jump(
        self, before: datetime, seconds: float, text: str, reason: ClockReason | None = None
    ) -> ControlEvent:
        """Log a clock jump from `before` to the clock's current reading, at the current real time."""
        return self.events.record(
            EventKind.CLOCK,
            real=host_now(),
            virtual=before,
            virtual_after=self.clock.now(),
            seconds=seconds,
            reason=reason,
            text=text,
        )

    def reset(self) -> None:
        """Back to the state the world was created in: settings, clock, the seeded account only; no faults."""
        assert self.initial_settings is not None
        assert self.initial_clock is not None
        self.holds.release()
        self.settings = self.initial_settings
        start, running = self.initial_clock
        # Freeze before setting: a clock left running would otherwise move on between set() and freeze().
        self.clock.freeze()
        self.clock.set(host_now() + self.initial_offset if running else start)
        if running:
            self.clock.run()
        self.faults.clear()
        self.journal.clear()
        self.events.clear()
        self.tokens_issued = 0
        self.expired_through = 0
        self.expired_at = None
        # A new signing key: tokens issued before the reset belong to a world that no longer exists.
        self.signer = TokenSigner()
        # The seeded account keeps its id and API key, so what `serve` printed (and server.json) stays true.
        seeded = self.seeded_account
        self.store = Store(self.store.key_cache)
        self._seed(seeded.id if seeded else None, seeded.api_key_secret if seeded else None)

    def _seed(self, account_id: str | None = None, api_key_secret: str | None = None) -> None:
        if self.seed is not None:
            self.seeded_account = self.store.create_account(
                self.seed, self.clock.now(), account_id=account_id, api_key_secret=api_key_secret
            )


class Worlds:
    """The default world and the ones created at run time."""

    def __init__(self, default: World) -> None:
        self.default = default
        self._worlds: dict[str, World] = {default.id: default}

    def get(self, world_id: str) -> World | None:
        return self._worlds.get(world_id)

    def all(self) -> list[World]:
        return list(self._worlds.values())

    def create(
        self, world_id: str | None, settings: ServerSettings, clock: VirtualClock, seed: AccountSpec | None
    ) -> World:
        chosen = world_id or secrets.token_hex(4)
        if not _WORLD_ID.match(chosen):
            raise WorldError(f"World id {chosen!r} is not allowed; use 1 to 64 letters, digits, '-' or '_'.")
        if chosen in self._worlds:
            raise WorldError(f"World {chosen!r} exists already; pick another id or delete it first.")
        world = World(id=chosen, clock=clock, settings=settings, seed=seed, store=Store(self.default.store.key_cache))
        self._worlds[chosen] = world
        return world

    def delete(self, world_id: str) -> World:
        if world_id == DEFAULT_WORLD_ID:
            raise WorldError("The default world cannot be deleted; reset it with POST /_control/reset instead.")
        world = self._worlds.pop(world_id, None)
        if world is None:
            raise WorldError(f"No world {world_id!r}; GET /_control/worlds lists the existing ones.")
        world.holds.release()
        return world
