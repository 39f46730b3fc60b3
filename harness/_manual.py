"""Manual QA mode: find the server `sleepwalk serve` started, and steer it for clients the harness does not drive.

`sleepwalk serve` runs the mock server with a data directory (`$SLEEPWALK_HOME/server` by default), where the
server writes `server.json` (URL, CA certificate, PID, account) while it listens. Every other manual command
finds the server through that file, so QA types `sleepwalk sleep 20m` in a second terminal with no URL to copy.

The data directory also holds `client-clock-offset`, the offset file of the Node clock bridge: a `bw` CLI (or any
Node client) started with the environment `serve` prints has its clock moved by `sleep` as a real suspend would.
"""

from __future__ import annotations

import json
import os
import ssl
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from harness._durations import DurationError, parse_duration
from harness._errors import HarnessError
from harness.clients.bw import preload_node_options, write_clock_offset

__all__ = [
    "CLIENT_CLOCK_FILE",
    "ClockChange",
    "NoServerRunning",
    "RunningServer",
    "bridge_environment",
    "default_data_dir",
    "describe_request",
    "parse_clock_change",
    "parse_iso",
]

CLIENT_CLOCK_FILE = "client-clock-offset"
_CONTROL_TOKEN_HEADER = "X-Sleepwalk-Control-Token"


class NoServerRunning(HarnessError):
    """No `sleepwalk serve` is running for the data directory asked about."""


def default_data_dir() -> Path:
    """Where `sleepwalk serve` and `python -m mock_identity_server` keep certificates and `server.json`."""
    home = os.environ.get("SLEEPWALK_HOME")
    return (Path(home) if home else Path.home() / ".cache" / "sleepwalk") / "server"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but another user's
        return True
    return True


@dataclass(frozen=True)
class RunningServer:
    """The facts of a listening server, read from its `server.json`."""

    url: str
    ca_cert: Path
    pid: int
    account: dict[str, Any]
    data_dir: Path

    @classmethod
    def find(cls, data_dir: Path | None = None) -> RunningServer:
        """The server serving `data_dir`; NoServerRunning with the fix when there is none."""
        folder = data_dir or default_data_dir()
        facts_file = folder / "server.json"
        try:
            facts = json.loads(facts_file.read_text())
        except FileNotFoundError:
            raise NoServerRunning(
                f"No sleepwalk server is running: {facts_file} does not exist; start one with `sleepwalk serve` "
                "(or pass the --data-dir it was started with)."
            ) from None
        except (OSError, ValueError) as exc:
            raise NoServerRunning(
                f"Cannot read {facts_file} ({exc}); restart the server with `sleepwalk serve`."
            ) from exc
        if not _pid_alive(int(facts.get("pid", 0))):
            raise NoServerRunning(
                f"No sleepwalk server is running: {facts_file} names PID {facts.get('pid')}, which has exited; "
                "start one with `sleepwalk serve`."
            )
        return cls(facts["url"], Path(facts["ca_cert"]), int(facts["pid"]), facts.get("account") or {}, folder)

    @property
    def client_clock_file(self) -> Path:
        return self.data_dir / CLIENT_CLOCK_FILE

    def http(self, *, timeout: float = 30.0) -> httpx.Client:
        headers = {}
        token = os.environ.get("SLEEPWALK_CONTROL_TOKEN")
        if token:
            headers[_CONTROL_TOKEN_HEADER] = token
        verify = ssl.create_default_context(cafile=str(self.ca_cert))
        return httpx.Client(base_url=self.url, verify=verify, timeout=timeout, headers=headers)

    def client_clock_offset(self) -> float:
        """Seconds the bridged clients' clocks run ahead of real time."""
        try:
            text = self.client_clock_file.read_text().strip()
        except FileNotFoundError:
            return 0.0
        try:
            return float(text) / 1000 if text else 0.0
        except ValueError:
            return 0.0

    def set_client_clock_offset(self, seconds: float) -> None:
        """Move every bridged client's clock to real time + `seconds`, running clients included (atomic rewrite)."""
        write_clock_offset(self.client_clock_file, seconds)


def bridge_environment(server: RunningServer) -> dict[str, str]:
    """The environment that makes a Node client (the bw CLI) trust the server and follow `sleep`'s clock moves."""
    return {
        "NODE_EXTRA_CA_CERTS": str(server.ca_cert),
        "NODE_OPTIONS": preload_node_options(),
        "SLEEPWALK_CLOCK_OFFSET_FILE": str(server.client_clock_file),
    }


@dataclass(frozen=True)
class ClockChange:
    """What `sleepwalk clock ARG` asks for: a step forward, a step back, or an instant."""

    seconds: float | None = None
    instant: datetime | None = None


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def parse_clock_change(text: str) -> ClockChange:
    """`+1h` or `1h` forward, `-5m` back, or an ISO-8601 instant with a zone."""
    stripped = text.strip()
    sign = -1.0 if stripped.startswith("-") else 1.0
    body = stripped.lstrip("+-")
    try:
        return ClockChange(seconds=sign * parse_duration(body))
    except DurationError:
        pass
    try:
        instant = parse_iso(stripped)
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise HarnessError(
            f"Cannot read the clock change {text!r}; write a step like +1h, +20m or -5m, "
            "or an instant with a zone like 2026-01-15T10:00:00Z."
        )
    return ClockChange(instant=instant)


def _clock_part(instant: str | None) -> str:
    return instant[11:23] if instant else "--:--:--.---"


def describe_request(entry: dict[str, Any]) -> str:
    """One journal entry as one line: times, method, path, grant, token verdict, status, fault."""
    target = entry["path"] + (f"?{entry['query']}" if entry.get("query") else "")
    parts = [
        f"#{entry['seq']:<4}",
        f"virtual {entry['arrived_virtual'][:10]} {_clock_part(entry.get('arrived_virtual'))}",
        f"real {_clock_part(entry.get('arrived_real'))}",
        f"{entry['method']:<6} {target}",
    ]
    if entry.get("grant_type"):
        parts.append(f"grant={entry['grant_type']}")
    if entry.get("token_verdict"):
        parts.append(f"token {entry['token_verdict']}")
    status = entry.get("status")
    parts.append(f"-> {status}" if status is not None else "-> no answer")
    if entry.get("held"):
        parts.append("(held)")
    if entry.get("fault_id"):
        parts.append(f"(fault {entry['fault_id']}: {entry.get('fault_action')})")
    if entry.get("note"):
        parts.append(f"({entry['note']})")
    return "  ".join(parts)
