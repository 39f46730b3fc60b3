"""Baseline 1 for bench/bench_server.py: a bare FastAPI app with one endpoint, served like our mock server.

`python bench/bare_app.py --data-dir DIR [--port 0]` serves `GET /ping` (a small JSON) over HTTPS with the
certificate files of the mock server's data dir, one uvicorn worker, uvicorn's defaults (uvloop + httptools when
installed, as they are in the venv) and the access log off: the same `uvicorn.Config` as
`mock_identity_server/__main__.py`, so the difference to our server is the application alone. It binds the
socket itself and prints one JSON line (url, port, pid) once it listens.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
from pathlib import Path

import uvicorn
from fastapi import FastAPI

app = FastAPI()


@app.get("/ping")
async def ping() -> dict[str, object]:
    return {"ok": True, "object": "ping"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--data-dir", type=Path, required=True, help="holds server.pem and server-key.pem")
    args = parser.parse_args(argv)
    cert, key = args.data_dir / "server.pem", args.data_dir / "server-key.pem"
    if not cert.is_file() or not key.is_file():
        print(f"No {cert} / {key}: start the mock server with --data-dir {args.data_dir} first.", file=sys.stderr)
        return 2
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(2048)
    port = sock.getsockname()[1]
    print(json.dumps({"url": f"https://{args.host}:{port}", "port": port, "pid": os.getpid()}), flush=True)
    config = uvicorn.Config(
        app,
        ssl_certfile=str(cert),
        ssl_keyfile=str(key),
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
