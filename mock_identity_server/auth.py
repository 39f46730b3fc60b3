"""Bearer-token checks for the API, journaling each verdict.

The official API answers an invalid token with 401 and the JwtBearerHandler header, and a valid token without
scope `api` with 403 (policy in bitwarden/server `src/Api/Startup.cs`); both with an empty body by default.
"""

from __future__ import annotations

from fastapi import Request

from mock_identity_server.journal import JournalEntry
from mock_identity_server.responses import HttpProblem, unauthorized
from mock_identity_server.store import Account
from mock_identity_server.tokens import TokenValidation, TokenVerdict, expired_at
from mock_identity_server.world import World

__all__ = ["authenticate", "bearer_token"]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def authenticate(request: Request, *, optional: bool = False) -> Account | None:
    """The account behind the request's bearer token; raises HttpProblem with the 401/403 to send otherwise.

    With `optional`, a request without any Authorization header is anonymous (None), as `/api/config` allows.
    """
    world: World = request.state.world
    token = bearer_token(request)
    if token is None and optional:
        return None
    settings = world.settings
    result = world.signer.validate(
        token,
        now=world.clock.now(),
        leeway=settings.leeway,
        enforced_lifetime=settings.enforced_access_token_lifetime,
    )
    if result.ok and result.claims is not None and world.force_expired(result.claims.jti):
        result = expired_at(result.claims, world.expired_at or world.clock.now())
    account = world.store.accounts.get(result.claims.sub) if result.ok and result.claims else None
    if result.ok and account is None:
        result = TokenValidation(TokenVerdict.UNKNOWN_USER, result.claims, 'Bearer error="invalid_token"')
    status = 401
    if account is not None and result.claims is not None and "api" not in result.claims.scope:
        result, status = TokenValidation(TokenVerdict.INSUFFICIENT_SCOPE, result.claims), 403
    _journal(request, result)
    if account is None or status != 401:
        raise HttpProblem(unauthorized(result.www_authenticate, empty_body=settings.empty_error_bodies, status=status))
    return account


def _journal(request: Request, result: TokenValidation) -> None:
    entry: JournalEntry | None = getattr(request.state, "journal_entry", None)
    if entry is None:
        return
    entry.token_verdict = result.verdict.value
    if result.claims is not None:
        entry.token_id = result.claims.jti
        entry.user_id = result.claims.sub
