"""Tests for the mock's local CA and server certificate, including real TLS handshakes over loopback."""

from __future__ import annotations

import ipaddress
import shutil
import socket
import ssl
import stat
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mock_identity_server.tls import TlsFiles, ensure_tls_files, server_ssl_context

HANDSHAKE_TIMEOUT_S = 10


def load_cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def snapshot(files: TlsFiles) -> tuple[bytes, bytes, bytes]:
    return files.ca_cert.read_bytes(), files.server_cert.read_bytes(), files.server_key.read_bytes()


def handshake(files: TlsFiles, trusted_ca: Path, server_hostname: str) -> tuple[bytes, BaseException | None]:
    """Serve one TLS connection with ``files`` and connect to it trusting only ``trusted_ca``.

    Returns what the client read and the server-side error, if any; a client-side error propagates.
    """
    server_context = server_ssl_context(files)
    server_error: list[BaseException] = []

    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(HANDSHAKE_TIMEOUT_S)
        port = listener.getsockname()[1]

        def serve() -> None:
            try:
                conn, _ = listener.accept()
                with conn:
                    conn.settimeout(HANDSHAKE_TIMEOUT_S)
                    with server_context.wrap_socket(conn, server_side=True) as tls:
                        tls.sendall(b"ok")
            except (OSError, ssl.SSLError) as exc:
                server_error.append(exc)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            client_context = ssl.create_default_context(cafile=str(trusted_ca))
            assert client_context.check_hostname
            with (
                socket.create_connection(("127.0.0.1", port), timeout=HANDSHAKE_TIMEOUT_S) as raw,
                client_context.wrap_socket(raw, server_hostname=server_hostname) as tls,
            ):
                received = tls.recv(2)
        finally:
            thread.join(HANDSHAKE_TIMEOUT_S)
        assert not thread.is_alive()
    return received, (server_error[0] if server_error else None)


def test_creates_ca_and_server_certificate(tmp_path):
    files = ensure_tls_files(tmp_path / "tls")

    assert files == TlsFiles(
        ca_cert=tmp_path / "tls" / "ca.pem",
        server_cert=tmp_path / "tls" / "server.pem",
        server_key=tmp_path / "tls" / "server-key.pem",
    )
    ca = load_cert(files.ca_cert)
    server = load_cert(files.server_cert)

    assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "sleepwalk local CA"
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    ca_usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ca_usage.key_cert_sign
    assert ca_usage.crl_sign

    assert server.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "127.0.0.1"
    assert server.issuer == ca.subject
    server.verify_directly_issued_by(ca)
    assert not server.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    }
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    eku = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]

    for cert in (ca, server):
        assert cert.not_valid_before_utc == datetime(2000, 1, 1, tzinfo=UTC)
        assert cert.not_valid_after_utc == datetime(2099, 12, 31, 23, 59, 59, tzinfo=UTC)


def test_server_file_holds_only_the_leaf_and_key_matches(tmp_path):
    files = ensure_tls_files(tmp_path)
    assert files.server_cert.read_bytes().count(b"BEGIN CERTIFICATE") == 1
    key = serialization.load_pem_private_key(files.server_key.read_bytes(), password=None)
    assert key.public_key() == load_cert(files.server_cert).public_key()


def test_key_file_is_private_and_no_temp_files_remain(tmp_path):
    files = ensure_tls_files(tmp_path)
    assert stat.S_IMODE(files.server_key.stat().st_mode) == 0o600
    assert stat.S_IMODE(files.server_cert.stat().st_mode) == 0o644
    assert not list(tmp_path.glob("*.tmp"))


def test_second_call_reuses_files(tmp_path):
    first = ensure_tls_files(tmp_path)
    before = snapshot(first)
    second = ensure_tls_files(tmp_path)
    assert second == first
    assert snapshot(second) == before


def test_corrupted_server_certificate_is_regenerated(tmp_path):
    files = ensure_tls_files(tmp_path)
    old_ca = files.ca_cert.read_bytes()
    files.server_cert.write_bytes(b"-----BEGIN CERTIFICATE-----\nnot a certificate\n")

    ensure_tls_files(tmp_path)

    load_cert(files.server_cert).verify_directly_issued_by(load_cert(files.ca_cert))
    assert files.ca_cert.read_bytes() != old_ca


@pytest.mark.parametrize("missing", ["ca.pem", "server.pem", "server-key.pem"])
def test_missing_file_regenerates_the_set(tmp_path, missing):
    files = ensure_tls_files(tmp_path)
    before = snapshot(files)
    (tmp_path / missing).unlink()

    ensure_tls_files(tmp_path)

    after = snapshot(files)
    assert all(old != new for old, new in zip(before, after, strict=True))


def test_mismatched_key_or_ca_is_regenerated(tmp_path):
    files = ensure_tls_files(tmp_path / "a")
    other = ensure_tls_files(tmp_path / "b")
    shutil.copyfile(other.server_key, files.server_key)
    ensure_tls_files(tmp_path / "a")
    received, server_error = handshake(files, files.ca_cert, "127.0.0.1")
    assert (received, server_error) == (b"ok", None)

    shutil.copyfile(other.ca_cert, files.ca_cert)
    ensure_tls_files(tmp_path / "a")
    load_cert(files.server_cert).verify_directly_issued_by(load_cert(files.ca_cert))


@pytest.mark.parametrize("hostname", ["127.0.0.1", "localhost"])
def test_handshake_succeeds_when_trusting_ca(tmp_path, hostname):
    files = ensure_tls_files(tmp_path)
    received, server_error = handshake(files, files.ca_cert, hostname)
    assert received == b"ok"
    assert server_error is None


def test_handshake_fails_when_trusting_another_ca(tmp_path):
    files = ensure_tls_files(tmp_path / "server")
    stranger = ensure_tls_files(tmp_path / "stranger")
    with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer certificate"):
        handshake(files, stranger.ca_cert, "127.0.0.1")
