"""Manual QA mode: `serve` a mock server for any client, then steer it from a second terminal.

`sleep`, `clock`, `expire`, `revoke`, `fault`, `journal` and `reset` find the server through the `server.json`
that `serve` leaves in its data directory, and each says in words what it did.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import httpx
import typer

from harness._control import Control
from harness._durations import DurationError, format_duration, parse_duration
from harness._errors import HarnessError
from harness._manual import (
    NoServerRunning,
    RunningServer,
    bridge_environment,
    default_data_dir,
    parse_clock_change,
    parse_iso,
)
from harness._server import ServerProcess
from harness.cli._app import app, err, fail, out

PANEL = "Manual QA mode (against `sleepwalk serve`)"

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="The data directory of `sleepwalk serve` (default $SLEEPWALK_HOME/server)."),
]
#: Paths `sleep` does not hold unless told otherwise (`--exclude ''` holds anything).
DEFAULT_SLEEP_EXCLUDES = ["/api/config"]
# A negative step such as `-5m` must reach the argument, not be read as an option.
_NEGATIVE_ARGS = {"ignore_unknown_options": True}


def find_server(data_dir: Path | None) -> RunningServer:
    try:
        return RunningServer.find(data_dir)
    except NoServerRunning as exc:
        raise fail(str(exc)) from exc


@contextmanager
def control_of(server: RunningServer, timeout: float = 30.0) -> Iterator[Control]:
    """A control client for `server`; a refused or failed call ends the command with exit 2 and its sentence."""
    with server.http(timeout=timeout) as http:
        try:
            yield Control(http)
        except HarnessError as exc:
            raise fail(str(exc)) from exc


def _seconds(text: str, what: str) -> float:
    try:
        seconds = parse_duration(text)
    except DurationError as exc:
        raise fail(f"{what}: {exc}") from exc
    return seconds


def _time(instant: str) -> str:
    return instant[11:19] if len(instant) >= 19 else instant


# --- serve -------------------------------------------------------------------------------------------------


@app.command(rich_help_panel=PANEL)
def serve(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1; 0 picks a free one.")] = 8443,
    data_dir: DataDir = None,
    preset: Annotated[str | None, typer.Option(help="official, vaultwarden or strict token settings.")] = None,
    access_token_lifetime: Annotated[
        str | None, typer.Option(help="Access-token lifetime, e.g. 10s (default) or 1h.")
    ] = None,
    leeway: Annotated[str | None, typer.Option(help="Clock skew allowed on token expiry, e.g. 5m.")] = None,
    email: Annotated[str | None, typer.Option(help="The test account's email.")] = None,
    password: Annotated[str | None, typer.Option(help="The test account's master password.")] = None,
) -> None:
    """Start the mock server for any client (desktop, extension, web vault, mobile, bw) and print how to use it."""
    folder = data_dir or default_data_dir()
    try:
        running = RunningServer.find(folder)
    except NoServerRunning:
        running = None
    if running is not None:
        raise fail(
            f"A sleepwalk server is already running at {running.url} (PID {running.pid}) for {folder}; "
            "stop it with Ctrl-C in its terminal, or pass another --data-dir."
        )
    args = ["--port", str(port)]
    if preset:
        args += ["--preset", preset]
    if access_token_lifetime:
        args += ["--access-token-lifetime", str(_seconds(access_token_lifetime, "--access-token-lifetime"))]
    if leeway:
        args += ["--leeway", str(_seconds(leeway, "--leeway"))]
    if email:
        args += ["--email", email]
    if password:
        args += ["--password", password]
    try:
        process = ServerProcess.start(folder, *args)
    except HarnessError as exc:
        raise fail(str(exc)) from exc
    # SIGTERM (a CI job ending, `kill`) stops the server as Ctrl-C does; SIGINT too when a shell started us in
    # the background with it ignored.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    status: int | None = None
    try:
        server = RunningServer.find(folder)
        server.set_client_clock_offset(0)
        _print_serve_banner(server)
        status = process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        process.stop()
    if status is None:
        out.print(f"Stopped the sleepwalk server (PID {process.pid}).")
        return
    raise fail(f"The mock server exited by itself with status {status}; see {folder / 'server.log'}.")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _print_serve_banner(server: RunningServer) -> None:
    account = server.account
    env = bridge_environment(server)
    ca = server.ca_cert
    lines = [
        f"sleepwalk mock server listening on {server.url}  (PID {server.pid}; log {server.data_dir / 'server.log'})",
        "",
        f"Account:    {account.get('email')} / {account.get('password')}",
        f"API key:    client_id {account.get('client_id')}  client_secret {account.get('client_secret')}",
        f"CA to trust: {ca}",
        f"  bw CLI, Node clients:  export NODE_EXTRA_CA_CERTS={ca}",
        f"  Debian/Ubuntu:         sudo cp {ca} /usr/local/share/ca-certificates/sleepwalk.crt "
        "&& sudo update-ca-certificates",
        f"  macOS:                 sudo security add-trusted-cert -d -r trustRoot "
        f"-k /Library/Keychains/System.keychain {ca}",
        f"  Windows:               certutil -addstore -f Root {ca}",
        "  Firefox:               Settings > Privacy & Security > Certificates > View Certificates > "
        "Authorities > Import",
        f"  Android emulator:      adb push {ca} /sdcard/sleepwalk-ca.pem, then Settings > Security > "
        "Install a certificate > CA certificate; adb reverse tcp:PORT tcp:PORT to reach 127.0.0.1",
        "",
        f"Point the client at it: self-hosted server URL {server.url}",
        f"  bw CLI:  bw config server {server.url} && bw login {account.get('email')}",
        "So that `sleepwalk sleep` also moves the bw CLI's clock, as a real suspend would, start it with:",
        f"  export NODE_EXTRA_CA_CERTS={env['NODE_EXTRA_CA_CERTS']}",
        f"  export NODE_OPTIONS='{env['NODE_OPTIONS']}'",
        f"  export SLEEPWALK_CLOCK_OFFSET_FILE={env['SLEEPWALK_CLOCK_OFFSET_FILE']}",
        "",
        "From another terminal: sleepwalk sleep 20m | clock [+1h] | expire | revoke | fault ... | "
        "journal --follow | reset | report",
        "Ctrl-C stops the server.",
    ]
    for line in lines:
        out.print(line, markup=False)


# --- sleep -------------------------------------------------------------------------------------------------


@app.command(rich_help_panel=PANEL)
def sleep(
    duration: Annotated[str, typer.Argument(help="How long the host sleeps, e.g. 20m, 1h30m, 400s.")],
    timeout: Annotated[str, typer.Option(help="How long to wait for the client's next request.")] = "5m",
    path: Annotated[str, typer.Option(help="Only hold requests whose path matches this glob.")] = "*",
    exclude: Annotated[
        list[str] | None,
        typer.Option(help="Never hold these paths (globs); default /api/config, whose failure clients shrug off."),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Hold the client's next authenticated request, move the clocks by DURATION, then release it.

    GET /api/config is left alone by default: clients fetch their server config on the side and only log a
    failure, so a 401 there shows nothing about how they handle an expired token.
    """
    seconds = _seconds(duration, "sleep")
    if seconds <= 0:
        raise fail(f"A sleep of {duration!r} moves no clock; give a positive duration such as 20m.")
    wait_for = _seconds(timeout, "--timeout")
    server = find_server(data_dir)
    with control_of(server, timeout=wait_for + 30) as control:
        skipped = DEFAULT_SLEEP_EXCLUDES if exclude is None else [pattern for pattern in exclude if pattern]
        match = {"path": path, "authenticated": True, "exclude": skipped}
        fault = control.add_fault(match, {"kind": "hold"}, times=1)
        err.print(
            f"Holding the next request with a bearer token to {path}"
            + (f" (not {', '.join(skipped)})" if skipped else "")
            + f" for up to {format_duration(wait_for)}; "
            "now make the client talk to the server (e.g. `bw sync`)...",
            markup=False,
        )
        try:
            held = _wait_for_hold(control, wait_for)
        except KeyboardInterrupt:
            _disarm(control, fault["id"])
            err.print("Interrupted: the hold is removed and anything held released; no clock moved.")
            raise typer.Exit(130) from None
        if held is None:
            _disarm(control, fault["id"])
            out.print(
                f"No request with a bearer token reached the server within {format_duration(wait_for)}; "
                "nothing was held and no clock moved."
            )
            raise typer.Exit(1)
        try:
            before = control.clock()
            after = control.advance(seconds, reason="sleep")
            server.set_client_clock_offset(server.client_clock_offset() + seconds)
        finally:
            # Whatever went wrong (Ctrl-C included), the client's request must not stay parked.
            control.release()
        answer = _answer_to(server, held["journal_seq"])
    out.print(
        f"Held {held['method']} {held['path']} (request #{held['journal_seq']}) on its way to the server.",
        markup=False,
    )
    out.print(
        f"Slept {format_duration(seconds)}: server clock {_time(before['now'])} -> {_time(after['now'])}; "
        f"clients started with the clock bridge now run {server.client_clock_offset():+g} s ahead "
        f"({server.client_clock_file}).",
        markup=False,
    )
    out.print(f"Released it: {answer}.", markup=False)
    out.print("Watch what the client does next with `sleepwalk journal` (or `--follow`).")


