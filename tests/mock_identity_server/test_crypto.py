"""Tests for the Bitwarden client crypto recipe, against the vectors of docs/server-protocol.md section 12."""

from __future__ import annotations

import base64
import hmac

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from mock_identity_server.crypto import (
    AccountKeys,
    CryptoError,
    KdfSettings,
    decrypt_enc_string,
    derive_account_keys,
    derive_master_key,
    derive_master_key_with_salt,
    encrypt_enc_string,
    generate_rsa_key_pair,
    generate_symmetric_key,
    local_password_hash,
    normalize_email,
    server_password_hash,
    shared_rsa_key_pair,
    stretch_master_key,
    verify_server_password_hash,
)

PASSWORD = "asdfasdf"
VECTOR_PBKDF2 = KdfSettings.pbkdf2(iterations=100_000)
VECTOR_ARGON2ID = KdfSettings.argon2id(iterations=4, memory_mib=32, parallelism=2)
FAST_PBKDF2 = KdfSettings.pbkdf2(iterations=5_000)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def parts_of(enc_string: str) -> list[bytes]:
    assert enc_string.startswith("2.")
    return [base64.b64decode(part) for part in enc_string[2:].split("|")]


def with_byte_flipped(enc_string: str, part: int, index: int) -> str:
    raw = [bytearray(p) for p in parts_of(enc_string)]
    raw[part][index] ^= 0x01
    return "2." + "|".join(b64(bytes(p)) for p in raw)


@pytest.mark.parametrize("email", ["test@bitwarden.com", "TEST@bitwarden.com", " test@bitwarden.com"])
def test_pbkdf2_server_hash_matches_upstream_vector(email):
    master_key = derive_master_key(PASSWORD, email, VECTOR_PBKDF2)
    assert server_password_hash(master_key, PASSWORD) == "wmyadRMyBZOH7P/a/ucTCbSghKgdzDpPqUnu/DAVtSw="


def test_pbkdf2_derived_values_match_vectors():
    master_key = derive_master_key(PASSWORD, "test@bitwarden.com", VECTOR_PBKDF2)
    stretched = stretch_master_key(master_key)
    assert b64(master_key) == "j6LIxCM7M4VKobykynJczRKr3ji3SCcg3vTuoBgEkmg="
    assert len(stretched) == 64
    assert b64(stretched[:32]) == "ihT5SD1LlESnL2bRuxrtRxliXt2y3iyRLfuBX01Kjqg="
    assert b64(stretched[32:]) == "831k1y1vabEFMsawTcF9u8Nyj6LBUvES/HVurJ3ATXc="
    assert local_password_hash(master_key, PASSWORD) == "npf6w9mFGiNJZkg6QdWsiqZr94+ClKDTzF/B3XW4XV4="


def test_argon2id_matches_vectors():
    master_key = derive_master_key_with_salt(PASSWORD, b"test_salt", VECTOR_ARGON2ID)
    assert b64(master_key) == "YnVyODD8R9VCIKZDb9B7KQSGIyyZNvK9oWuVLA3yr3w="
    assert server_password_hash(master_key, PASSWORD) == "PR6UjYmjmppTYcdyTiNbAhPJuQQOmynKbdEl1oyi/iQ="


def test_argon2id_salts_with_the_normalized_email():
    kdf = KdfSettings.argon2id(iterations=2, memory_mib=16, parallelism=1)
    assert derive_master_key(PASSWORD, " Test_Salt ", kdf) == derive_master_key_with_salt(PASSWORD, b"test_salt", kdf)


def test_normalize_email():
    assert normalize_email("  Alice@Example.COM\n") == "alice@example.com"


def test_server_hash_is_44_base64_chars_and_differs_from_local_hash():
    master_key = derive_master_key(PASSWORD, "a@example.com", FAST_PBKDF2)
    server = server_password_hash(master_key, PASSWORD)
    assert len(server) == 44
    assert server != local_password_hash(master_key, PASSWORD)


def test_verify_server_password_hash():
    assert verify_server_password_hash("abc=", "abc=")
    assert not verify_server_password_hash("abc=", "abd=")
    assert not verify_server_password_hash("abc=", "")


