"""The Typer application and the two consoles every command prints through.

Results go to stdout, logs to stderr. Exit codes: 0 when every outcome met its expectation, 1 when one did not,
2 on a usage or setup error (one sentence saying what is wrong and what to do).
"""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from rich.console import Console

__all__ = ["app", "err", "fail", "out"]

app = typer.Typer(
    name="sleepwalk",
    help="Reproduce Bitwarden 'logged out after the laptop slept' bugs, in virtual time.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


@app.callback()
def _root(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log to stderr.")] = False) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )


def fail(message: str) -> typer.Exit:
    """Print `message` on stderr and return the exit-2 exception to raise."""
    err.print(message, markup=False)
    return typer.Exit(2)
