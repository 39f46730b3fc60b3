"""`sleepwalk report`: the HTML timeline of a report directory, Mermaid on stdout, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("reports")
    args = ["run", "sleep-before-send", "-c", "reference:legacy", "-c", "reference:fixed", "--report-dir", str(folder)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return folder


def test_every_run_leaves_a_report_page_of_all_its_runs(report_dir: Path) -> None:
    page = (report_dir / "report.html").read_text()
    assert "reference:legacy" in page
    assert "reference:fixed" in page


def test_report_rewrites_the_page_and_says_where(report_dir: Path) -> None:
    (report_dir / "report.html").unlink()
    result = runner.invoke(app, ["report", str(report_dir)])
    assert result.exit_code == 0, result.output
    assert f"Wrote {report_dir / 'report.html'} (2 run(s))" in result.output
    assert (report_dir / "report.html").stat().st_size > 10_000


def test_mermaid_prints_one_fenced_diagram_per_run(report_dir: Path) -> None:
    result = runner.invoke(app, ["report", str(report_dir), "--format", "mermaid"])
    assert result.exit_code == 0, result.output
    assert result.output.count("```mermaid\nsequenceDiagram") == 2
    assert "### sleep-before-send [reference:fixed]" in result.output
    narrowed = runner.invoke(app, ["report", str(report_dir), "--format", "mermaid", "--client", "reference:legacy"])
    assert narrowed.output.count("sequenceDiagram") == 1
    assert "401 (token expired)" in narrowed.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "/nonexistent/reports"], "does not exist"),
        (["report", "{dir}", "--scenario", "sleep-before-send"], "the HTML report always shows every run"),
        (["report", "{dir}", "--format", "mermaid", "--client", "bw@1.0.0"], "No run in"),
        (["report", "{dir}", "--format", "svg"], "svg"),
    ],
)
def test_bad_report_arguments_exit_2(report_dir: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, [arg.replace("{dir}", str(report_dir)) for arg in args])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_report_without_a_directory_needs_a_running_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLEEPWALK_HOME", str(tmp_path))
    result = runner.invoke(app, ["report"])
    assert result.exit_code == 2
    assert "No sleepwalk server is running" in result.output
    assert "Or give a report directory" in result.output
