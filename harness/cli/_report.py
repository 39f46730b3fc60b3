"""`sleepwalk report`: the HTML timeline or Mermaid diagrams of a report directory or of the running server."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from harness._errors import HarnessError
from harness._manual import NoServerRunning, RunningServer
from harness._runner import write_json
from harness.cli._app import app, err, fail, out
from harness.cli._manual import DataDir, control_of
from harness.report import load_runs, render_mermaid, take_screenshot, write_html_report

PANEL = "Reports"

MANUAL_SCENARIO = "manual"
MANUAL_CLIENT = "serve"


class ReportFormat(StrEnum):
    HTML = "html"
    MERMAID = "mermaid"


@app.command(rich_help_panel=PANEL)
def report(
    report_dir: Annotated[
        Path | None,
        typer.Argument(help="A --report-dir of `sleepwalk run`; without it, the running `sleepwalk serve` session."),
    ] = None,
    output_format: Annotated[ReportFormat, typer.Option("--format", help="html (a file) or mermaid (stdout).")] = (
        ReportFormat.HTML
    ),
    scenario: Annotated[str | None, typer.Option(help="Only runs of this scenario.")] = None,
    client: Annotated[str | None, typer.Option(help="Only runs with this client, e.g. bw@2026.1.0.")] = None,
    save_to: Annotated[
        Path, typer.Option("--save-to", help="Where a `serve` session's journal and report are saved.")
    ] = Path("reports/manual"),
    screenshot: Annotated[
        Path | None, typer.Option(help="Also render the HTML report to this PNG with headless Chromium.")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Write report.html (timeline of tokens, sleeps, faults and requests), or print Mermaid sequence diagrams."""
    if output_format is ReportFormat.HTML and (scenario or client):
        raise fail("--scenario and --client narrow the Mermaid output; the HTML report always shows every run.")
    try:
        if report_dir is None:
            report_dir = _save_manual_session(data_dir, save_to)
        runs = [
            run
            for run in load_runs(report_dir)
            if (scenario is None or run.scenario == scenario) and (client is None or run.client == client)
        ]
        if not runs:
            raise fail(f"No run in {report_dir} matches --scenario {scenario!r} --client {client!r}.")
        if output_format is ReportFormat.MERMAID:
            for run in runs:
                out.print(
                    f"### {run.scenario} [{run.client}]\n\n```mermaid\n{render_mermaid(run)}\n```\n", markup=False
                )
            return
        page = write_html_report(report_dir, runs)
        out.print(f"Wrote {page} ({len(runs)} run(s)); open it in a browser, it needs no network.", markup=False)
        if screenshot is not None:
            take_screenshot(page, screenshot)
            out.print(f"Wrote {screenshot}.", markup=False)
    except HarnessError as exc:
        raise fail(str(exc)) from exc


def _save_manual_session(data_dir: Path | None, save_to: Path) -> Path:
    """Save the running server's journal, events and settings as a run folder under `save_to`; returns `save_to`."""
    try:
        server = RunningServer.find(data_dir)
    except NoServerRunning as exc:
        raise fail(f"{exc} Or give a report directory written by `sleepwalk run --report-dir`.") from exc
    with control_of(server) as control:
        journal, events, settings, clock = control.journal(), control.events(), control.settings(), control.clock()
    folder = save_to / MANUAL_SCENARIO / MANUAL_CLIENT
    folder.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "scenario": MANUAL_SCENARIO,
        "client": MANUAL_CLIENT,
        "description": f"A manual session against {server.url}, saved by `sleepwalk report`.",
        "source": server.url,
        "settings": settings,
        "virtual_start": journal[0]["arrived_virtual"] if journal else clock["now"],
        "virtual_end": clock["now"],
        "requests": [f"{entry['method']} {entry['path']} {entry['status']}" for entry in journal],
    }
    for name, data in (("journal.json", journal), ("events.json", events), ("result.json", result)):
        write_json(folder / name, data)
    err.print(f"Saved the session's {len(journal)} request(s) and {len(events)} event(s) in {folder}.")
    return save_to
