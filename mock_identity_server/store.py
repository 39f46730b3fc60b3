"""A world's data: accounts with their keys, refresh grants, ciphers and folders.

Plain in-memory objects; one `Store` per world. The store holds no clock: callers pass the instant, so every
time decision stays with the world's virtual clock.
"""

from __future__ import annotations

import secrets
import string
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mock_identity_server.crypto import AccountKeys, KdfSettings, derive_account_keys, shared_rsa_key_pair

__all__ = ["Account", "AccountSpec", "Cipher", "RefreshGrant", "Store"]

_SECRET_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class AccountSpec:
    """What an account is created from; kept so a world reset can rebuild its seeded account."""

    email: str
    password: str
    name: str = "QA Tester"
    kdf: KdfSettings = field(default_factory=KdfSettings)
    premium: bool = False


@dataclass
class Account:
    id: str
    spec: AccountSpec
    keys: AccountKeys
    api_key_secret: str
    security_stamp: str
    revision_date: datetime
    user_key_id: str | None = None

    @property
    def email(self) -> str:
        return self.spec.email.strip().lower()

    @property
    def api_client_id(self) -> str:
        return f"user.{self.id}"


@dataclass
class RefreshGrant:
    """One refresh-token handle and the login it belongs to (a Duende persisted grant, in effect)."""

    handle: str
    user_id: str
    client_id: str
    device_id: str
    scope: tuple[str, ...]
    security_stamp: str
    created_at: datetime
    last_used_at: datetime
    consumed_at: datetime | None = None
    revoked: bool = False


@dataclass
class Cipher:
    id: str
    user_id: str
    data: dict[str, Any]
    creation_date: datetime
    revision_date: datetime
    deleted_date: datetime | None = None


class Store:
    """Accounts, grants and ciphers of one world."""

    def __init__(self, key_cache: dict[AccountSpec, AccountKeys] | None = None) -> None:
        self.accounts: dict[str, Account] = {}
        self.grants: dict[str, RefreshGrant] = {}
        self.ciphers: dict[str, Cipher] = {}
        # Key derivation costs a PBKDF2/Argon2 run; worlds seeded with the same spec, and world resets, share the
        # result (the keys are a pure function of the spec but for the random user key, which may be shared).
        self.key_cache: dict[AccountSpec, AccountKeys] = {} if key_cache is None else key_cache

    def create_account(
        self, spec: AccountSpec, now: datetime, *, account_id: str | None = None, api_key_secret: str | None = None
    ) -> Account:
        if self.find_account(spec.email) is not None:
            raise ValueError(f"An account for {spec.email!r} exists already; use another email address.")
        keys = self.key_cache.get(spec)
        if keys is None:
            keys = derive_account_keys(spec.email, spec.password, spec.kdf, shared_rsa_key_pair())
            self.key_cache[spec] = keys
        account = Account(
            id=account_id or str(uuid.uuid4()),
            spec=spec,
            keys=keys,
            api_key_secret=api_key_secret or "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(30)),
            security_stamp=str(uuid.uuid4()),
            revision_date=now,
        )
        self.accounts[account.id] = account
        return account

    def find_account(self, email: str) -> Account | None:
        wanted = email.strip().lower()
        return next((account for account in self.accounts.values() if account.email == wanted), None)

    def rotate_security_stamp(self, account: Account, now: datetime) -> None:
        account.security_stamp = str(uuid.uuid4())
        account.revision_date = now

    def add_grant(self, grant: RefreshGrant) -> None:
        self.grants[grant.handle] = grant

    def revoke_grants(self, user_id: str | None = None) -> int:
        revoked = 0
        for grant in self.grants.values():
            if (user_id is None or grant.user_id == user_id) and not grant.revoked:
                grant.revoked = True
                revoked += 1
        return revoked

    def user_ciphers(self, user_id: str) -> list[Cipher]:
        return [cipher for cipher in self.ciphers.values() if cipher.user_id == user_id]