def _wait_for_hold(control: Control, wait_for: float) -> dict[str, Any] | None:
    deadline = time.monotonic() + wait_for
    while (left := deadline - time.monotonic()) > 0:
        # The server caps one long poll at 300 s; longer waits take several.
        held = control.wait_for_holds(1, timeout=min(left, 60.0))
        if held:
            return held[0]
    return None


def _disarm(control: Control, fault_id: str) -> None:
    # It may have fired between the wait and now: then it is gone, and what it held is released below.
    with suppress(HarnessError):
        control.remove_fault(fault_id)
    control.release()


def _answer_to(server: RunningServer, seq: int, wait_for: float = 30.0) -> str:
    """How the server answered journal entry `seq`, read from the live journal stream once it is complete."""
    try:
        with (
            server.http(timeout=wait_for) as http,
            http.stream("GET", f"/_control/journal/stream?since={seq - 1}") as stream,
        ):
            for line in stream.iter_lines():
                entry = json.loads(line)
                if entry["seq"] == seq:
                    verdict = entry.get("token_verdict")
                    why = f" (token {verdict})" if verdict and verdict != "valid" else ""
                    status = entry.get("status")
                    return f"the server answered {status}{why}" if status else "the connection closed unanswered"
    except httpx.HTTPError:
        pass
    return f"its answer did not come within {format_duration(wait_for)}; see `sleepwalk journal`"