@pytest.mark.parametrize(
    ("plaintext", "ct_length"),
    [(b"", 16), (b"x", 16), (b"15 bytes long!!", 16), (b"0123456789abcdef", 32), (bytes(64), 80)],
)
def test_enc_string_round_trips_with_pkcs7_length(plaintext, ct_length):
    key = generate_symmetric_key()
    enc = encrypt_enc_string(plaintext, key)
    iv, ciphertext, mac = parts_of(enc)
    assert len(iv) == 16
    assert len(ciphertext) == ct_length
    assert len(mac) == 32
    assert decrypt_enc_string(enc, key) == plaintext


def test_enc_string_text_form():
    key = generate_symmetric_key()
    enc = encrypt_enc_string(b"hello", key, iv=bytes(16))
    iv_b64, ct_b64, mac_b64 = enc[2:].split("|")
    assert enc.startswith("2.")
    assert iv_b64 == b64(bytes(16))
    assert len(iv_b64) == 24
    assert len(ct_b64) == 24
    assert len(mac_b64) == 44
    # A fixed IV makes the output deterministic; a random one does not repeat.
    assert enc == encrypt_enc_string(b"hello", key, iv=bytes(16))
    assert encrypt_enc_string(b"hello", key) != encrypt_enc_string(b"hello", key)


def test_encrypt_rejects_wrong_key_and_iv_sizes():
    with pytest.raises(CryptoError, match="64 bytes"):
        encrypt_enc_string(b"x", bytes(32))
    with pytest.raises(CryptoError, match="IV must be 16 bytes"):
        encrypt_enc_string(b"x", generate_symmetric_key(), iv=bytes(8))


def test_generate_symmetric_key_is_random_and_64_bytes():
    first, second = generate_symmetric_key(), generate_symmetric_key()
    assert len(first) == 64
    assert first != second


def test_tampered_mac_is_rejected():
    key = generate_symmetric_key()
    enc = encrypt_enc_string(b"secret", key)
    with pytest.raises(CryptoError, match="MAC does not match"):
        decrypt_enc_string(with_byte_flipped(enc, part=2, index=0), key)


def test_tampered_ciphertext_is_rejected():
    key = generate_symmetric_key()
    enc = encrypt_enc_string(b"secret", key)
    with pytest.raises(CryptoError, match="MAC does not match"):
        decrypt_enc_string(with_byte_flipped(enc, part=1, index=3), key)


def test_wrong_key_is_rejected():
    enc = encrypt_enc_string(b"secret", generate_symmetric_key())
    with pytest.raises(CryptoError, match="MAC does not match"):
        decrypt_enc_string(enc, generate_symmetric_key())


