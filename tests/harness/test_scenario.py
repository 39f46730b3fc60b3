"""Scenario files: valid ones load into typed models, bad ones get an error naming the file, field and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness._errors import HarnessError
from harness._scenario import RequestPattern, ScenarioError, load_scenario, load_scenarios

SCENARIOS = Path(__file__).parents[2] / "scenarios"

GOOD = """\
id: demo
description: A demo scenario with one sleep.
source: tests
steps:
  - sync: {}
    sleep_at: {request: GET /api/accounts/revision-date, duration: 10m}
expect:
  fixed: {requests: [GET /api/accounts/revision-date 401, ...], state: unlocked, exit: 0}
"""


def _write(tmp_path: Path, text: str, name: str = "demo") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


def test_every_shipped_scenario_loads() -> None:
    scenarios = load_scenarios(SCENARIOS)
    assert "sleep-before-send" in scenarios
    assert all(scenario.expect for scenario in scenarios.values())


def test_a_good_file_loads_with_durations_and_request_patterns(tmp_path: Path) -> None:
    scenario = load_scenario(_write(tmp_path, GOOD))
    sleep_at = scenario.steps[0].sleep_at
    assert sleep_at is not None
    assert sleep_at.duration == 600
    assert sleep_at.request == RequestPattern(method="GET", path="/api/accounts/revision-date")
    assert scenario.expect["fixed"].requests == [RequestPattern.parse("GET /api/accounts/revision-date 401"), "..."]


@pytest.mark.parametrize(
    ("change", "field", "hint"),
    [
        (("sleep_at: {", "sleep_at: {bogus: 1, "), "steps[0].sleep_at.bogus", "Extra inputs are not permitted"),
        (("duration: 10m", "duration: banana"), "steps[0].sleep_at.duration", "write it like '400s'"),
        (
            ("GET /api/accounts/revision-date, duration", "fetch revision, duration"),
            "steps[0].sleep_at.request",
            "METHOD /path",
        ),
        (("fixed:", "desktop:"), "expect.desktop (as a key)", "'legacy', 'fixed' or 'mobile'"),
        (("state: unlocked", "state: asleep"), "expect.fixed.state", "'unlocked', 'locked' or 'logged_out'"),
        (("  - sync: {}\n", "  - sync: {}\n    advance: 5m\n"), "steps[0]", "a step does exactly one thing"),
    ],
)
def test_a_bad_field_is_named_with_the_fix(tmp_path: Path, change: tuple[str, str], field: str, hint: str) -> None:
    path = _write(tmp_path, GOOD.replace(*change))
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert str(path) in message
    assert field in message
    assert hint in message


def test_not_yaml_and_not_a_mapping_and_a_wrong_file_name(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load_scenario(_write(tmp_path, "id: [unclosed"))
    with pytest.raises(ScenarioError, match="a scenario is a mapping"):
        load_scenario(_write(tmp_path, "- just a list"))
    with pytest.raises(ScenarioError, match=r"name the file demo\.yaml"):
        load_scenario(_write(tmp_path, GOOD, name="other"))
    with pytest.raises(ScenarioError, match="cannot read the file"):
        load_scenario(tmp_path / "missing.yaml")


def test_scenario_errors_are_harness_errors() -> None:
    assert issubclass(ScenarioError, HarnessError)


RECIPE = GOOD.replace("id: demo", "id: bug-123").replace(
    "source: tests",
    """source: https://github.com/bitwarden/clients/issues/123
bug:
  number: "123"
  url: https://github.com/bitwarden/clients/issues/123
  client: browser extension 2025.12.1
  says: Logged out every morning after the laptop slept overnight.
  models: An in-flight request during an overnight sleep.""",
)


def test_a_bug_recipe_carries_its_report(tmp_path: Path) -> None:
    scenario = load_scenario(_write(tmp_path, RECIPE, name="bug-123"))
    assert scenario.bug is not None
    assert scenario.bug.number == "123"
    assert scenario.bug.reproducible


def test_a_recipe_that_cannot_reproduce_must_say_why(tmp_path: Path) -> None:
    path = _write(tmp_path, RECIPE.replace("  models:", "  reproducible: false\n  models:"), name="bug-123")
    with pytest.raises(ScenarioError, match="must say why in why_not"):
        load_scenario(path)
