"""The Bitwarden API the CLI calls: config, sync, revision date, profile, key id, ciphers, events, health.

Bodies are what the CLI 2025.10.0–2026.9.0 accepts (server-protocol.md §6). Ciphers are stored exactly as the
client sent them (already encrypted); the server only adds ids, dates and permissions.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.responses import Response

from mock_identity_server.auth import authenticate
from mock_identity_server.crypto import verify_server_password_hash
from mock_identity_server.identity import kdf_fields
from mock_identity_server.journal import iso_millis
from mock_identity_server.responses import HttpProblem, bitwarden_error, json_response
from mock_identity_server.store import Account, Cipher
from mock_identity_server.world import World

__all__ = ["router"]

router = APIRouter()
_M = TypeVar("_M", bound=BaseModel)


class CipherRequest(BaseModel):
    """What `bw create item` / `bw edit` send; unknown keys are kept as sent."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    type: int = Field(ge=1, le=8)
    name: str


class CipherCreateRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    cipher: CipherRequest
    collectionIds: list[str] = Field(default_factory=list)


class UserKeyIdRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    userKeyId: str


class VerifyPasswordRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    masterPasswordHash: str


def _world(request: Request) -> World:
    world: World = request.state.world
    return world


async def _parse(request: Request, model: type[_M]) -> _M:
    """Validate a JSON body; a bad one gets Bitwarden's 400 `The model state is invalid.`, never a 500."""
    raw = await request.body()
    try:
        return model.model_validate(json.loads(raw))
    # RecursionError: the C JSON decoder rejects deeply nested arrays that way, not with ValueError.
    except (ValueError, ValidationError, RecursionError) as exc:
        if isinstance(exc, ValidationError):
            errors: dict[str, list[str]] = {}
            for error in exc.errors():
                errors.setdefault(".".join(str(part) for part in error["loc"]) or "", []).append(error["msg"])
        else:
            errors = {"": [f"The request body is not valid JSON: {exc}"]}
        raise HttpProblem(bitwarden_error(400, "The model state is invalid.", errors)) from exc


@router.get("/api/config", include_in_schema=False)
async def config(request: Request) -> Response:
    authenticate(request, optional=True)
    base = f"{request.url.scheme}://{request.url.netloc}{request.scope.get('root_path', '')}"
    world = _world(request)
    return json_response(
        {
            "object": "config",
            "version": world.settings.server_version,
            "gitHash": "sleepwalk",
            "server": None,
            "featureStates": {},
            "environment": {
                "vault": base,
                "api": f"{base}/api",
                "identity": f"{base}/identity",
                "notifications": f"{base}/notifications",
                "sso": "",
            },
            "communication": None,
        }
    )


def _profile(account: Account) -> dict[str, Any]:
    return {
        "object": "profile",
        "id": account.id,
        "name": account.spec.name,
        "email": account.email,
        "emailVerified": True,
        "premium": account.spec.premium,
        "premiumFromOrganization": False,
        "culture": "en-US",
        "twoFactorEnabled": False,
        "key": account.keys.protected_user_key,
        "privateKey": account.keys.wrapped_private_key,
        "securityStamp": account.security_stamp,
        "forcePasswordReset": False,
        "usesKeyConnector": False,
        "avatarColor": None,
        "creationDate": iso_millis(account.revision_date),
        "organizations": [],
        "providers": [],
        "providerOrganizations": [],
    }


def _cipher_json(cipher: Cipher) -> dict[str, Any]:
    data = cipher.data
    return {
        "object": "cipherDetails",
        "id": cipher.id,
        "organizationId": data.get("organizationId"),
        "folderId": data.get("folderId"),
        "type": data["type"],
        "name": data["name"],
        "notes": data.get("notes"),
        "favorite": bool(data.get("favorite", False)),
        "reprompt": data.get("reprompt") or 0,
        "key": data.get("key"),
        "login": data.get("login"),
        "secureNote": data.get("secureNote"),
        "card": data.get("card"),
        "identity": data.get("identity"),
        "sshKey": data.get("sshKey"),
        "fields": data.get("fields") or [],
        "passwordHistory": data.get("passwordHistory") or [],
        "attachments": None,
        "collectionIds": data.get("collectionIds") or [],
        "organizationUseTotp": False,
        "edit": True,
        "viewPassword": True,
        "permissions": {"delete": True, "restore": True},
        "creationDate": iso_millis(cipher.creation_date),
        "revisionDate": iso_millis(cipher.revision_date),
        "deletedDate": iso_millis(cipher.deleted_date),
        "archivedDate": None,
    }


@router.get("/api/sync", include_in_schema=False)
async def sync(request: Request) -> Response:
    account = authenticate(request)
    assert account is not None
    world = _world(request)
    kdf = account.spec.kdf
    return json_response(
        {
            "object": "sync",
            "profile": _profile(account),
            "folders": [],
            "collections": [],
            "policies": [],
            "sends": [],
            "domains": None,
            "ciphers": [_cipher_json(cipher) for cipher in world.store.user_ciphers(account.id)],
            "userDecryption": {
                "masterPasswordUnlock": {
                    "kdf": kdf_fields(kdf),
                    "salt": account.email,
                    "masterKeyEncryptedUserKey": account.keys.protected_user_key,
                    "masterKeyWrappedUserKey": account.keys.protected_user_key,
                },
                "userKeyId": account.user_key_id,
            },
        }
    )


