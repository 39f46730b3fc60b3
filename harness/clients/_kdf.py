"""The client side of Bitwarden's login crypto: the master-password hash a client sends on the password grant.

The reference client computes it itself, as a real client does, from the prelogin KDF settings
(server-protocol.md §12 steps 1, 2 and 4): master key = PBKDF2-SHA256 or Argon2id of the password, then one
PBKDF2 round with the password as salt.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from typing import Any

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

__all__ = ["login_password_hash"]


def login_password_hash(email: str, password: str, prelogin: dict[str, Any]) -> str:
    """The `password` field of the password grant, from the prelogin answer's KDF settings."""
    settings = prelogin.get("kdfSettings") or {}
    kdf_type = int(settings.get("kdfType", prelogin.get("kdf", 0)))
    iterations = int(settings.get("iterations") or prelogin.get("kdfIterations") or 600_000)
    memory = int(settings.get("memory") or prelogin.get("kdfMemory") or 64)
    lanes = int(settings.get("parallelism") or prelogin.get("kdfParallelism") or 4)
    salt = (prelogin.get("salt") or email).strip().lower()
    return _password_hash(salt, password, kdf_type, iterations, memory, lanes)


# A pure function of its inputs that costs a 600 000-round PBKDF2: a scenario suite logs in the same user hundreds
# of times, and a real client would keep the derived key in memory too.
@functools.lru_cache(maxsize=64)
def _password_hash(salt_text: str, password: str, kdf_type: int, iterations: int, memory: int, lanes: int) -> str:
    salt = salt_text.encode()
    secret = password.encode()
    if kdf_type == 1:
        kdf = Argon2id(
            salt=hashlib.sha256(salt).digest(), length=32, iterations=iterations, lanes=lanes, memory_cost=memory * 1024
        )
        master_key = kdf.derive(secret)
    else:
        master_key = hashlib.pbkdf2_hmac("sha256", secret, salt, iterations, 32)
    return base64.b64encode(hashlib.pbkdf2_hmac("sha256", master_key, secret, 1, 32)).decode()
