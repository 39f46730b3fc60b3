"""The `sleepwalk` command line: exit codes 0/1/2, one clear sentence for bad input, reports written."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app

runner = CliRunner()


def test_list_shows_the_scenarios_with_their_sources() -> None:
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0, result.output
    assert "sleep-before-send" in result.output
    assert "10718" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "banana", "-c", "reference:fixed"], "No scenario 'banana'"),
        (["run", "sleep-before-send", "-c", "desktop"], "Unknown client 'desktop'; use bw@VERSION"),
        (["run", "sleep-before-send", "-c", "reference:tablet"], "Unknown reference profile 'tablet'"),
        (["run", "sleep-before-send", "-c", "bw@latest"], "latest"),
        (["install-cli", "1.2"], "1.2"),
    ],
)
def test_bad_arguments_exit_2_with_one_sentence(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_a_bad_scenario_file_exits_2_naming_the_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(
        "id: broken\ndescription: A broken scenario file.\nsource: test\nsteps: [{sleep: banana}]\nexpect: {}\n"
    )
    result = runner.invoke(app, ["run", str(path), "-c", "reference:fixed"])
    assert result.exit_code == 2
    assert str(path) in result.output
    assert "steps[0].sleep" in result.output


def test_run_writes_results_and_junit_and_exits_by_the_verdict(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    args = ["run", "sleep-before-send", "-c", "reference:fixed", "-c", "reference:legacy"]
    result = runner.invoke(app, [*args, "--junit", str(junit), "--report-dir", str(tmp_path / "reports")])
    assert result.exit_code == 0, result.output
    assert "2 passed, 0 failed" in result.output
    cases = ET.parse(junit).getroot().findall("testcase")
    assert [case.get("name") for case in cases] == [
        "sleep-before-send[reference:fixed]",
        "sleep-before-send[reference:legacy]",
    ]
    result_json = json.loads((tmp_path / "reports/sleep-before-send/reference_fixed/result.json").read_text())
    assert result_json["passed"] is True
    assert result_json["requests"][0] == "GET /api/accounts/revision-date 401"
    assert (tmp_path / "reports/sleep-before-send/reference_fixed/journal.json").exists()
    assert result_json["expected"]["requests"][0] == "GET /api/accounts/revision-date 401"
    assert result_json["settings"]["access_token_lifetime"] == 330
    (sleep,) = json.loads((tmp_path / "reports/sleep-before-send/reference_fixed/events.json").read_text())
    assert (sleep["kind"], sleep["reason"], sleep["seconds"]) == ("clock", "sleep", 400)


def test_a_failed_expectation_exits_1_and_shows_both_sequences(tmp_path: Path) -> None:
    args = ["run", "sleep-before-send", "-c", "reference:legacy", "--expect", "fixed", "--report-dir", str(tmp_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "FAIL" in result.output
    assert "expected" in result.output
    assert "observed" in result.output
    assert json.loads((tmp_path / "sleep-before-send/reference_legacy/result.json").read_text())["passed"] is False


def test_list_bugs_shows_only_recipes_with_what_the_report_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import harness.cli._runs
    from tests.harness.test_scenario import GOOD, RECIPE

    (tmp_path / "bug-123.yaml").write_text(RECIPE)
    (tmp_path / "demo.yaml").write_text(GOOD)
    monkeypatch.setattr(harness.cli._runs, "SCENARIO_DIR", tmp_path)
    result = runner.invoke(app, ["list", "--bugs"])
    assert result.exit_code == 0, result.output
    assert "BUG=123" in result.output
    assert "Logged out every morning" in result.output
    assert "demo" not in result.output
