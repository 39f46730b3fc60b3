"""The Identity service: prelogin and `/identity/connect/token` with the password, refresh and API-key grants.

Error answers follow Duende IdentityServer as the official server runs it (server-protocol.md §9): a missing or
unknown grant type is `unsupported_grant_type`, an unknown client `invalid_client`, missing credentials or a
dead refresh token `invalid_grant`, a refresh request without a token `invalid_request`. The official server
delays a wrong password by 2 s; the mock does not, because tests run in virtual time.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from starlette.responses import Response

from mock_identity_server.crypto import KdfSettings, verify_server_password_hash
from mock_identity_server.journal import JournalEntry
from mock_identity_server.responses import json_response, oauth_error
from mock_identity_server.settings import RefreshTokenUsage
from mock_identity_server.store import Account, RefreshGrant
from mock_identity_server.world import World

__all__ = ["kdf_fields", "parse_form", "router"]

router = APIRouter()

_WRONG_PASSWORD = "Username or password is incorrect. Try again."
_PASSWORD_CLIENTS = {"cli", "web", "browser", "desktop", "mobile", "connector"}


def parse_form(body: bytes) -> dict[str, str]:
    """Form fields with lower-cased names: clients differ in case and vaultwarden reads them case-insensitively."""
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        return {}
    return {name.lower(): value for name, value in pairs}


def kdf_fields(kdf: KdfSettings) -> dict[str, Any]:
    return {
        "kdfType": kdf.kdf_type,
        "iterations": kdf.iterations,
        "memory": kdf.memory_mib,
        "parallelism": kdf.parallelism,
    }


def _prelogin_body(world: World, email: str) -> dict[str, Any]:
    account = world.store.find_account(email)
    kdf = account.spec.kdf if account else KdfSettings()
    return {
        "kdf": kdf.kdf_type,
        "kdfIterations": kdf.iterations,
        "kdfMemory": kdf.memory_mib,
        "kdfParallelism": kdf.parallelism,
        "kdfSettings": kdf_fields(kdf),
        "salt": email.strip().lower(),
    }


async def _prelogin(request: Request) -> Response:
    world: World = request.state.world
    try:
        payload = await request.json()
        email = payload.get("email") or payload.get("Email")
    except (ValueError, AttributeError, RecursionError):
        email = None
    if not isinstance(email, str) or not email.strip():
        return json_response(
            {
                "message": "The model state is invalid.",
                "validationErrors": {"Email": ["The Email field is required."]},
                "object": "error",
            },
            400,
        )
    return json_response(_prelogin_body(world, email))


router.add_api_route("/identity/accounts/prelogin/password", _prelogin, methods=["POST"], include_in_schema=False)
router.add_api_route("/identity/accounts/prelogin", _prelogin, methods=["POST"], include_in_schema=False)
router.add_api_route("/api/accounts/prelogin", _prelogin, methods=["POST"], include_in_schema=False)


@router.post("/identity/connect/token", include_in_schema=False)
async def token(request: Request) -> Response:
    world: World = request.state.world
    entry: JournalEntry | None = getattr(request.state, "journal_entry", None)
    content_type = request.headers.get("content-type", "")
    if "application/x-www-form-urlencoded" not in content_type:
        return oauth_error("invalid_request", "Content type must be application/x-www-form-urlencoded.")
    # The world router has parsed the form for the journal already.
    form = getattr(request.state, "form", None) or parse_form(await request.body())
    grant_type = form.get("grant_type", "")
    now = world.clock.now()
    if grant_type == "password":
        return _password_grant(request, world, form, now, entry)
    if grant_type == "refresh_token":
        return _refresh_grant(request, world, form, now, entry)
    if grant_type == "client_credentials":
        return _client_credentials_grant(request, world, form, now, entry)
    return oauth_error("unsupported_grant_type")


def _issuer(request: Request) -> str:
    # From the scope, not request.url: building a URL object costs more than the rest of a refresh's claims.
    return f"{request.scope['scheme']}://{request.headers.get('host', 'localhost')}"


def _issue_access_token(
    request: Request,
    world: World,
    account: Account,
    *,
    client_id: str,
    scope: tuple[str, ...],
    device_id: str,
    now: datetime,
    lifetime: float,
    entry: JournalEntry | None,
) -> tuple[str, int]:
    issued = int(now.timestamp())
    expires = issued + round(lifetime)
    jti = world.next_token_jti()
    claims = {
        "nbf": issued,
        "iat": issued,
        "exp": expires,
        "iss": _issuer(request),
        "sub": account.id,
        "auth_time": issued,
        "idp": "bitwarden",
        "premium": account.spec.premium,
        "name": account.spec.name,
        "email": account.email,
        "email_verified": True,
        "sstamp": account.security_stamp,
        "device": device_id,
        "client_id": client_id,
        "scope": list(scope),
        "amr": ["Application"],
        "jti": jti,
    }
    if entry is not None:
        entry.issued_token_id = jti
        entry.issued_token_expires_virtual = datetime.fromtimestamp(expires, UTC)
        entry.user_id = account.id
    return world.signer.issue(claims), round(lifetime)


def _login_body(account: Account, access_token: str, expires_in: int, scope: tuple[str, ...]) -> dict[str, Any]:
    kdf = account.spec.kdf
    keys = account.keys
    unlock = {
        "Kdf": {
            "KdfType": kdf.kdf_type,
            "Iterations": kdf.iterations,
            "Memory": kdf.memory_mib,
            "Parallelism": kdf.parallelism,
        },
        "Salt": account.email,
        "MasterKeyEncryptedUserKey": keys.protected_user_key,
        # Some client builds read this older name; both carry the same value (server-protocol.md §6.3).
        "MasterKeyWrappedUserKey": keys.protected_user_key,
    }
    return {
        "access_token": access_token,
        "expires_in": expires_in,
        "token_type": "Bearer",
        "scope": " ".join(scope),
        "Key": keys.protected_user_key,
        "PrivateKey": keys.wrapped_private_key,
        "Kdf": kdf.kdf_type,
        "KdfIterations": kdf.iterations,
        "KdfMemory": kdf.memory_mib,
        "KdfParallelism": kdf.parallelism,
        "ResetMasterPassword": False,
        "ForcePasswordReset": False,
        "UserDecryptionOptions": {
            "HasMasterPassword": True,
            "MasterPasswordUnlock": unlock,
            "Object": "userDecryptionOptions",
        },
        # The client checks this one with exact camelCase keys (server-protocol.md §5).
        "AccountKeys": {
            "publicKeyEncryptionKeyPair": {
                "wrappedPrivateKey": keys.wrapped_private_key,
                "publicKey": keys.public_key,
            }
        },
    }


def _password_grant(
    request: Request, world: World, form: dict[str, str], now: datetime, entry: JournalEntry | None
) -> Response:
    client_id = form.get("client_id", "")
    if client_id not in _PASSWORD_CLIENTS:
        return oauth_error("invalid_client")
    username, password = form.get("username", ""), form.get("password", "")
    if not username or not password:
        return oauth_error("invalid_grant", error_model_message=_WRONG_PASSWORD)
    device_id = form.get("deviceidentifier", "")
    if not device_id or not form.get("devicetype"):
        return oauth_error("invalid_grant", error_model_message="No device information provided.")
    account = world.store.find_account(username)
    if account is None or not verify_server_password_hash(account.keys.master_password_hash, password):
        return oauth_error("invalid_grant", "invalid_username_or_password", error_model_message=_WRONG_PASSWORD)
    scope = tuple(form.get("scope", "api offline_access").split())
    settings = world.settings
    access_token, expires_in = _issue_access_token(
        request,
        world,
        account,
        client_id=client_id,
        scope=scope,
        device_id=device_id,
        now=now,
        lifetime=settings.access_token_lifetime,
        entry=entry,
    )
    body = _login_body(account, access_token, expires_in, scope)
    if "offline_access" in scope:
        grant = RefreshGrant(
            handle=secrets.token_hex(32).upper(),
            user_id=account.id,
            client_id=client_id,
            device_id=device_id,
            scope=scope,
            security_stamp=account.security_stamp,
            created_at=now,
            last_used_at=now,
        )
        world.store.add_grant(grant)
        body["refresh_token"] = grant.handle
    return json_response(body)


def _client_credentials_grant(
    request: Request, world: World, form: dict[str, str], now: datetime, entry: JournalEntry | None
) -> Response:
    client_id = form.get("client_id", "")
    account = world.store.accounts.get(client_id.removeprefix("user.")) if client_id.startswith("user.") else None
    secret = form.get("client_secret", "")
    if account is None or not secrets.compare_digest(secret.encode(), account.api_key_secret.encode()):
        return oauth_error("invalid_client")
    scope = tuple(form.get("scope", "api").split())
    if "api" not in scope:
        return oauth_error("invalid_scope")
    settings = world.settings
    access_token, expires_in = _issue_access_token(
        request,
        world,
        account,
        client_id=client_id,
        scope=("api",),
        device_id=form.get("deviceidentifier", str(uuid.uuid4())),
        now=now,
        lifetime=settings.api_key_token_lifetime or settings.access_token_lifetime,
        entry=entry,
    )
    # API-key logins get no refresh token: the client repeats this grant to "refresh" (server-protocol.md §6.3).
    return json_response(_login_body(account, access_token, expires_in, ("api",)))


def _refresh_rejection(world: World, grant: RefreshGrant | None, client_id: str, now: datetime) -> str | None:
    """Why a refresh token is refused, in words for the journal; None when it is good."""
    if grant is None:
        return "unknown refresh token"
    settings = world.settings
    if grant.revoked:
        return "refresh token revoked"
    if grant.client_id != client_id:
        return f"refresh token belongs to client {grant.client_id!r}, not {client_id!r}"
    account = world.store.accounts.get(grant.user_id)
    if account is None:
        return "account deleted"
    if account.security_stamp != grant.security_stamp:
        return "security stamp changed since login"
    absolute = settings.refresh_token_absolute_lifetime
    if absolute is not None and now > grant.created_at + timedelta(seconds=absolute):
        return "refresh token past its absolute lifetime"
    sliding = settings.refresh_token_sliding_lifetime
    if sliding is not None and now > grant.last_used_at + timedelta(seconds=sliding):
        return "refresh token past its sliding lifetime"
    if grant.consumed_at is not None:
        # Without a grace period there is no window at all, even at the instant of use: a frozen clock makes
        # "used again in the same second" the common case, and it must still be refused.
        grace = settings.refresh_token_grace_period
        in_grace = grace > 0 and now <= grant.consumed_at + timedelta(seconds=grace)
        if settings.refresh_token_usage is not RefreshTokenUsage.ONE_TIME or not in_grace:
            return "one-time refresh token used again"
    return None


def _refresh_grant(
    request: Request, world: World, form: dict[str, str], now: datetime, entry: JournalEntry | None
) -> Response:
    handle = form.get("refresh_token", "")
    if not handle:
        return oauth_error("invalid_request")
    client_id = form.get("client_id", "")
    grant = world.store.grants.get(handle)
    rejection = _refresh_rejection(world, grant, client_id, now)
    if rejection is not None or grant is None:
        if entry is not None:
            entry.note = rejection
        return oauth_error("invalid_grant")
    account = world.store.accounts[grant.user_id]
    if entry is not None:
        entry.token_id = handle[:12]
    access_token, expires_in = _issue_access_token(
        request,
        world,
        account,
        client_id=grant.client_id,
        scope=grant.scope,
        device_id=grant.device_id,
        now=now,
        lifetime=world.settings.access_token_lifetime,
        entry=entry,
    )
    returned = grant
    if world.settings.refresh_token_usage is RefreshTokenUsage.ONE_TIME:
        if grant.consumed_at is None:
            grant.consumed_at = now
        returned = RefreshGrant(
            handle=secrets.token_hex(32).upper(),
            user_id=grant.user_id,
            client_id=grant.client_id,
            device_id=grant.device_id,
            scope=grant.scope,
            security_stamp=grant.security_stamp,
            created_at=grant.created_at,
            last_used_at=now,
        )
        world.store.add_grant(returned)
    else:
        grant.last_used_at = now
    return json_response(
        {
            "access_token": access_token,
            "expires_in": expires_in,
            "token_type": "Bearer",
            "refresh_token": returned.handle,
            "scope": " ".join(grant.scope),
        }
    )