def test_bad_padding_is_rejected_after_a_valid_mac():
    # Only the key holder can produce a valid MAC over bad padding: here the ciphertext ends with zero bytes.
    key = generate_symmetric_key()
    iv = bytes(16)
    encryptor = Cipher(algorithms.AES256(key[:32]), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(bytes(16)) + encryptor.finalize()
    mac = hmac.digest(key[32:], iv + ciphertext, "sha256")
    enc = f"2.{b64(iv)}|{b64(ciphertext)}|{b64(mac)}"
    with pytest.raises(CryptoError, match="padding"):
        decrypt_enc_string(enc, key)


@pytest.mark.parametrize(
    ("enc_string", "message"),
    [
        ("0.AAAAAAAAAAAAAAAAAAAAAA==|AAAAAAAAAAAAAAAAAAAAAA==", "type '0'"),
        ("no dot at all", "type 'no dot at all'"),
        ("2.AAAAAAAAAAAAAAAAAAAAAA==|AAAAAAAAAAAAAAAAAAAAAA==", "got 2"),
        ("2.a|b|c|d", "got 4"),
        ("2.!!!!|AAAAAAAAAAAAAAAAAAAAAA==|AAAA", "invalid base64"),
        ("2.AAAA|AAAAAAAAAAAAAAAAAAAAAA==|" + b64(bytes(32)), "16-byte IV"),
        ("2." + b64(bytes(16)) + "|AAAA|" + b64(bytes(32)), "multiple of 16"),
        ("2." + b64(bytes(16)) + "||" + b64(bytes(32)), "multiple of 16"),
    ],
)
def test_malformed_enc_strings_are_rejected(enc_string, message):
    with pytest.raises(CryptoError, match=message):
        decrypt_enc_string(enc_string, generate_symmetric_key())


def test_decrypt_rejects_wrong_key_size():
    with pytest.raises(CryptoError, match="64 bytes"):
        decrypt_enc_string(encrypt_enc_string(b"x", generate_symmetric_key()), bytes(63))


def test_rsa_key_pair_sizes_and_loadable():
    private_der, public_der = generate_rsa_key_pair()
    assert len(public_der) == 294
    assert len(b64(public_der)) == 392
    assert 1_200 <= len(private_der) <= 1_220
    private_key = serialization.load_der_private_key(private_der, password=None)
    assert isinstance(private_key, rsa.RSAPrivateKey)
    assert private_key.key_size == 2048
    assert private_key.public_key().public_numbers().e == 65537


def test_shared_rsa_key_pair_is_cached():
    assert shared_rsa_key_pair() is shared_rsa_key_pair()


def test_account_keys_decrypt_back():
    email = "Alice@Example.com"
    keys = derive_account_keys(email, PASSWORD, FAST_PBKDF2, rsa_key_pair=shared_rsa_key_pair())
    assert isinstance(keys, AccountKeys)
    assert keys.kdf == FAST_PBKDF2
    master_key = derive_master_key(PASSWORD, "alice@example.com", FAST_PBKDF2)
    assert keys.master_password_hash == server_password_hash(master_key, PASSWORD)
    assert len(keys.user_key) == 64

    assert decrypt_enc_string(keys.protected_user_key, stretch_master_key(master_key)) == keys.user_key
    _iv, ciphertext, _mac = keys.protected_user_key[2:].split("|")
    assert len(ciphertext) == 108

    private_der = decrypt_enc_string(keys.wrapped_private_key, keys.user_key)
    private_key = serialization.load_der_private_key(private_der, password=None)
    public_der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert b64(public_der) == keys.public_key
    assert len(keys.public_key) == 392


def test_account_keys_generate_a_key_pair_when_none_is_given():
    keys = derive_account_keys("b@example.com", PASSWORD, FAST_PBKDF2)
    private_der = decrypt_enc_string(keys.wrapped_private_key, keys.user_key)
    assert isinstance(serialization.load_der_private_key(private_der, password=None), rsa.RSAPrivateKey)
    assert keys.public_key != b64(shared_rsa_key_pair()[1])


def test_account_keys_use_a_fresh_user_key_each_time():
    first = derive_account_keys("c@example.com", PASSWORD, FAST_PBKDF2, rsa_key_pair=shared_rsa_key_pair())
    second = derive_account_keys("c@example.com", PASSWORD, FAST_PBKDF2, rsa_key_pair=shared_rsa_key_pair())
    assert first.master_password_hash == second.master_password_hash
    assert first.user_key != second.user_key


def test_kdf_settings_defaults():
    assert KdfSettings() == KdfSettings.pbkdf2() == KdfSettings(kdf_type=0, iterations=600_000)
    assert KdfSettings.argon2id() == KdfSettings(kdf_type=1, iterations=3, memory_mib=64, parallelism=4)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kdf_type": 0, "iterations": 4_999}, "at least 5000 iterations, got 4999"),
        (
            {"kdf_type": 1, "iterations": 1, "memory_mib": 64, "parallelism": 4},
            "at least 2 iterations, got 1",
        ),
        ({"kdf_type": 1, "iterations": 3, "memory_mib": 15, "parallelism": 4}, "memory_mib=15"),
        ({"kdf_type": 1, "iterations": 3, "memory_mib": 64, "parallelism": 0}, "at least 1, got 0"),
        ({"kdf_type": 1, "iterations": 3, "parallelism": 4}, "memory_mib=None"),
        ({"kdf_type": 1, "iterations": 3, "memory_mib": 64}, "parallelism=None"),
        ({"kdf_type": 2}, "must be 0 .* or 1 .*, got 2"),
    ],
)
def test_kdf_settings_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        KdfSettings(**kwargs)


def test_kdf_settings_minimums_are_accepted():
    assert KdfSettings.pbkdf2(iterations=5_000).iterations == 5_000
    minimal = KdfSettings.argon2id(iterations=2, memory_mib=16, parallelism=1)
    assert (minimal.iterations, minimal.memory_mib, minimal.parallelism) == (2, 16, 1)
