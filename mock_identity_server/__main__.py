"""`python -m mock_identity_server`: serve the mock over HTTPS and print how to reach it.

It binds the socket itself before starting uvicorn, so the printed URL (also with `--port 0`) is listening by the
time it is printed, and it writes the same facts to `<data-dir>/server.json` for tools that find a running
server without parsing output.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import os
import socket
import sys
from pathlib import Path
from typing import Any

import uvicorn

from mock_identity_server.app import DEFAULT_EMAIL, DEFAULT_PASSWORD, ConnectionDropped, create_app
from mock_identity_server.clock import VirtualClock, host_now
from mock_identity_server.crypto import KdfSettings
from mock_identity_server.settings import (
    PRESETS,
    ServerSettings,
    SettingsError,
    preset_settings,
    updated_settings,
)
from mock_identity_server.store import AccountSpec
from mock_identity_server.tls import ensure_tls_files

DEFAULT_DATA_DIR = Path(os.environ.get("SLEEPWALK_HOME", Path.home() / ".cache" / "sleepwalk")) / "server"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mock_identity_server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8443, help="port; 0 picks a free one (default 8443)")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="certificates and server.json")
    parser.add_argument("--preset", choices=sorted(PRESETS), help="token settings of a real server")
    parser.add_argument("--access-token-lifetime", type=float, help="seconds (default 10)")
    parser.add_argument("--leeway", type=float, help="seconds of clock skew allowed on exp/nbf")
    parser.add_argument("--email", default=DEFAULT_EMAIL, help=f"seeded account (default {DEFAULT_EMAIL})")
    parser.add_argument("--password", default=DEFAULT_PASSWORD, help="its master password")
    parser.add_argument(
        "--kdf",
        choices=("pbkdf2", "argon2id"),
        default="pbkdf2",
        help="the seeded account's KDF: PBKDF2-SHA256 600000 (default) or Argon2id (3, 64 MiB, 4)",
    )
    parser.add_argument(
        "--control-token",
        default=os.environ.get("SLEEPWALK_CONTROL_TOKEN"),
        help="required header value for /_control/ (needed when --host is not loopback)",
    )
    parser.add_argument(
        "--clock",
        choices=("running", "frozen"),
        default="running",
        help="start the virtual clock following real time (default) or frozen",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of the text summary")
    parser.add_argument("--log-level", default="warning", choices=("debug", "info", "warning", "error"))
    return parser


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _settings(args: argparse.Namespace) -> ServerSettings:
    settings = preset_settings(args.preset) if args.preset else ServerSettings()
    changes: dict[str, Any] = {}
    if args.access_token_lifetime is not None:
        changes["access_token_lifetime"] = args.access_token_lifetime
    if args.leeway is not None:
        changes["leeway"] = args.leeway
    return updated_settings(settings, changes)


class _DropFaultFilter(logging.Filter):
    """Keeps uvicorn from logging a `close` fault as an application crash."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not _is_loopback(args.host) and not args.control_token:
        print(
            f"Refusing to serve the control API on {args.host!r} without a control token: anyone on that network "
            "could move the clock and read tokens. Pass --control-token (or set SLEEPWALK_CONTROL_TOKEN), "
            "or listen on 127.0.0.1.",
            file=sys.stderr,
        )
        return 2
    try:
        settings = _settings(args)
        kdf = KdfSettings.argon2id() if args.kdf == "argon2id" else KdfSettings.pbkdf2()
        seed = AccountSpec(email=args.email, password=args.password, kdf=kdf)
    except (SettingsError, ValueError) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    tls = ensure_tls_files(args.data_dir)
    clock = VirtualClock(host_now(), running=args.clock == "running")
    app = create_app(settings, clock, seed=seed, control_token=args.control_token)
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        print(
            f"Cannot listen on {args.host}:{args.port}: {exc.strerror}. Pick another --port (0 = any free).",
            file=sys.stderr,
        )
        return 2
    sock.listen(2048)
    port = sock.getsockname()[1]
    host_in_url = f"[{args.host}]" if ":" in args.host else args.host
    account = app.state.worlds.default.seeded_account
    facts = {
        "url": f"https://{host_in_url}:{port}",
        "port": port,
        "pid": os.getpid(),
        "ca_cert": str(tls.ca_cert.resolve()),
        "control_token_required": args.control_token is not None,
        "account": {
            "email": account.email,
            "password": args.password,
            "id": account.id,
            "client_id": account.api_client_id,
            "client_secret": account.api_key_secret,
        },
    }
    _write_facts(args.data_dir / "server.json", facts)
    if args.json:
        print(json.dumps(facts), flush=True)
    else:
        print(
            f"sleepwalk mock server listening on {facts['url']}\n"
            f"  trust its CA:     NODE_EXTRA_CA_CERTS={facts['ca_cert']}\n"
            f"  account:          {account.email} / {args.password}\n"
            f"  API key:          BW_CLIENTID={account.api_client_id} BW_CLIENTSECRET={account.api_key_secret}\n"
            f"  control API docs: {facts['url']}/docs\n"
            f"  clock:            {clock.now().isoformat()} ({args.clock})",
            flush=True,
        )
    logging.getLogger("uvicorn.error").addFilter(_DropFaultFilter())
    config = uvicorn.Config(
        app,
        ssl_certfile=str(tls.server_cert),
        ssl_keyfile=str(tls.server_key),
        log_level=args.log_level,
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        (args.data_dir / "server.json").unlink(missing_ok=True)
    return 0


def _write_facts(path: Path, facts: dict[str, Any]) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(facts, indent=2))
    os.replace(temporary, path)


if __name__ == "__main__":
    sys.exit(main())
