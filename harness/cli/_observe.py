"""Manual QA mode, continued: inject faults (`fault`) and watch every request (`journal`)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import httpx
import typer

from harness._manual import describe_request
from harness.cli._app import app, err, fail, out
from harness.cli._manual import PANEL, DataDir, control_of, find_server

_KINDS = ("status", "delay", "close", "hold")
_BODIES = ("empty", "oauth", "bitwarden")


@app.command(rich_help_panel=PANEL)
def fault(
    kind: Annotated[
        str, typer.Argument(help="status (or a code such as 403), delay, close, hold; or `list`, `clear`.")
    ],
    path: Annotated[
        str, typer.Option(help="Glob on the request path, e.g. '/api/*', '/identity/connect/token'.")
    ] = "*",
    method: Annotated[str | None, typer.Option(help="Only this HTTP method.")] = None,
    grant: Annotated[str | None, typer.Option(help="Token endpoint only: password, refresh_token, ...")] = None,
    status: Annotated[int | None, typer.Option(help="For status: the code to answer (400-599).")] = None,
    body: Annotated[
        str, typer.Option(help="For status: empty, oauth (error JSON) or bitwarden (ErrorModel).")
    ] = "empty",
    error: Annotated[str, typer.Option(help="For --body oauth: the OAuth error code.")] = "invalid_grant",
    seconds: Annotated[float, typer.Option(help="For delay: real seconds before answering (up to 600).")] = 0.0,
    times: Annotated[int, typer.Option(min=1, help="How many matching requests it applies to.")] = 1,
    always: Annotated[bool, typer.Option("--always", help="Apply to every matching request until cleared.")] = False,
    skip: Annotated[int, typer.Option(min=0, help="Let this many matching requests through first.")] = 0,
    data_dir: DataDir = None,
) -> None:
    """Inject a fault: answer a status, delay, drop the connection, or hold matching requests."""
    if kind in ("list", "clear"):
        _list_or_clear(kind, data_dir)
        return
    if kind.isdigit():
        kind, status = "status", int(kind)
    if kind not in _KINDS:
        raise fail(
            f"Unknown fault kind {kind!r}; use status (or a code such as 403), delay, close or hold, "
            "or `list` / `clear`."
        )
    if kind == "status" and (status is None or not 400 <= status <= 599):
        raise fail(f"A status fault needs a code from 400 to 599, e.g. `sleepwalk fault 403`; got {status!r}.")
    if body not in _BODIES:
        raise fail(f"Unknown --body {body!r}; use empty, oauth or bitwarden.")
    if not 0 <= seconds <= 600:
        raise fail(f"--seconds must be between 0 and 600, got {seconds:g}.")
    match: dict[str, Any] = {"path": path, "skip": skip}
    if method:
        match["method"] = method.upper()
    if grant:
        match["grant_type"] = grant
    action: dict[str, Any] = {"kind": kind}
    if kind == "status":
        action.update(status=status, body=body, error=error)
    elif kind == "delay":
        action["seconds"] = seconds
    server = find_server(data_dir)
    with control_of(server) as control:
        added = control.add_fault(match, action, None if always else times)
    out.print(
        f"Added fault {added['id']}: {_describe(added)}. `sleepwalk fault list` shows whether it fired; "
        "`sleepwalk fault clear` removes it.",
        markup=False,
    )


def _describe(fault: dict[str, Any]) -> str:
    action, match = fault["action"], fault["match"]
    what = action["kind"]
    if what == "status":
        what = f"answer {action['status']}" + (f" with an {action['body']} body" if action["body"] != "empty" else "")
    elif what == "delay":
        what = f"delay {action['seconds']:g} s"
    elif what == "close":
        what = "drop the connection"
    where = f"{match.get('method') or 'any method'} {match['path']}"
    if match.get("grant_type"):
        where += f" with grant_type={match['grant_type']}"
    if match.get("skip"):
        where += f" after letting {match['skip']} through"
    times = "every time" if fault["times"] is None else f"{fault['times']} time(s)"
    return f"{what} on {where}, {times}"


def _list_or_clear(kind: str, data_dir: Any) -> None:
    server = find_server(data_dir)
    with control_of(server) as control:
        if kind == "clear":
            control.clear_faults()
            out.print("Removed every fault; requests are answered normally again.")
            return
        faults = control.faults()
    if not faults:
        out.print("No faults.")
    for listed in faults:
        remaining = "permanent" if listed["remaining"] is None else f"{listed['remaining']} left"
        out.print(f"{listed['id']}: {_describe(listed)}; fired {listed['fired']}, {remaining}", markup=False)


@app.command(rich_help_panel=PANEL)
def journal(
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing requests as they are answered.")
    ] = False,
    since: Annotated[int, typer.Option(min=0, help="Only requests after this sequence number.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line instead of text.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Every request the server saw: virtual and real time, method, path, grant, token verdict, status."""
    server = find_server(data_dir)
    if not follow:
        with control_of(server) as control:
            entries = control.journal(since)
            events = control.events() if since == 0 else []
        for line in _merged(entries, events, as_json):
            out.print(line, markup=False)
        return
    err.print("Following the journal; Ctrl-C stops.")
    try:
        with (
            server.http(timeout=30) as http,
            http.stream("GET", f"/_control/journal/stream?since={since}", timeout=httpx.Timeout(30, read=None)) as s,
        ):
            for line in s.iter_lines():
                if line:
                    out.print(line if as_json else describe_request(json.loads(line)), markup=False)
    except KeyboardInterrupt:
        return
    except httpx.HTTPError as exc:
        raise fail(
            f"The server stopped answering the journal stream ({exc}); is `sleepwalk serve` still running?"
        ) from exc


def _merged(entries: list[dict[str, Any]], events: list[dict[str, Any]], as_json: bool) -> list[str]:
    """Requests and control events in the order they happened (real time), one line each."""
    rows: list[tuple[str, int, str]] = []
    for entry in entries:
        text = json.dumps(entry) if as_json else describe_request(entry)
        rows.append((entry["arrived_real"], 1, text))
    for event in events:
        text = json.dumps(event) if as_json else f"----  {event['real'][11:23]}  {event['text']}"
        rows.append((event["real"], 0, text))
    return [text for _, _, text in sorted(rows, key=lambda row: (row[0], row[1]))]
