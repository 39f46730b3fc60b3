"""The `sleepwalk` command line: the only part of the harness that prints.

Results go to stdout, logs to stderr. Exit codes: 0 when everything met its expectation, 1 when something did
not, 2 on a usage or setup error.
"""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from rich.console import Console

from harness.clients.bw import PINNED_VERSIONS, BwError, install

app = typer.Typer(
    name="sleepwalk",
    help="Reproduce Bitwarden 'logged out after the laptop slept' bugs, in virtual time.",
    no_args_is_help=True,
    add_completion=False,
)
out = Console()
err = Console(stderr=True)


@app.callback()
def _root(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log to stderr.")] = False) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


@app.command("install-cli")
def install_cli(
    versions: Annotated[list[str] | None, typer.Argument(help="@bitwarden/cli versions; the pinned ones by default.")] = None,
) -> None:
    """Install @bitwarden/cli versions into the CLI cache (once; later calls reuse them)."""
    chosen = versions or list(PINNED_VERSIONS)
    for version in chosen:
        with err.status(f"Installing @bitwarden/cli@{version} with npm..."):
            try:
                bw_js = install(version)
            except BwError as exc:
                err.print(f"[red]{exc}[/red]")
                raise typer.Exit(2) from exc
        out.print(f"bw@{version}: {bw_js}")


def main() -> None:
    app()
