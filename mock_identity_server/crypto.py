"""Bitwarden client-side cryptography, as the mock needs it to create accounts the real CLI can unlock.

The recipe follows docs/server-protocol.md section 12: the master key comes from PBKDF2-HMAC-SHA256 or
Argon2id over the normalized email, is stretched with HKDF-Expand into an encryption and a MAC half, and
protects a random 64-byte user key that in turn wraps an RSA-2048 private key. Secrets travel as type 2
EncStrings (AES-256-CBC with HMAC-SHA256, encrypt-then-MAC). The server never learns the master key; it only
stores the one-iteration PBKDF2 "server hash" and compares it in constant time.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

__all__ = [
    "AccountKeys",
    "CryptoError",
    "KdfSettings",
    "decrypt_enc_string",
    "derive_account_keys",
    "derive_master_key",
    "derive_master_key_with_salt",
    "encrypt_enc_string",
    "generate_rsa_key_pair",
    "generate_symmetric_key",
    "local_password_hash",
    "normalize_email",
    "server_password_hash",
    "shared_rsa_key_pair",
    "stretch_master_key",
    "verify_server_password_hash",
]

KDF_PBKDF2 = 0
KDF_ARGON2ID = 1

# The minimums the Bitwarden client validates KDF settings against (bitwarden/clients kdf-config.ts).
PBKDF2_MIN_ITERATIONS = 5_000
ARGON2_MIN_ITERATIONS = 2
ARGON2_MIN_MEMORY_MIB = 16
ARGON2_MIN_PARALLELISM = 1

_ENC_STRING_TYPE = "2"
_IV_LENGTH = 16
_MAC_LENGTH = 32
_SYMMETRIC_KEY_LENGTH = 64


class CryptoError(Exception):
    """An EncString is malformed, was encrypted under another key, or has been tampered with."""


@dataclass(frozen=True)
class KdfSettings:
    """KDF parameters as prelogin reports them: type 0 is PBKDF2-SHA256, type 1 is Argon2id.

    Example: ``KdfSettings.argon2id(iterations=3, memory_mib=64, parallelism=4)``.
    """

    kdf_type: int = KDF_PBKDF2
    iterations: int = 600_000
    memory_mib: int | None = None
    parallelism: int | None = None

    def __post_init__(self) -> None:
        if self.kdf_type == KDF_PBKDF2:
            if self.iterations < PBKDF2_MIN_ITERATIONS:
                raise ValueError(
                    f"PBKDF2 needs at least {PBKDF2_MIN_ITERATIONS} iterations, got {self.iterations!r}; "
                    f"the Bitwarden client refuses fewer, so use iterations >= {PBKDF2_MIN_ITERATIONS}."
                )
        elif self.kdf_type == KDF_ARGON2ID:
            if self.iterations < ARGON2_MIN_ITERATIONS:
                raise ValueError(
                    f"Argon2id needs at least {ARGON2_MIN_ITERATIONS} iterations, got {self.iterations!r}; "
                    f"use iterations >= {ARGON2_MIN_ITERATIONS}."
                )
            if self.memory_mib is None or self.parallelism is None:
                raise ValueError(
                    f"Argon2id needs both memory_mib and parallelism, got memory_mib={self.memory_mib!r} "
                    f"and parallelism={self.parallelism!r}; use KdfSettings.argon2id() for the defaults."
                )
            if self.memory_mib < ARGON2_MIN_MEMORY_MIB:
                raise ValueError(
                    f"Argon2id needs at least {ARGON2_MIN_MEMORY_MIB} MiB of memory, got "
                    f"memory_mib={self.memory_mib!r}; use memory_mib >= {ARGON2_MIN_MEMORY_MIB}."
                )
            if self.parallelism < ARGON2_MIN_PARALLELISM:
                raise ValueError(
                    f"Argon2id needs a parallelism of at least {ARGON2_MIN_PARALLELISM}, got "
                    f"{self.parallelism!r}; use parallelism >= {ARGON2_MIN_PARALLELISM}."
                )
        else:
            raise ValueError(
                f"The KDF type must be 0 (PBKDF2) or 1 (Argon2id), got {self.kdf_type!r}; "
                "use KdfSettings.pbkdf2() or KdfSettings.argon2id()."
            )

    @classmethod
    def pbkdf2(cls, iterations: int = 600_000) -> KdfSettings:
        """PBKDF2-HMAC-SHA256 settings (KDF type 0)."""
        return cls(kdf_type=KDF_PBKDF2, iterations=iterations)

    @classmethod
    def argon2id(cls, iterations: int = 3, memory_mib: int = 64, parallelism: int = 4) -> KdfSettings:
        """Argon2id settings (KDF type 1); the defaults are Bitwarden's."""
        return cls(kdf_type=KDF_ARGON2ID, iterations=iterations, memory_mib=memory_mib, parallelism=parallelism)


