"""Scenario commands: `list`, `run`, `matrix` and `install-cli`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from harness._errors import HarnessError
from harness._outcome import Verdict
from harness._profiles import Profile
from harness._scenario import Scenario, ScenarioError, load_scenario, load_scenarios
from harness._session import Session
from harness.cli._app import app, err, fail, out
from harness.clients import parse_client_spec
from harness.clients.bw import PINNED_VERSIONS, BwError, install

PANEL = "Scenarios"

SCENARIO_DIR = Path(os.environ.get("SLEEPWALK_SCENARIOS", Path(__file__).resolve().parents[2] / "scenarios"))


def _scenarios(names: list[str]) -> list[Scenario]:
    chosen = []
    for name in names:
        path = Path(name)
        if not path.suffix:
            path = SCENARIO_DIR / f"{name}.yaml"
            if not path.exists():
                known = ", ".join(sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml")))
                raise fail(f"No scenario {name!r} in {SCENARIO_DIR}; known: {known}.")
        try:
            chosen.append(load_scenario(path))
        except ScenarioError as exc:
            raise fail(str(exc)) from exc
    return chosen


def _prepare_clients(clients: list[str]) -> None:
    """Check every client spec and install CLI versions up front, with a progress display."""
    for client in clients:
        try:
            kind, argument = parse_client_spec(client)
            if kind == "bw@":
                with err.status(f"Installing @bitwarden/cli@{argument} (once; reused afterwards)..."):
                    install(argument)
            elif argument not in {profile.value for profile in Profile}:
                raise fail(f"Unknown reference profile {argument!r}; use reference:legacy, :fixed or :mobile.")
        except (HarnessError, BwError, ValueError) as exc:
            raise fail(str(exc)) from exc


@app.command("list", rich_help_panel=PANEL)
def list_scenarios(
    bugs: Annotated[bool, typer.Option("--bugs", help="Only the bug recipes, with what each report says.")] = False,
) -> None:
    """List the scenarios with their source and the profiles they declare."""
    try:
        scenarios = load_scenarios(SCENARIO_DIR)
    except ScenarioError as exc:
        raise fail(str(exc)) from exc
    if not scenarios:
        raise fail(f"No scenario files (*.yaml) in {SCENARIO_DIR}; set SLEEPWALK_SCENARIOS to the scenarios folder.")
    if bugs:
        for scenario in scenarios.values():
            if scenario.bug is not None:
                _print_bug(scenario)
        return
    for scenario in scenarios.values():
        only = " (reference clients only)" if scenario.reference_only else ""
        profiles = escape(f"[{','.join(scenario.expect)}]")
        out.print(f"[bold]{escape(scenario.id)}[/bold]  {profiles}{only}")
        out.print(f"    {scenario.description}\n    source: {scenario.source}", markup=False)


def _print_bug(scenario: Scenario) -> None:
    bug = scenario.bug
    assert bug is not None
    verdict = "reproducible" if bug.reproducible else f"not reproducible here: {bug.why_not}"
    out.print(f"[bold]BUG={escape(bug.number)}[/bold]  {escape(scenario.id)}  ({escape(verdict)})")
    facts = ", ".join(part for part in (bug.client, bug.os, bug.server, bug.sleep and f"sleep {bug.sleep}") if part)
    out.print(f"    {bug.url}\n    {facts}\n    says: {bug.says}\n    models: {bug.models}", markup=False)


def _print_verdict(verdict: Verdict) -> None:
    outcome = verdict.outcome
    mark = "[green]PASS[/green]" if verdict.passed else "[red]FAIL[/red]"
    state = outcome.state.value if outcome.state else "?"
    name = escape(f"{outcome.scenario_id} [{outcome.client}]")
    out.print(
        f"{mark} {name} expected {verdict.expected_profile.value}: "
        f"{state}, exit {outcome.exit_code}, {outcome.wall_seconds:.1f} s wall, "
        f"{outcome.virtual_seconds:.0f} s virtual"
    )
    for problem in verdict.problems:
        out.print("    " + problem.replace("\n", "\n    "), markup=False)


@app.command(rich_help_panel=PANEL)
def run(
    scenarios: Annotated[list[str], typer.Argument(help="Scenario ids (from scenarios/) or YAML paths.")],
    client: Annotated[list[str], typer.Option("--client", "-c", help="bw@VERSION; repeat for several.")],
    expect: Annotated[Profile | None, typer.Option(help="Judge against this profile instead of the client's.")] = None,
    junit: Annotated[Path | None, typer.Option(help="Write JUnit XML here.")] = None,
    report_dir: Annotated[Path, typer.Option(help="Journals and results per scenario.")] = Path("reports"),
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Runs in parallel.")] = 1,
) -> None:
    """Run scenarios with clients; exit 0 when every outcome met its expectation, 1 when not."""
    chosen = _scenarios(scenarios)
    _prepare_clients(client)
    try:
        with Session.started() as session:
            verdicts = session.run_all(
                chosen, client, jobs=jobs, expect=expect, report_dir=report_dir, on_verdict=_print_verdict
            )
    except KeyboardInterrupt:
        err.print(f"Interrupted: client processes and the server are stopped; partial results in {report_dir}.")
        raise typer.Exit(130) from None
    except HarnessError as exc:
        raise fail(str(exc)) from exc
    if junit is not None:
        from harness._junit import write_junit

        write_junit(verdicts, junit)
    failed = [verdict for verdict in verdicts if not verdict.passed]
    out.print(f"{len(verdicts) - len(failed)} passed, {len(failed)} failed")
    raise typer.Exit(1 if failed else 0)


@app.command(rich_help_panel=PANEL)
def matrix(
    scenario: Annotated[str, typer.Argument(help="Scenario id or YAML path.")],
    clients: Annotated[str, typer.Option(help="Comma-separated, e.g. bw@2025.12.1,bw@2026.1.0.")],
    report_dir: Annotated[Path, typer.Option(help="Journals and results per client.")] = Path("reports"),
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1)] = 1,
) -> None:
    """Which client versions reproduce the bug (end logged out) and which recover."""
    chosen = _scenarios([scenario])
    specs = [spec.strip() for spec in clients.split(",") if spec.strip()]
    _prepare_clients(specs)
    try:
        with Session.started() as session:
            verdicts = session.run_all(chosen, specs, jobs=jobs, report_dir=report_dir)
    except HarnessError as exc:
        raise fail(str(exc)) from exc
    out.print(f"{chosen[0].id}: {chosen[0].description}\n  source: {chosen[0].source}\n", markup=False)
    for verdict in verdicts:
        outcome = verdict.outcome
        verdict_text = "[green]as expected[/green]" if verdict.passed else "[red]NOT as expected[/red]"
        out.print(f"{escape(outcome.client)} ({outcome.profile.value}): {_matrix_summary(verdict)}  [{verdict_text}]")
        for request in outcome.requests:
            out.print(f"    {request}", markup=False)
        for problem in verdict.problems:
            out.print("    " + problem.replace("\n", "\n    "), markup=False)
    raise typer.Exit(0 if all(verdict.passed for verdict in verdicts) else 1)


def _matrix_summary(verdict: Verdict) -> str:
    outcome = verdict.outcome
    if outcome.error:
        return f"[yellow]could not run: {escape(outcome.error)}[/yellow]"
    if outcome.state is None:
        return "[yellow]final state unknown[/yellow]"
    if outcome.state.value == "logged_out":
        return f"[red]reproduces the bug: logged out[/red] (exit {outcome.exit_code})"
    requests = outcome.requests
    rejected = next((index for index, request in enumerate(requests) if request.status == 401), None)
    recovered = rejected is not None and any(request.path.endswith("/connect/token") for request in requests[rejected:])
    how = "refreshed, retried and " if recovered else ""
    return f"[green]recovers: {how}stays {outcome.state.value}[/green] (exit {outcome.exit_code})"


@app.command("install-cli", rich_help_panel=PANEL)
def install_cli(
    versions: Annotated[
        list[str] | None, typer.Argument(help="@bitwarden/cli versions; the pinned ones by default.")
    ] = None,
) -> None:
    """Install @bitwarden/cli versions into the CLI cache (once; later calls reuse them)."""
    for version in versions or list(PINNED_VERSIONS):
        with err.status(f"Installing @bitwarden/cli@{version} with npm..."):
            try:
                bw_js = install(version)
            except BwError as exc:
                raise fail(str(exc)) from exc
        out.print(f"bw@{version}: {bw_js}")
