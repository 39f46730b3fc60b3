"""The control API under `/_control/`: clock, settings, accounts, faults, holds, journal, events, reset, worlds.

Every route acts on the world the request was addressed to: `/_control/...` is the default world,
`/w/<id>/_control/...` world `<id>`. The harness and QA drive the server only through these routes; they are
documented in the OpenAPI page at `/docs`. Every change a route makes is also recorded in the world's event log.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response, StreamingResponse

from mock_identity_server.clock import VirtualClock, ensure_aware, host_now
from mock_identity_server.crypto import KdfSettings
from mock_identity_server.events import ClockReason, EventKind
from mock_identity_server.faults import FaultSpec
from mock_identity_server.journal import iso_millis
from mock_identity_server.responses import json_response
from mock_identity_server.settings import (
    PRESETS,
    ServerSettings,
    SettingsError,
    preset_settings,
    updated_settings,
)
from mock_identity_server.store import Account, AccountSpec
from mock_identity_server.world import DEFAULT_WORLD_ID, World, WorldError, Worlds

__all__ = ["account_json", "router", "world_json"]

router = APIRouter(prefix="/_control", tags=["control"])


def _world(request: Request) -> World:
    world: World = request.state.world
    return world


def _control_error(status: int, message: str) -> Response:
    return json_response({"error": message}, status)


# --- clock -------------------------------------------------------------------------------------------------


class ClockState(BaseModel):
    now: str
    epoch: float = Field(description="The same instant in seconds since the Unix epoch.")
    running: bool
    ahead: float = Field(description="Seconds the world clock is ahead of the host's clock (negative: behind).")


class AdvanceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seconds: float = Field(ge=0, description="How far to move the clock forward.")
    reason: ClockReason | None = Field(
        default=None,
        description="Recorded in the event log for reports: `sleep` (host slept), `advance` (client clock moved "
        "too), `skew` (server clock only).",
    )


class SetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    instant: datetime = Field(description="ISO-8601 with a zone, e.g. 2026-01-15T10:00:00Z.")


def _clock_state(clock: VirtualClock) -> dict[str, Any]:
    now = clock.now()
    ahead = round((now - host_now()).total_seconds(), 3)
    return {"now": iso_millis(now), "epoch": now.timestamp(), "running": clock.running, "ahead": ahead}


@router.get("/clock", response_model=ClockState, summary="Read the world clock")
async def read_clock(request: Request) -> dict[str, Any]:
    return _clock_state(_world(request).clock)


_CLOCK_WORDS = {ClockReason.SLEEP: "host slept", ClockReason.SKEW: "server clock skewed"}


@router.post("/clock/advance", response_model=ClockState, summary="Move the world clock forward")
async def advance_clock(request: Request, body: AdvanceRequest) -> dict[str, Any]:
    world = _world(request)
    before = world.clock.now()
    world.clock.advance(body.seconds)
    what = _CLOCK_WORDS.get(body.reason, "clock moved") if body.reason else "clock moved"
    world.record_clock_jump(before, body.seconds, f"{what}: +{body.seconds:g} s", body.reason)
    return _clock_state(world.clock)


@router.post("/clock/set", response_model=ClockState, responses={400: {}}, summary="Jump to an instant")
async def set_clock(request: Request, body: SetRequest) -> Any:
    world = _world(request)
    before = world.clock.now()
    try:
        world.clock.set(ensure_aware(body.instant))
    except ValueError as exc:
        return _control_error(400, str(exc))
    after = world.clock.now()
    seconds = (after - before).total_seconds()
    world.record_clock_jump(before, seconds, f"clock set to {iso_millis(after)} ({seconds:+g} s)")
    return _clock_state(world.clock)


@router.post("/clock/freeze", response_model=ClockState, summary="Stop the world clock")
async def freeze_clock(request: Request) -> dict[str, Any]:
    clock = _world(request).clock
    clock.freeze()
    return _clock_state(clock)


@router.post("/clock/run", response_model=ClockState, summary="Let the world clock follow real time")
async def run_clock(request: Request) -> dict[str, Any]:
    clock = _world(request).clock
    clock.run()
    return _clock_state(clock)


# --- settings ----------------------------------------------------------------------------------------------


@router.get("/settings", response_model=ServerSettings, summary="Read the token settings")
async def read_settings(request: Request) -> ServerSettings:
    return _world(request).settings


@router.patch("/settings", response_model=ServerSettings, responses={400: {}}, summary="Change token settings")
async def change_settings(request: Request, changes: dict[str, Any]) -> Any:
    world = _world(request)
    try:
        world.settings = updated_settings(world.settings, changes)
    except SettingsError as exc:
        return _control_error(400, str(exc))
    world.record(EventKind.SETTINGS, "settings changed: " + ", ".join(f"{k}={v}" for k, v in changes.items()))
    return world.settings


@router.get("/presets", summary="List the named presets")
async def list_presets() -> dict[str, Any]:
    return {
        name: {key: getattr(value, "value", value) for key, value in values.items()} for name, values in PRESETS.items()
    }


@router.post("/settings/preset/{name}", response_model=ServerSettings, responses={400: {}}, summary="Apply a preset")
async def apply_preset(request: Request, name: str) -> Any:
    world = _world(request)
    try:
        world.settings = preset_settings(name, world.settings)
    except SettingsError as exc:
        return _control_error(400, str(exc))
    world.record(EventKind.SETTINGS, f"preset {name} applied")
    return world.settings


# --- accounts ----------------------------------------------------------------------------------------------


class KdfRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kdf_type: int = Field(default=0, description="0 = PBKDF2-SHA256, 1 = Argon2id.")
    iterations: int = 600_000
    memory_mib: int | None = None
    parallelism: int | None = None


class AccountRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3)
    password: str = Field(min_length=1)
    name: str = "QA Tester"
    premium: bool = False
    kdf: KdfRequest = Field(default_factory=KdfRequest)


def account_json(account: Account) -> dict[str, Any]:
    return {
        "id": account.id,
        "email": account.email,
        # A test server: the harness logs real clients in with it, as QA would with the printed seed password.
        "password": account.spec.password,
        "name": account.spec.name,
        "security_stamp": account.security_stamp,
        "api_key": {"client_id": account.api_client_id, "client_secret": account.api_key_secret},
    }


@router.get("/accounts", summary="List accounts with their API keys")
async def list_accounts(request: Request) -> list[dict[str, Any]]:
    return [account_json(account) for account in _world(request).store.accounts.values()]


@router.post("/accounts", status_code=201, responses={400: {}, 409: {}}, summary="Create an account")
async def create_account(request: Request, body: AccountRequest) -> Any:
    world = _world(request)
    try:
        kdf = KdfSettings(body.kdf.kdf_type, body.kdf.iterations, body.kdf.memory_mib, body.kdf.parallelism)
    except ValueError as exc:
        return _control_error(400, str(exc))
    spec = AccountSpec(email=body.email, password=body.password, name=body.name, kdf=kdf, premium=body.premium)
    if world.store.find_account(body.email) is not None:
        return _control_error(409, f"An account for {body.email!r} exists already; use another email address.")
    account = await asyncio.to_thread(world.store.create_account, spec, world.clock.now())
    return json_response(account_json(account), 201)


def _account(world: World, account_id: str) -> Account | None:
    return world.store.accounts.get(account_id) or world.store.find_account(account_id)


@router.post("/accounts/{account_id}/security-stamp", responses={404: {}}, summary="Rotate the security stamp")
async def rotate_stamp(request: Request, account_id: str) -> Any:
    world = _world(request)
    account = _account(world, account_id)
    if account is None:
        return _control_error(404, f"No account {account_id!r} in world {world.id!r}.")
    world.store.rotate_security_stamp(account, world.clock.now())
    return account_json(account)


@router.post("/accounts/{account_id}/revoke", responses={404: {}}, summary="Revoke an account's refresh tokens")
async def revoke_account(request: Request, account_id: str) -> Any:
    world = _world(request)
    account = _account(world, account_id)
    if account is None:
        return _control_error(404, f"No account {account_id!r} in world {world.id!r}.")
    revoked = world.store.revoke_grants(account.id)
    world.record(EventKind.REVOKE, f"{revoked} refresh token(s) of {account.email} revoked")
    return {"revoked": revoked}


@router.post("/revoke", summary="Revoke every refresh token of the world")
async def revoke_all(request: Request) -> dict[str, int]:
    world = _world(request)
    revoked = world.store.revoke_grants()
    world.record(EventKind.REVOKE, f"{revoked} refresh token(s) revoked")
    return {"revoked": revoked}


@router.post("/expire", summary="Make every access token issued so far count as expired")
async def expire_access_tokens(request: Request) -> dict[str, Any]:
    world = _world(request)
    issued = world.expire_access_tokens()
    world.record(EventKind.EXPIRE, f"all {issued} access token(s) issued so far declared expired")
    return {"expired": issued, "at": iso_millis(world.expired_at)}


# --- faults ------------------------------------------------------------------------------------------------


@router.get("/faults", summary="List faults with how often each fired")
async def list_faults(request: Request) -> list[dict[str, Any]]:
    return [fault.describe() for fault in _world(request).faults.all()]


@router.post("/faults", status_code=201, summary="Add a fault")
async def add_fault(request: Request, spec: FaultSpec) -> dict[str, Any]:
    world = _world(request)
    fault = world.faults.add(spec)
    world.record(EventKind.FAULT, f"fault {fault.id} added: {fault.summary()}")
    return fault.describe()


@router.delete("/faults/{fault_id}", responses={404: {}}, summary="Remove a fault")
async def remove_fault(request: Request, fault_id: str) -> Any:
    if not _world(request).faults.remove(fault_id):
        return _control_error(404, f"No fault {fault_id!r}; GET /_control/faults lists them.")
    return {"removed": fault_id}


@router.delete("/faults", summary="Remove every fault")
async def clear_faults(request: Request) -> dict[str, str]:
    _world(request).faults.clear()
    return {"removed": "all"}


# --- holds -------------------------------------------------------------------------------------------------


class WaitRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    count: int = Field(default=1, ge=1, description="How many held requests to wait for.")
    timeout: float = Field(default=10.0, gt=0, le=300, description="Real seconds to wait at most.")


@router.get("/holds", summary="List held requests")
async def list_holds(request: Request) -> list[dict[str, Any]]:
    return [held.describe() for held in _world(request).holds.pending()]


@router.post("/holds/wait", responses={408: {}}, summary="Wait until requests are held")
async def wait_for_holds(request: Request, body: WaitRequest) -> Any:
    holds = _world(request).holds
    if not await holds.wait_for(body.count, body.timeout):
        return _control_error(
            408,
            f"Waited {body.timeout} s for {body.count} held request(s) but {len(holds.pending())} arrived; "
            "check that a hold fault matches the request the client sends (GET /_control/faults).",
        )
    return [held.describe() for held in holds.pending()]


@router.post("/holds/release", summary="Release every held request")
async def release_all(request: Request) -> list[dict[str, Any]]:
    world = _world(request)
    released = [held.describe() for held in world.holds.release()]
    if released:
        world.record(EventKind.RELEASE, f"{len(released)} held request(s) released")
    return released


@router.post("/holds/{held_id}/release", responses={404: {}}, summary="Release one held request")
async def release_one(request: Request, held_id: str) -> Any:
    world = _world(request)
    released = world.holds.release(held_id)
    if not released:
        return _control_error(404, f"No held request {held_id!r}; GET /_control/holds lists them.")
    world.record(EventKind.RELEASE, f"held request {held_id} released")
    return released[0].describe()


# --- journal -----------------------------------------------------------------------------------------------


@router.get("/journal", summary="Every request served, oldest first")
async def read_journal(request: Request, since: int = Query(default=0, ge=0)) -> list[dict[str, Any]]:
    return [entry.to_json() for entry in _world(request).journal.entries(since)]


@router.get("/journal/stream", summary="The journal as a live stream of JSON lines")
async def stream_journal(request: Request, since: int = Query(default=0, ge=0)) -> StreamingResponse:
    journal = _world(request).journal
    queue = journal.subscribe()
    backlog = [entry for entry in journal.entries(since) if entry.status is not None or entry.answered_real]

    async def lines() -> AsyncIterator[bytes]:
        try:
            for entry in backlog:
                yield (json.dumps(entry.to_json()) + "\n").encode()
            seen = {entry.seq for entry in backlog}
            while True:
                entry = await queue.get()
                if entry.seq not in seen:
                    yield (json.dumps(entry.to_json()) + "\n").encode()
        finally:
            journal.unsubscribe(queue)

    return StreamingResponse(lines(), media_type="application/x-ndjson")


@router.get("/events", summary="What was done to the world: clock jumps, faults, revocations, expiries")
async def read_events(request: Request, since: int = Query(default=0, ge=0)) -> list[dict[str, Any]]:
    return [event.to_json() for event in _world(request).events.entries(since)]


# --- reset and worlds --------------------------------------------------------------------------------------


@router.post("/reset", summary="Put the world back as it was created")
async def reset(request: Request) -> dict[str, Any]:
    world = _world(request)
    world.reset()
    world.record(EventKind.RESET, "world reset to its initial state")
    return world_json(world, request)


class WorldRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str | None = Field(default=None, description="Letters, digits, '-' or '_'; random when omitted.")
    preset: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict, description="Overrides applied after the preset.")
    start: datetime | None = Field(default=None, description="Clock start; the default world's current time.")
    running: bool = Field(default=False, description="Let the clock follow real time from the start.")
    seed_account: bool = Field(default=True, description="Create the server's seeded account in the world.")


def world_json(world: World, request: Request) -> dict[str, Any]:
    base = f"{request.url.scheme}://{request.url.netloc}{world.prefix}"
    return {
        "id": world.id,
        "base_url": base,
        "clock": _clock_state(world.clock),
        "settings": world.settings.model_dump(mode="json"),
        "account": account_json(world.seeded_account) if world.seeded_account else None,
    }


def _worlds(request: Request) -> Worlds:
    worlds: Worlds = request.app.state.worlds
    return worlds


@router.get("/worlds", summary="List worlds")
async def list_worlds(request: Request) -> list[dict[str, Any]]:
    return [world_json(world, request) for world in _worlds(request).all()]


@router.post("/worlds", status_code=201, responses={400: {}, 409: {}}, summary="Create a world")
async def create_world(request: Request, body: WorldRequest) -> Any:
    worlds = _worlds(request)
    default = worlds.default
    try:
        settings = preset_settings(body.preset, default.initial_settings) if body.preset else default.initial_settings
        assert settings is not None
        settings = updated_settings(settings, body.settings)
        start = ensure_aware(body.start) if body.start else default.clock.now()
    except (SettingsError, ValueError) as exc:
        return _control_error(400, str(exc))
    clock = VirtualClock(start, running=body.running)
    seed = default.seed if body.seed_account else None
    try:
        world = await asyncio.to_thread(worlds.create, body.id, settings, clock, seed)
    except WorldError as exc:
        # Decided by the registry, not the message: an id like "exists!" must stay a 400.
        taken = body.id is not None and worlds.get(body.id) is not None
        return _control_error(409 if taken else 400, str(exc))
    return json_response(world_json(world, request), 201)


@router.delete("/worlds/{world_id}", responses={400: {}, 404: {}}, summary="Delete a world")
async def delete_world(request: Request, world_id: str) -> Any:
    try:
        _worlds(request).delete(world_id)
    except WorldError as exc:
        return _control_error(400 if world_id == DEFAULT_WORLD_ID else 404, str(exc))
    return {"deleted": world_id}