def normalize_email(email: str) -> str:
    """The email as the client uses it for the salt: surrounding whitespace removed, lower-cased."""
    return email.strip().lower()


def derive_master_key(password: str, email: str, kdf: KdfSettings) -> bytes:
    """The 32-byte master key for ``password``, salted with the normalized ``email``."""
    return derive_master_key_with_salt(password, normalize_email(email).encode("utf-8"), kdf)


def derive_master_key_with_salt(password: str, salt: bytes, kdf: KdfSettings) -> bytes:
    """The 32-byte master key for ``password`` with an explicit salt (the normalized email in practice)."""
    password_bytes = password.encode("utf-8")
    if kdf.kdf_type == KDF_PBKDF2:
        return hashlib.pbkdf2_hmac("sha256", password_bytes, salt, kdf.iterations, dklen=32)
    # __post_init__ guarantees both are set for Argon2id; the asserts narrow the types for mypy.
    assert kdf.memory_mib is not None
    assert kdf.parallelism is not None
    # Unlike PBKDF2, the client feeds Argon2id SHA-256(salt), not the salt itself (server-protocol.md
    # section 12, step 2; bitwarden/sdk-internal bitwarden-crypto); the raw email gives a different key.
    argon = Argon2id(
        salt=hashlib.sha256(salt).digest(),
        length=32,
        iterations=kdf.iterations,
        lanes=kdf.parallelism,
        memory_cost=kdf.memory_mib * 1024,
    )
    return argon.derive(password_bytes)


def stretch_master_key(master_key: bytes) -> bytes:
    """The 64-byte stretched master key: HKDF-Expand(SHA-256) with info ``enc`` then ``mac``.

    Bitwarden uses the master key directly as the PRK, with no HKDF-Extract step.
    """
    enc = HKDFExpand(algorithm=hashes.SHA256(), length=32, info=b"enc").derive(master_key)
    mac = HKDFExpand(algorithm=hashes.SHA256(), length=32, info=b"mac").derive(master_key)
    return enc + mac


def server_password_hash(master_key: bytes, password: str) -> str:
    """The hash the client sends as the ``password`` form field: one PBKDF2 round, base64."""
    return _password_hash(master_key, password, iterations=1)


def local_password_hash(master_key: bytes, password: str) -> str:
    """The hash the client keeps to verify the password offline: two PBKDF2 rounds, base64; never sent."""
    return _password_hash(master_key, password, iterations=2)


def _password_hash(master_key: bytes, password: str, *, iterations: int) -> str:
    digest = hashlib.pbkdf2_hmac("sha256", master_key, password.encode("utf-8"), iterations, dklen=32)
    return base64.b64encode(digest).decode("ascii")


def verify_server_password_hash(expected: str, presented: str) -> bool:
    """Whether ``presented`` equals the stored server hash, compared in constant time."""
    return hmac.compare_digest(expected.encode("utf-8"), presented.encode("utf-8"))


def generate_symmetric_key() -> bytes:
    """A random 64-byte key: bytes 0-31 encrypt, bytes 32-63 authenticate."""
    return secrets.token_bytes(_SYMMETRIC_KEY_LENGTH)


def _split_key(key: bytes) -> tuple[bytes, bytes]:
    if len(key) != _SYMMETRIC_KEY_LENGTH:
        raise CryptoError(
            f"An EncString key must be {_SYMMETRIC_KEY_LENGTH} bytes (encryption half and MAC half), "
            f"got {len(key)} bytes; stretch a master key or use generate_symmetric_key()."
        )
    return key[:32], key[32:]


