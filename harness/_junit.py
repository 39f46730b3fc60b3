"""JUnit XML: one test case per scenario and client, with failure text that reads well in a CI log."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from harness._outcome import Verdict

__all__ = ["write_junit"]


def write_junit(verdicts: list[Verdict], path: Path) -> None:
    suite = ET.Element(
        "testsuite",
        name="sleepwalk",
        tests=str(len(verdicts)),
        failures=str(sum(1 for verdict in verdicts if not verdict.passed and verdict.outcome.error is None)),
        errors=str(sum(1 for verdict in verdicts if verdict.outcome.error is not None)),
        time=f"{sum(verdict.outcome.wall_seconds for verdict in verdicts):.3f}",
    )
    for verdict in verdicts:
        outcome = verdict.outcome
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"sleepwalk.{outcome.scenario_id}",
            name=f"{outcome.scenario_id}[{outcome.client}]",
            time=f"{outcome.wall_seconds:.3f}",
        )
        if not verdict.passed:
            kind = "error" if outcome.error is not None else "failure"
            first = verdict.problems[0].splitlines()[0]
            element = ET.SubElement(case, kind, message=first, type=kind)
            element.text = "\n".join(verdict.problems)
        ET.SubElement(case, "system-out").text = "\n".join(str(request) for request in outcome.requests)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
