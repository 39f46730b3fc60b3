"""The README's pytest-plugin example, run as written."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

README = (Path(__file__).parents[1] / "README.md").read_text()


def _plugin_example() -> dict[str, Any]:
    section = README.split("## A sleep test for your own CI: the pytest plugin", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None, "the README lost its plugin example"
    namespace: dict[str, Any] = {}
    exec(compile(code.group(1), "README.md", "exec"), namespace)
    return namespace


EXAMPLES = sorted(name for name in _plugin_example() if name.startswith("test_"))


@pytest.mark.realcli
@pytest.mark.parametrize("name", EXAMPLES)
def test_readme_plugin_example(name: str, sleepwalk: Any) -> None:
    from tests.scenarios.conftest import require_node

    require_node()
    _plugin_example()[name](sleepwalk)


def test_readme_manual_session_is_the_one_the_real_cli_test_replays() -> None:
    from tests.realcli.test_manual_mode import README_STEPS

    section = README.split("## Manual QA mode: any client, by hand", 1)[1].split("\n## ", 1)[0]
    session = re.search(r"```sh\n(.*?)```", section, re.S)
    assert session is not None, "the README lost its manual session"
    positions = [session.group(1).find(step) for step in README_STEPS]
    assert -1 not in positions, dict(zip(README_STEPS, positions, strict=True))
    assert positions == sorted(positions), "the README's manual steps are out of the replayed order"
