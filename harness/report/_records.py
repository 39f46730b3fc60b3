"""Reading a report directory: one `RunRecord` per scenario and client, from the files `sleepwalk run` wrote.

A run folder holds `journal.json` (every request the server saw), and optionally `events.json` (what the tester did
to the world) and `result.json` (the verdict). Older report directories lack the optional files and fields, so
everything past the journal is treated as optional here and in the model built from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness._errors import HarnessError

__all__ = ["ReportError", "RunRecord", "load_runs"]


class ReportError(HarnessError):
    """A report could not be read, rendered or written."""


@dataclass(frozen=True)
class RunRecord:
    """What one scenario run with one client left behind: its journal, control events and result."""

    scenario: str
    client: str
    journal: list[dict[str, Any]]
    events: list[dict[str, Any]]
    result: dict[str, Any] | None
    folder: Path | None = None


def load_runs(report_dir: Path) -> list[RunRecord]:
    """Every run under `report_dir` (`<scenario>/<client>/journal.json`), sorted by scenario then client."""
    if not report_dir.is_dir():
        raise ReportError(
            f"The report directory {str(report_dir)!r} does not exist; "
            "write one with `sleepwalk run SCENARIO --client CLIENT --report-dir DIR` first."
        )
    runs = [_load_run(journal.parent) for journal in sorted(report_dir.glob("*/*/journal.json"))]
    if not runs:
        raise ReportError(
            f"The report directory {str(report_dir)!r} holds no runs (no <scenario>/<client>/journal.json); "
            "write one with `sleepwalk run SCENARIO --client CLIENT --report-dir DIR` first."
        )
    return sorted(runs, key=lambda run: (run.scenario, run.client))


def _load_run(folder: Path) -> RunRecord:
    journal = _read_list(folder / "journal.json")
    events_path = folder / "events.json"
    events = _read_list(events_path) if events_path.exists() else []
    result_path = folder / "result.json"
    result = _read_json(result_path) if result_path.exists() else None
    if result is not None and not isinstance(result, dict):
        raise ReportError(f"{str(result_path)!r} should hold a JSON object, but holds {type(result).__name__!r}.")
    scenario = folder.parent.name
    client = folder.name
    if result is not None:
        scenario = str(result.get("scenario") or scenario)
        client = str(result.get("client") or client)
    return RunRecord(scenario=scenario, client=client, journal=journal, events=events, result=result, folder=folder)


def _read_list(path: Path) -> list[dict[str, Any]]:
    data = _read_json(path)
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ReportError(f"{str(path)!r} should hold a JSON list of objects; rewrite it with `sleepwalk run`.")
    return data


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReportError(f"{str(path)!r} could not be read as JSON ({exc}); rewrite it with `sleepwalk run`.") from exc
