"""Reading JWT claims the way Bitwarden clients do: three dot-separated parts, the middle one base64url JSON, the
signature never checked (client-behavior.md §3)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

__all__ = ["jwt_claims"]


def jwt_claims(token: str) -> dict[str, Any]:
    """The claims of `token`; an empty dict when it is not a readable JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}