def encrypt_enc_string(plaintext: bytes, key: bytes, iv: bytes | None = None) -> str:
    """Encrypt ``plaintext`` as a type 2 EncString, ``2.<iv>|<ct>|<mac>`` in base64.

    ``iv`` is random unless given; pass one only to make output reproducible in tests.
    """
    enc_key, mac_key = _split_key(key)
    if iv is None:
        iv = secrets.token_bytes(_IV_LENGTH)
    elif len(iv) != _IV_LENGTH:
        raise CryptoError(f"The IV must be {_IV_LENGTH} bytes, got {len(iv)} bytes; pass None for a random one.")
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES256(enc_key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    mac = hmac.digest(mac_key, iv + ciphertext, "sha256")
    parts = (base64.b64encode(part).decode("ascii") for part in (iv, ciphertext, mac))
    return f"{_ENC_STRING_TYPE}." + "|".join(parts)


def decrypt_enc_string(enc_string: str, key: bytes) -> bytes:
    """Verify and decrypt a type 2 EncString; raise CryptoError if it is malformed or fails the MAC check."""
    enc_key, mac_key = _split_key(key)
    enc_type, dot, body = enc_string.partition(".")
    if not dot or enc_type != _ENC_STRING_TYPE:
        # Types 0 (no MAC) and the RSA types are never valid for symmetric data the mock reads.
        raise CryptoError(
            f"Expected a type 2 EncString ('2.<iv>|<ct>|<mac>'), got type {enc_type!r} in {enc_string!r}."
        )
    parts = body.split("|")
    if len(parts) != 3:
        raise CryptoError(
            f"A type 2 EncString has 3 '|'-separated parts (iv, ciphertext, mac), got {len(parts)} in {enc_string!r}."
        )
    try:
        iv, ciphertext, mac = (base64.b64decode(part, validate=True) for part in parts)
    except binascii.Error as exc:
        raise CryptoError(f"The EncString {enc_string!r} contains invalid base64: {exc}.") from exc
    if len(iv) != _IV_LENGTH or len(mac) != _MAC_LENGTH:
        raise CryptoError(
            f"A type 2 EncString needs a {_IV_LENGTH}-byte IV and a {_MAC_LENGTH}-byte MAC, got "
            f"{len(iv)} and {len(mac)} bytes."
        )
    if not ciphertext or len(ciphertext) % 16:
        raise CryptoError(f"The ciphertext must be a non-empty multiple of 16 bytes, got {len(ciphertext)} bytes.")
    # Encrypt-then-MAC: authenticate before touching the ciphertext, so padding errors cannot leak anything.
    expected_mac = hmac.digest(mac_key, iv + ciphertext, "sha256")
    if not hmac.compare_digest(expected_mac, mac):
        raise CryptoError("The EncString MAC does not match: it was encrypted under another key or has been altered.")
    decryptor = Cipher(algorithms.AES256(enc_key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError as exc:
        raise CryptoError("The EncString decrypted to invalid PKCS#7 padding.") from exc


def generate_rsa_key_pair() -> tuple[bytes, bytes]:
    """A fresh RSA-2048 key pair as (PKCS#8 DER private key, SPKI DER public key)."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_der = private_key.private_bytes(
        encoding=serialization.Encoding.DER,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )
    public_der = private_key.public_key().public_bytes(
        encoding=serialization.Encoding.DER,
        format=serialization.PublicFormat.SubjectPublicKeyInfo,
    )
    return private_der, public_der


@functools.cache
def shared_rsa_key_pair() -> tuple[bytes, bytes]:
    """One RSA key pair per process, generated on first use.

    RSA-2048 generation takes 50-2000 ms and dominates mock start-up. Test worlds create many throwaway
    accounts whose RSA keys are only parsed, never used to protect anything, so sharing one pair between them
    costs no realism and saves that time per account.
    """
    return generate_rsa_key_pair()


@dataclass(frozen=True)
class AccountKeys:
    """Everything the server stores for an account, as a real client would have registered it."""

    kdf: KdfSettings
    master_password_hash: str
    user_key: bytes
    protected_user_key: str
    public_key: str
    wrapped_private_key: str


def derive_account_keys(
    email: str,
    password: str,
    kdf: KdfSettings,
    rsa_key_pair: tuple[bytes, bytes] | None = None,
) -> AccountKeys:
    """Derive the stored key material for a new account; a fresh RSA pair is generated unless one is given."""
    master_key = derive_master_key(password, email, kdf)
    user_key = generate_symmetric_key()
    private_der, public_der = rsa_key_pair if rsa_key_pair is not None else generate_rsa_key_pair()
    return AccountKeys(
        kdf=kdf,
        master_password_hash=server_password_hash(master_key, password),
        user_key=user_key,
        protected_user_key=encrypt_enc_string(user_key, stretch_master_key(master_key)),
        public_key=base64.b64encode(public_der).decode("ascii"),
        wrapped_private_key=encrypt_enc_string(private_der, user_key),
    )
