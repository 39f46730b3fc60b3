"""Server settings: token lifetimes, validation leeway and refresh-token policy, plus the named presets.

Settings are frozen pydantic models; changing them at run time replaces the world's settings object, so a
request always sees one consistent set. Presets copy the behaviour of real servers (sources in
`../shared/docs/server-protocol.md` §7, §10, §11): `official` is bitwarden/server with its defaults,
`vaultwarden` is dani-garcia/vaultwarden, `strict` is our default: short tokens and no leeway, so expiry is exact.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = ["PRESETS", "RefreshTokenUsage", "ServerSettings", "SettingsError", "preset_settings"]

DAY = 86_400.0


class SettingsError(ValueError):
    """A settings change or preset name the server cannot apply; the message names the field and the fix."""


class RefreshTokenUsage(StrEnum):
    """What happens to a refresh token once it is used."""

    #: The same handle is returned and stays valid (the official server, Duende `RefreshTokenUsage.ReUse`).
    REUSE = "reuse"
    #: Each refresh consumes the handle and returns a new one; presenting a consumed handle is `invalid_grant`
    #: unless it is still inside `refresh_token_grace_period`.
    ONE_TIME = "one-time"


class ServerSettings(BaseModel):
    """Everything a world's token service decides by; every field can be changed at run time."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    access_token_lifetime: float = Field(default=10.0, gt=0, description="Seconds from issue to the JWT `exp`.")
    enforced_access_token_lifetime: float | None = Field(
        default=None,
        gt=0,
        description=(
            "Seconds after issue the server stops accepting an access token, whatever `exp` says; "
            "None follows `exp`. Lets a token look fresh to the client (exp far) while the server rejects it soon."
        ),
    )
    leeway: float = Field(
        default=0.0,
        ge=0,
        description="Clock skew allowed on `exp` and `nbf` (official 300 s, vaultwarden 30 s).",
    )
    refresh_token_sliding_lifetime: float | None = Field(
        default=30 * DAY,
        gt=0,
        description="Seconds a refresh token lives after its last use; None = no limit.",
    )
    refresh_token_absolute_lifetime: float | None = Field(
        default=None,
        gt=0,
        description="Seconds a refresh grant lives after the login at most; None = no cap.",
    )
    refresh_token_usage: RefreshTokenUsage = RefreshTokenUsage.REUSE
    refresh_token_grace_period: float = Field(
        default=0.0,
        ge=0,
        description="With one-time usage: seconds a consumed refresh token is still accepted (a reuse window).",
    )
    api_key_token_lifetime: float | None = Field(
        default=None, gt=0, description="Lifetime of client_credentials tokens; None = access_token_lifetime."
    )
    empty_error_bodies: bool = Field(
        default=True,
        description="Answer API 401/403 with an empty body as the official server does; False adds a JSON message.",
    )
    server_version: str = Field(default="2026.1.0", description="Version reported by /api/config.")


PRESETS: dict[str, dict[str, Any]] = {
    "official": {
        "access_token_lifetime": 3600.0,
        "leeway": 300.0,
        "refresh_token_usage": RefreshTokenUsage.REUSE,
        "refresh_token_sliding_lifetime": 30 * DAY,
        "refresh_token_absolute_lifetime": None,
    },
    # Vaultwarden issues a new refresh JWT on every refresh but keeps the old ones valid until their own exp
    # (30 days from issue), which for a client is reuse with an absolute lifetime.
    "vaultwarden": {
        "access_token_lifetime": 7200.0,
        "leeway": 30.0,
        "refresh_token_usage": RefreshTokenUsage.REUSE,
        "refresh_token_sliding_lifetime": None,
        "refresh_token_absolute_lifetime": 30 * DAY,
    },
    "strict": {
        "access_token_lifetime": 10.0,
        "leeway": 0.0,
        "refresh_token_usage": RefreshTokenUsage.REUSE,
        "refresh_token_sliding_lifetime": 30 * DAY,
        "refresh_token_absolute_lifetime": None,
    },
}


def preset_settings(name: str, base: ServerSettings | None = None) -> ServerSettings:
    """Settings of preset `name`, applied over `base` (defaults when None)."""
    try:
        values = PRESETS[name]
    except KeyError:
        raise SettingsError(f"Unknown preset {name!r}; choose one of {', '.join(sorted(PRESETS))}.") from None
    return updated_settings(base or ServerSettings(), values)


def updated_settings(current: ServerSettings, changes: dict[str, Any]) -> ServerSettings:
    """A copy of `current` with `changes` validated and applied."""
    try:
        return ServerSettings.model_validate({**current.model_dump(), **changes})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise SettingsError(f"Settings not changed: {problems}.") from exc
