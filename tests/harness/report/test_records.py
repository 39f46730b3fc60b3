"""Reading report directories, and the package's public surface."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import harness.report
from harness._errors import HarnessError
from harness.report import ReportError, load_runs
from tests.harness.report.conftest import hand_events, hand_journal, hand_result


def _write(folder: Path, **files: object) -> None:
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / f"{name}.json").write_text(json.dumps(data))


def test_all_is_sorted_and_complete() -> None:
    assert harness.report.__all__ == sorted(harness.report.__all__)
    for name in harness.report.__all__:
        assert hasattr(harness.report, name), f"harness.report.__all__ names {name!r}, which it does not define"


def test_report_error_is_a_harness_error() -> None:
    assert issubclass(ReportError, HarnessError)


def test_runs_are_loaded_sorted_with_optional_files(tmp_path: Path) -> None:
    _write(tmp_path / "b-scenario" / "reference_legacy", journal=[])
    _write(tmp_path / "a-scenario" / "z_client", journal=hand_journal(), events=hand_events())
    _write(tmp_path / "a-scenario" / "reference_fixed", journal=hand_journal(), result=hand_result())
    runs = load_runs(tmp_path)
    # The result names the real client and scenario; without one the folder names stand in.
    assert [(run.scenario, run.client) for run in runs] == [
        ("a-scenario", "z_client"),
        ("b-scenario", "reference_legacy"),
        ("hand-made", "reference:legacy"),
    ]
    assert runs[0].events == hand_events()
    assert runs[0].result is None
    assert runs[2].events == []
    assert runs[2].folder == tmp_path / "a-scenario" / "reference_fixed"


def test_a_directory_without_runs_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match=r"holds no runs .*sleepwalk run"):
        load_runs(tmp_path)
    with pytest.raises(ReportError, match="does not exist"):
        load_runs(tmp_path / "missing")


@pytest.mark.parametrize(("name", "text"), [("journal", "{not json"), ("journal", '{"seq": 1}'), ("result", "[]")])
def test_unreadable_files_are_a_clear_error(tmp_path: Path, name: str, text: str) -> None:
    folder = tmp_path / "s" / "c"
    _write(folder, journal=[])
    (folder / f"{name}.json").write_text(text)
    with pytest.raises(ReportError, match=f"{name}.json"):
        load_runs(tmp_path)
