"""Count full and resumed TLS handshakes that a server on 127.0.0.1 answers, by sniffing the loopback interface.

    sudo .venv/bin/python bench/tls_handshakes.py PORT [--seconds 3]

Reads every packet on `lo` (an AF_PACKET socket: root only) for a few seconds and classifies each TLS
ServerHello sent from PORT: with the `pre_shared_key` extension (41) the server accepted a session ticket, a
resumed handshake without certificate or signature; without it, a full handshake. Use it while wrk runs in
new-connection mode to see what each new connection costs the server (bench/README.md). A TLS 1.3 ServerHello is
sent in clear text, so nothing needs decrypting. Loopback only; it never sends a packet.
"""

from __future__ import annotations

import argparse
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
PRE_SHARED_KEY = 41


def server_hello_extensions(payload: bytes) -> set[int] | None:
    """Extension types of the ServerHello at the start of `payload` (a TLS record), or None if it is not one."""
    if len(payload) < 44 or payload[0] != 0x16 or payload[5] != 0x02:
        return None
    offset = 5 + 4 + 2 + 32  # record header, handshake header, legacy_version, random
    offset += 1 + payload[offset]  # legacy_session_id
    offset += 2 + 1  # cipher_suite, legacy_compression_method
    if offset + 2 > len(payload):
        return None
    (length,) = struct.unpack_from("!H", payload, offset)
    offset += 2
    end = min(offset + length, len(payload))
    found = set()
    while offset + 4 <= end:
        kind, size = struct.unpack_from("!HH", payload, offset)
        found.add(kind)
        offset += 4 + size
    return found


def count(port: int, seconds: float) -> dict[str, int]:
    sniffer = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(ETH_P_ALL))
    sniffer.bind(("lo", 0))
    sniffer.settimeout(0.2)
    full = resumed = 0
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            try:
                frame, address = sniffer.recvfrom(65535)
            except TimeoutError:
                continue
            if address[2] == socket.PACKET_OUTGOING:  # lo shows each packet twice: as sent and as received
                continue
            if frame[12:14] != b"\x08\x00":  # IPv4 only: the benchmark binds 127.0.0.1
                continue
            ip = frame[14:]
            if ip[9] != socket.IPPROTO_TCP:
                continue
            tcp = ip[(ip[0] & 0x0F) * 4 :]
            if struct.unpack_from("!H", tcp)[0] != port:
                continue
            extensions = server_hello_extensions(tcp[(tcp[12] >> 4) * 4 :])
            if extensions is None:
                continue
            if PRE_SHARED_KEY in extensions:
                resumed += 1
            else:
                full += 1
    finally:
        sniffer.close()
    return {"full": full, "resumed": resumed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/tls_handshakes.py", description=__doc__)
    parser.add_argument("port", type=int, help="the server's port on 127.0.0.1")
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args(argv)
    try:
        result = count(args.port, args.seconds)
    except PermissionError:
        print("Sniffing the loopback interface needs root (an AF_PACKET socket).", file=sys.stderr)
        return 2
    total = result["full"] + result["resumed"]
    print(f"{total} TLS handshakes answered by port {args.port}: {result['full']} full, {result['resumed']} resumed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
