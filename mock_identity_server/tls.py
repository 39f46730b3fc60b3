"""Certificate material for serving the mock over HTTPS, which the Bitwarden CLI requires from 2025.12.1 on.

`ensure_tls_files` keeps a private certificate authority and a leaf certificate for 127.0.0.1 in one
directory, reusing them when they are still usable and regenerating the whole set otherwise. Clients trust
`ca.pem` (the real CLI through `NODE_EXTRA_CA_CERTS`); the server presents `server.pem` with `server-key.pem`.
The CA's private key is discarded after signing, so the trusted CA can never vouch for anything else.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import logging
import os
import ssl
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["TlsFiles", "ensure_tls_files", "server_ssl_context"]

logger = logging.getLogger(__name__)

CA_CERT_NAME = "ca.pem"
SERVER_CERT_NAME = "server.pem"
SERVER_KEY_NAME = "server-key.pem"
_LOCK_NAME = ".tls.lock"

CA_COMMON_NAME = "sleepwalk local CA"
SERVER_COMMON_NAME = "127.0.0.1"

# Fixed, far-apart dates rather than "now plus a lifetime": tests shift client clocks by days or years, and
# the CLI checks certificate validity against its faked clock. A 30-day certificate with a +40-day client jump
# fails with "certificate has expired" (docs/real-cli.md section 6). Fixed dates also keep generation free of
# wall-clock reads.
NOT_VALID_BEFORE = datetime(2000, 1, 1, 0, 0, 0, tzinfo=UTC)
NOT_VALID_AFTER = datetime(2099, 12, 31, 23, 59, 59, tzinfo=UTC)

_SERVER_IPS = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))
_SERVER_DNS_NAMES = ("localhost",)


@dataclass(frozen=True)
class TlsFiles:
    """Paths of the PEM files: the CA to trust, and the leaf certificate and key the server presents."""

    ca_cert: Path
    server_cert: Path
    server_key: Path


def ensure_tls_files(directory: Path) -> TlsFiles:
    """Return usable certificate files in ``directory``, generating a fresh CA and leaf if needed.

    Existing files are reused when the leaf parses, covers 127.0.0.1 for the fixed validity period, is signed
    by ``ca.pem`` and matches ``server-key.pem``; anything else regenerates all three.
    """
    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(
        ca_cert=directory / CA_CERT_NAME,
        server_cert=directory / SERVER_CERT_NAME,
        server_key=directory / SERVER_KEY_NAME,
    )
    # Each file is replaced atomically, but the three must also match each other; the lock stops two
    # concurrent starts from interleaving, say, one process's CA with the other's leaf.
    with _directory_lock(directory / _LOCK_NAME):
        if _files_are_usable(files):
            logger.debug("Reusing TLS files in %s", directory)
        else:
            logger.info("Generating a local CA and server certificate in %s", directory)
            _generate(files)
    return files


def server_ssl_context(files: TlsFiles) -> ssl.SSLContext:
    """A server-side SSL context presenting the leaf certificate and its key."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile=files.server_cert, keyfile=files.server_key)
    return context


@contextlib.contextmanager
def _directory_lock(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _files_are_usable(files: TlsFiles) -> bool:
    try:
        ca_cert = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
        server_cert = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
        server_key = serialization.load_pem_private_key(files.server_key.read_bytes(), password=None)
        san = server_cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        server_cert.verify_directly_issued_by(ca_cert)
    except (OSError, ValueError, TypeError, x509.ExtensionNotFound, InvalidSignature) as exc:
        logger.debug("Existing TLS files are not usable: %r", exc)
        return False
    return (
        ipaddress.ip_address("127.0.0.1") in san.get_values_for_type(x509.IPAddress)
        and server_cert.not_valid_before_utc <= NOT_VALID_BEFORE
        and server_cert.not_valid_after_utc >= NOT_VALID_AFTER
        and server_key.public_key() == server_cert.public_key()
    )


def _generate(files: TlsFiles) -> None:
    # EC P-256 rather than RSA-2048: any TLS client accepts it and generating it takes microseconds, not the
    # 50-2000 ms of an RSA key.
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_COMMON_NAME)])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOT_VALID_BEFORE)
        .not_valid_after(NOT_VALID_AFTER)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    server_key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName(
        [x509.IPAddress(ip) for ip in _SERVER_IPS] + [x509.DNSName(name) for name in _SERVER_DNS_NAMES]
    )
    # Subject and authority key identifiers are optional for OpenSSL's default checks, but its strict mode
    # (the default in Python 3.13's create_default_context) refuses a chain without them.
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_COMMON_NAME)]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOT_VALID_BEFORE)
        .not_valid_after(NOT_VALID_AFTER)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(san, critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(server_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    key_pem = server_key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )
    # The key goes first and the CA last, so a reader that skips the lock sees a half-updated set as
    # unusable (key and leaf mismatch, or leaf not issued by the CA) rather than as valid.
    _write_atomically(files.server_key, key_pem, mode=0o600)
    _write_atomically(files.server_cert, server_cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    _write_atomically(files.ca_cert, ca_cert.public_bytes(serialization.Encoding.PEM), mode=0o644)


def _write_atomically(path: Path, data: bytes, *, mode: int) -> None:
    # mkstemp creates the file with mode 0600, so the key is never readable by others, even briefly.
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, mode)
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
