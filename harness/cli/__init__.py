"""The `sleepwalk` command line: the only part of the harness that prints.

Commands live in modules by purpose: scenario runs (`_runs`), manual QA mode against a running server
(`_manual`, `_observe`) and reports (`_report`). Importing them registers their commands on `app`.
"""

from __future__ import annotations

from harness.cli import _manual, _observe, _report, _runs
from harness.cli._app import app

__all__ = ["app", "main"]

_COMMAND_MODULES = (_runs, _manual, _observe, _report)


def main() -> None:
    app()
