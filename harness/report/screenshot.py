"""`python -m harness.report.screenshot REPORT_HTML OUT_PNG [--width W] [--height H]`: a PNG of a report page.

Exits 0 with the PNG written, 2 with one sentence on stderr when Chromium is missing or the arguments are wrong,
and 1 when Chromium failed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.report._chromium import ChromiumMissing, find_chromium, take_screenshot
from harness.report._records import ReportError

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.report.screenshot", description=__doc__)
    parser.add_argument("page", type=Path, help="the report.html to render")
    parser.add_argument("out", type=Path, help="where to write the PNG")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=None, help="default: the whole page")
    arguments = parser.parse_args(argv)
    if not arguments.page.is_file():
        sys.stderr.write(f"{arguments.page} is not a file; write a report first (harness.report.write_html_report).\n")
        return 2
    try:
        chromium = find_chromium()
    except ChromiumMissing as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    try:
        take_screenshot(
            arguments.page, arguments.out, width=arguments.width, height=arguments.height, chromium=chromium
        )
    except ReportError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    sys.stdout.write(f"{arguments.out}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
