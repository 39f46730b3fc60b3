"""Access tokens: signed JWTs with the claims Bitwarden clients read, and their validation against a clock.

Tokens are HS256-signed with a per-world secret. The official server signs RS256, but clients never check the
signature (client-behavior.md §3), and HMAC keeps a refresh grant cheap enough to benchmark the server rather
than RSA. Validation failures carry the `WWW-Authenticate` text of ASP.NET Core's JwtBearerHandler, which is
what the official API sends (server-protocol.md §8).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

__all__ = [
    "AccessTokenClaims",
    "TokenSigner",
    "TokenValidation",
    "TokenVerdict",
    "b64url_decode",
    "b64url_encode",
    "expired_at",
]


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenVerdict(StrEnum):
    """How the server judged the bearer token of a request; journaled with every authenticated request."""

    VALID = "valid"
    MISSING = "missing"
    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad-signature"
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    UNKNOWN_USER = "unknown-user"
    INSUFFICIENT_SCOPE = "insufficient-scope"


@dataclass(frozen=True)
class AccessTokenClaims:
    """The claims of an issued access token that the server itself needs again."""

    jti: str
    sub: str
    client_id: str
    scope: tuple[str, ...]
    issued_at: int
    not_before: int
    expires_at: int
    raw: dict[str, Any]


@dataclass(frozen=True)
class TokenValidation:
    """The result of checking a bearer token: the verdict, the claims when readable, and the 401 header."""

    verdict: TokenVerdict
    claims: AccessTokenClaims | None = None
    www_authenticate: str = "Bearer"

    @property
    def ok(self) -> bool:
        return self.verdict is TokenVerdict.VALID


_SIGNED_CACHE_SIZE = 4096


def _aspnet_date(epoch_seconds: int) -> str:
    # JwtBearerHandler formats with the invariant culture: MM/dd/yyyy HH:mm:ss, UTC.
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%m/%d/%Y %H:%M:%S")


def _invalid_token(description: str | None) -> str:
    if description is None:
        return 'Bearer error="invalid_token"'
    return f'Bearer error="invalid_token", error_description="{description}"'


def expired_at(claims: AccessTokenClaims, instant: datetime) -> TokenValidation:
    """The verdict on a token the tester declared expired at `instant` (`POST /_control/expire`)."""
    description = f"The token expired at '{_aspnet_date(int(instant.timestamp()))}'"
    return TokenValidation(TokenVerdict.EXPIRED, claims, _invalid_token(description))


class TokenSigner:
    """Issues and validates HS256 access tokens for one world."""

    _HEADER = b64url_encode(json.dumps({"alg": "HS256", "typ": "at+jwt"}, separators=(",", ":")).encode())

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)
        self._signed: dict[str, AccessTokenClaims] = {}

    def issue(self, claims: dict[str, Any]) -> str:
        """Sign `claims` (which must already hold `jti`, `exp`, ...) into a compact JWT."""
        payload = b64url_encode(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = f"{self._HEADER}.{payload}"
        signature = hmac.new(self._secret, signing_input.encode("ascii"), hashlib.sha256).digest()
        return f"{signing_input}.{b64url_encode(signature)}"

    def validate(
        self, token: str | None, *, now: datetime, leeway: float, enforced_lifetime: float | None = None
    ) -> TokenValidation:
        """Judge `token` at instant `now`, allowing `leeway` seconds of clock skew on `exp` and `nbf`."""
        if not token:
            return TokenValidation(TokenVerdict.MISSING, www_authenticate="Bearer")
        claims = self._signed.get(token)
        if claims is None:
            checked = self._check_signature(token)
            if isinstance(checked, TokenValidation):
                return checked
            claims = checked
        return self._judge_times(claims, now.timestamp(), leeway, enforced_lifetime)

    def _check_signature(self, token: str) -> AccessTokenClaims | TokenValidation:
        """The claims of a well-formed token with our signature (remembered), or the failed validation."""
        decoded = self._decode(token)
        if decoded is None:
            return TokenValidation(TokenVerdict.MALFORMED, www_authenticate=_invalid_token(None))
        header, payload, signing_input, signature = decoded
        claims = _claims_from(payload)
        if claims is None:
            return TokenValidation(TokenVerdict.MALFORMED, www_authenticate=_invalid_token(None))
        # alg "none" and any algorithm other than ours are signature failures, as in Microsoft.IdentityModel
        # (IDX10504 for unsigned tokens).
        expected = hmac.new(self._secret, signing_input, hashlib.sha256).digest()
        if header.get("alg") != "HS256" or not hmac.compare_digest(expected, signature):
            return TokenValidation(TokenVerdict.BAD_SIGNATURE, claims, _invalid_token("The signature is invalid"))
        # A token's signature and claims never change, only the clock does: a client presents the same token many
        # times, so remember it and re-judge only nbf/exp (half the cost of an authenticated GET otherwise).
        if len(self._signed) >= _SIGNED_CACHE_SIZE:
            self._signed.pop(next(iter(self._signed)))
        self._signed[token] = claims
        return claims

    @staticmethod
    def _judge_times(
        claims: AccessTokenClaims, instant: float, leeway: float, enforced_lifetime: float | None
    ) -> TokenValidation:
        if claims.not_before > instant + leeway:
            return TokenValidation(
                TokenVerdict.NOT_YET_VALID,
                claims,
                _invalid_token(f"The token is not valid before '{_aspnet_date(claims.not_before)}'"),
            )
        expires_at = claims.expires_at
        if enforced_lifetime is not None:
            expires_at = min(expires_at, int(claims.issued_at + enforced_lifetime))
        if instant > expires_at + leeway:
            return TokenValidation(
                TokenVerdict.EXPIRED,
                claims,
                _invalid_token(f"The token expired at '{_aspnet_date(expires_at)}'"),
            )
        return TokenValidation(TokenVerdict.VALID, claims, "")

    @staticmethod
    def _decode(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes] | None:
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            header = json.loads(b64url_decode(parts[0]))
            payload = json.loads(b64url_decode(parts[1]))
            signature = b64url_decode(parts[2])
        # RecursionError: the C JSON decoder gives up on deeply nested arrays that way, not with ValueError.
        except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
            return None
        if not isinstance(header, dict) or not isinstance(payload, dict):
            return None
        return header, payload, f"{parts[0]}.{parts[1]}".encode("ascii", "replace"), signature


def _claims_from(payload: dict[str, Any]) -> AccessTokenClaims | None:
    try:
        scope = payload.get("scope", [])
        return AccessTokenClaims(
            jti=str(payload.get("jti", "")),
            sub=str(payload["sub"]),
            client_id=str(payload.get("client_id", "")),
            scope=tuple(scope if isinstance(scope, list) else str(scope).split()),
            issued_at=int(payload.get("iat", payload.get("nbf", 0))),
            not_before=int(payload.get("nbf", 0)),
            expires_at=int(payload["exp"]),
            raw=payload,
        )
    # OverflowError: JSON allows 1e400, which is float infinity and has no int.
    except (KeyError, TypeError, ValueError, OverflowError):
        return None
