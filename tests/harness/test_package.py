"""The harness's public surface and its boundary with the server."""

from __future__ import annotations

import ast
from pathlib import Path

import harness

HARNESS = Path(harness.__file__).parent


def test_all_is_sorted_and_complete() -> None:
    assert harness.__all__ == sorted(harness.__all__)
    for name in harness.__all__:
        assert hasattr(harness, name), f"harness.__all__ names {name!r}, which harness does not define"


def test_harness_never_imports_the_server() -> None:
    offenders = []
    for module in HARNESS.rglob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [
                f"{module.relative_to(HARNESS)}: {name}" for name in names if name.startswith("mock_identity_server")
            ]
    assert offenders == [], "the harness meets the server over HTTP only; these import it: " + ", ".join(offenders)