@router.get("/api/accounts/revision-date", include_in_schema=False)
async def revision_date(request: Request) -> Response:
    account = authenticate(request)
    assert account is not None
    return json_response(int(account.revision_date.timestamp() * 1000))


@router.get("/api/accounts/profile", include_in_schema=False)
async def profile(request: Request) -> Response:
    account = authenticate(request)
    assert account is not None
    return json_response(_profile(account))


@router.post("/api/accounts/key-management/user-key-id", include_in_schema=False)
async def user_key_id(request: Request) -> Response:
    account = authenticate(request)
    assert account is not None
    body = await _parse(request, UserKeyIdRequest)
    account.user_key_id = body.userKeyId
    return Response(status_code=200)


@router.post("/api/accounts/verify-password", include_in_schema=False)
async def verify_password(request: Request) -> Response:
    account = authenticate(request)
    assert account is not None
    body = await _parse(request, VerifyPasswordRequest)
    if not verify_server_password_hash(account.keys.master_password_hash, body.masterPasswordHash):
        return bitwarden_error(400, "Invalid password.", {"MasterPasswordHash": ["Invalid password."]})
    return json_response({"object": "masterPasswordPolicy"})


def _touch(account: Account, now: datetime) -> None:
    # Clients compare the revision date with their last sync to decide whether to fetch (§6.5).
    account.revision_date = max(account.revision_date, now)


def _store_cipher(world: World, account: Account, body: CipherRequest, collection_ids: list[str]) -> Cipher:
    now = world.clock.now()
    data = body.model_dump(by_alias=True)
    data["collectionIds"] = collection_ids
    cipher = Cipher(id=str(uuid.uuid4()), user_id=account.id, data=data, creation_date=now, revision_date=now)
    world.store.ciphers[cipher.id] = cipher
    _touch(account, now)
    return cipher


@router.post("/api/ciphers", include_in_schema=False)
async def create_cipher(request: Request) -> Response:
    account = authenticate(request)
    assert account is not None
    body = await _parse(request, CipherRequest)
    return json_response(_cipher_json(_store_cipher(_world(request), account, body, [])))


@router.post("/api/ciphers/create", include_in_schema=False)
async def create_cipher_with_collections(request: Request) -> Response:
    account = authenticate(request)
    assert account is not None
    body = await _parse(request, CipherCreateRequest)
    return json_response(_cipher_json(_store_cipher(_world(request), account, body.cipher, body.collectionIds)))


def _owned_cipher(world: World, account: Account, cipher_id: str) -> Cipher:
    cipher = world.store.ciphers.get(cipher_id)
    if cipher is None or cipher.user_id != account.id:
        raise HttpProblem(bitwarden_error(404, "Resource not found."))
    return cipher


@router.get("/api/ciphers/{cipher_id}", include_in_schema=False)
async def get_cipher(request: Request, cipher_id: str) -> Response:
    account = authenticate(request)
    assert account is not None
    return json_response(_cipher_json(_owned_cipher(_world(request), account, cipher_id)))


@router.put("/api/ciphers/{cipher_id}", include_in_schema=False)
async def update_cipher(request: Request, cipher_id: str) -> Response:
    account = authenticate(request)
    assert account is not None
    world = _world(request)
    cipher = _owned_cipher(world, account, cipher_id)
    body = await _parse(request, CipherRequest)
    now = world.clock.now()
    cipher.data = {**body.model_dump(by_alias=True), "collectionIds": cipher.data.get("collectionIds", [])}
    cipher.revision_date = now
    _touch(account, now)
    return json_response(_cipher_json(cipher))


@router.put("/api/ciphers/{cipher_id}/delete", include_in_schema=False)
async def soft_delete_cipher(request: Request, cipher_id: str) -> Response:
    account = authenticate(request)
    assert account is not None
    world = _world(request)
    cipher = _owned_cipher(world, account, cipher_id)
    now = world.clock.now()
    cipher.deleted_date = cipher.revision_date = now
    _touch(account, now)
    return Response(status_code=200)


@router.delete("/api/ciphers/{cipher_id}", include_in_schema=False)
async def delete_cipher(request: Request, cipher_id: str) -> Response:
    account = authenticate(request)
    assert account is not None
    world = _world(request)
    _owned_cipher(world, account, cipher_id)
    del world.store.ciphers[cipher_id]
    _touch(account, world.clock.now())
    return Response(status_code=200)


@router.post("/events/collect", include_in_schema=False)
async def collect_events(request: Request) -> Response:
    authenticate(request)
    return Response(status_code=200)


@router.get("/api/alive", include_in_schema=False)
async def alive(request: Request) -> Response:
    return json_response(iso_millis(_world(request).clock.now()))


@router.get("/api/now", include_in_schema=False)
async def server_now(request: Request) -> Response:
    return json_response(iso_millis(_world(request).clock.now()))
