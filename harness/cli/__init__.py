"""The `sleepwalk` command line: the only part of the harness that prints.

Commands live in modules by purpose: scenario runs (`_runs`), manual QA mode against a running server
(`_manual`, `_observe`) and reports (`_report`). Importing them registers their commands on `app`, in this order,
which is also their order in `sleepwalk --help`.
"""

from __future__ import annotations

import importlib

from harness.cli._app import app

__all__ = ["app", "main"]

for _module in ("_runs", "_manual", "_observe", "_report"):
    importlib.import_module(f"harness.cli.{_module}")


def main() -> None:
    app()
