"""Reports of scenario runs: a self-contained HTML timeline page and Mermaid sequence diagrams.

Reads what `sleepwalk run --report-dir DIR` wrote (per scenario and client: `journal.json`, and where present
`events.json` and `result.json`) and draws, for each run, its tokens, sleeps, faults and requests on virtual and
real time.

    from harness.report import load_runs, render_mermaid, write_html_report

    runs = load_runs(Path("reports"))
    page = write_html_report(Path("reports"), runs)
    diagram = render_mermaid(runs[0])
"""

from __future__ import annotations

from harness.report._chromium import ChromiumError, ChromiumMissing, dump_dom, find_chromium, take_screenshot
from harness.report._html import render_html, write_html_report
from harness.report._mermaid import render_mermaid
from harness.report._records import ReportError, RunRecord, load_runs

__all__ = [
    "ChromiumError",
    "ChromiumMissing",
    "ReportError",
    "RunRecord",
    "dump_dom",
    "find_chromium",
    "load_runs",
    "render_html",
    "render_mermaid",
    "take_screenshot",
    "write_html_report",
]
