"""`python -m harness.cli`: the `sleepwalk` command without its console script."""

from __future__ import annotations

from harness.cli import main

main()