# --- clock, expire, revoke, reset ---------------------------------------------------------------------------


@app.command(context_settings=_NEGATIVE_ARGS, rich_help_panel=PANEL)
def clock(
    change: Annotated[
        str | None, typer.Argument(help="+1h / 20m forward, -5m back, or an instant like 2026-01-15T10:00:00Z.")
    ] = None,
    client_too: Annotated[
        bool, typer.Option("--client-too", help="Also move clients started with the clock bridge.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Show the server clock, or move it (alone: clock skew; with --client-too: both clocks)."""
    try:
        parsed = parse_clock_change(change) if change is not None else None
    except HarnessError as exc:
        raise fail(str(exc)) from exc
    server = find_server(data_dir)
    with control_of(server) as control:
        before = control.clock()
        if parsed is None:
            state = "running" if before["running"] else "frozen"
            out.print(
                f"Server clock: {before['now']} ({state}, {_signed(before['ahead'])} from real time); "
                f"bridged client clocks: {_signed(server.client_clock_offset())} from real time."
            )
            return
        if parsed.instant is not None:
            step = parsed.instant.timestamp() - before["epoch"]
            after = control.set_clock(parsed.instant.isoformat())
        else:
            assert parsed.seconds is not None
            step = parsed.seconds
            if step >= 0:
                after = control.advance(step, reason="advance" if client_too else "skew")
            else:
                target = parse_iso(before["now"]) + timedelta(seconds=step)
                after = control.set_clock(target.isoformat())
    if client_too:
        server.set_client_clock_offset(server.client_clock_offset() + step)
        whom = f"bridged client clocks moved with it ({_signed(server.client_clock_offset())} from real time)"
    else:
        whom = "client clocks unchanged, so the server now disagrees with them by that much (clock skew)"
    out.print(f"Server clock moved {_signed(step)}: {before['now']} -> {after['now']}; {whom}.")


def _signed(seconds: float) -> str:
    sign = "-" if seconds < 0 else "+"
    return f"{sign}{format_duration(abs(seconds))}"


@app.command(rich_help_panel=PANEL)
def expire(data_dir: DataDir = None) -> None:
    """Make every access token issued so far count as expired on the server."""
    server = find_server(data_dir)
    with control_of(server) as control:
        answer = control.expire()
    out.print(
        f"Declared all {answer['expired']} access token(s) issued so far expired (server clock {answer['at']}). "
        "A client's next request with one gets 401; a fixed client then refreshes only if its own clock also "
        "says the token has expired or is within 5 minutes of it."
    )


@app.command(rich_help_panel=PANEL)
def revoke(data_dir: DataDir = None) -> None:
    """Revoke every refresh token: the client's next refresh is answered 400 invalid_grant."""
    server = find_server(data_dir)
    with control_of(server) as control:
        revoked = control.revoke()
    out.print(
        f"Revoked {revoked} refresh token(s): the client's next refresh is answered 400 invalid_grant, "
        "and a client that gets it logs out, old and fixed alike."
    )


@app.command(rich_help_panel=PANEL)
def reset(data_dir: DataDir = None) -> None:
    """Put the server back as it started: clock, settings, faults, journal; the account is recreated."""
    server = find_server(data_dir)
    with control_of(server) as control:
        world = control.reset()
    server.set_client_clock_offset(0)
    account = world.get("account") or {}
    out.print(
        f"Reset the server: clock {world['clock']['now']}, faults removed, journal and events emptied, every "
        f"token void, bridged client clocks back to real time. The account {account.get('email')} is recreated "
        "with the same password and new keys: log the client in again."
    )
