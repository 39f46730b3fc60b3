"""The report as headless Chromium renders it: markers, token bars and sleep bands match the data, on both axes."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

from harness.report import ChromiumError, RunRecord, dump_dom, load_runs, take_screenshot, write_html_report
from harness.report._timeline import build_timeline
from harness.report.screenshot import main as screenshot_main
from tests.harness.report.conftest import HOSTILE

AXES = ("virtual", "real")


@dataclass
class Section:
    attrs: dict[str, str]
    markers: dict[str, list[dict[str, str]]] = field(default_factory=lambda: {axis: [] for axis in AXES})
    tokens: dict[str, list[str]] = field(default_factory=lambda: {axis: [] for axis in AXES})
    bands: dict[str, list[float]] = field(default_factory=lambda: {axis: [] for axis in AXES})


class RenderedReport(HTMLParser):
    """The parts of the rendered DOM the tests compare with the data."""

    def __init__(self, dom: str) -> None:
        super().__init__()
        self.body: dict[str, str] = {}
        self.error: dict[str, str] | None = None
        self.error_text = ""
        self.sections: list[Section] = []
        self.scripts = 0
        self._axis: str | None = None
        self._in_error = False
        self.feed(dom)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        classes = values.get("class", "").split()
        if tag == "body":
            self.body = values
        elif tag == "script":
            self.scripts += 1
        elif values.get("id") == "render-error":
            self.error, self._in_error = values, True
        elif tag == "section":
            self.sections.append(Section(values))
        elif tag == "svg" and "data-axis" in values:
            self._axis = values["data-axis"]
        elif self._axis and tag == "g" and "req" in classes:
            self.sections[-1].markers[self._axis].append(values)
        elif self._axis and tag == "g" and "token" in classes:
            self.sections[-1].tokens[self._axis].append(values["data-token-id"])
        elif self._axis and tag == "g" and "band" in classes:
            self.sections[-1].bands[self._axis].append(float(values["data-seconds"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._axis = None
        if tag == "div":
            self._in_error = False

    def handle_data(self, data: str) -> None:
        if self._in_error:
            self.error_text += data


def _render(chromium: Path, page: Path) -> RenderedReport:
    report = RenderedReport(dump_dom(page, chromium=chromium, timeout=90))
    assert report.body.get("data-rendered") == "ok", report.error_text
    assert report.error is not None
    assert "hidden" in report.error
    assert report.error_text == ""
    # No resource was fetched and the Content-Security-Policy refused nothing.
    assert report.body.get("data-resources") == "0"
    assert "data-csp-violations" not in report.body
    return report


def _check_section(section: Section, run: RunRecord) -> None:
    timeline = build_timeline(run)
    for axis in AXES:
        markers = section.markers[axis]
        assert [int(m["data-seq"]) for m in markers] == [entry["seq"] for entry in run.journal], axis
        assert [m["data-status"] for m in markers] == [str(e["status"] or "") for e in run.journal], axis
        assert [m["data-path"] for m in markers] == [entry["path"] for entry in run.journal], axis
        assert [m["data-method"] for m in markers] == [entry["method"] for entry in run.journal], axis
        issued = [entry["issued_token_id"] for entry in run.journal if entry.get("issued_token_id")]
        assert section.tokens[axis] == issued, axis
        assert section.bands[axis] == [jump.seconds for jump in timeline.jumps], axis


def test_a_real_run_renders_every_request_token_and_sleep_on_both_axes(chromium, real_report_dir) -> None:
    runs = load_runs(real_report_dir)
    report = _render(chromium, write_html_report(real_report_dir, runs))
    assert [(s.attrs["data-scenario"], s.attrs["data-client"]) for s in report.sections] == [
        (run.scenario, run.client) for run in runs
    ]
    for section, run in zip(report.sections, runs, strict=True):
        assert run.journal, "the reference client made no requests"
        _check_section(section, run)
        # Every run of these scenarios sleeps 400 s once.
        assert section.bands["virtual"] == [400.0]
        assert any(entry.get("issued_token_id") for entry in run.journal)


def test_a_hand_made_run_with_events_and_a_hostile_path_renders(chromium, hand_run, tmp_path) -> None:
    page = write_html_report(tmp_path, [hand_run])
    report = _render(chromium, page)
    assert report.scripts == 2, "a script element was injected"
    (section,) = report.sections
    _check_section(section, hand_run)
    assert section.bands["virtual"] == [e["seconds"] for e in hand_run.events if e["kind"] == "clock"]
    assert section.markers["real"][5]["data-path"] == HOSTILE
    assert section.markers["virtual"][5]["data-status"] == ""


def test_hundreds_of_requests_still_render(chromium, hand_run, tmp_path) -> None:
    journal = [dict(entry, seq=index + 1) for index, entry in enumerate(hand_run.journal * 80)]
    run = RunRecord("long", "c", journal, hand_run.events, hand_run.result)
    report = _render(chromium, write_html_report(tmp_path, [run]))
    assert len(report.sections[0].markers["virtual"]) == len(journal) == 480


def test_a_broken_page_reports_its_error_visibly(chromium, hand_run, tmp_path) -> None:
    page = write_html_report(tmp_path, [hand_run])
    text = page.read_text()
    page.write_text(text.replace('id="sleepwalk-data">', 'id="sleepwalk-data">{', 1))
    report = RenderedReport(dump_dom(page, chromium=chromium))
    assert report.body.get("data-rendered") == "error"
    assert "hidden" not in (report.error or {})
    assert "could not be drawn" in report.error_text


def test_the_screenshot_is_a_png_of_the_whole_report(chromium, real_report_dir, tmp_path) -> None:
    page = write_html_report(real_report_dir)
    out = tmp_path / "shot.png"
    assert screenshot_main([str(page), str(out)]) == 0
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 50_000
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width == 1400
    assert height > 2000, "the screenshot should cover the whole page, not one window"


def test_the_screenshot_command_exits_2_when_chromium_is_missing(tmp_path, monkeypatch, capsys) -> None:
    page = tmp_path / "report.html"
    page.write_text("<html></html>")
    monkeypatch.setenv("SLEEPWALK_CHROMIUM", str(tmp_path / "no-such-chromium"))
    assert screenshot_main([str(page), str(tmp_path / "out.png")]) == 2
    message = capsys.readouterr().err.strip()
    assert "chromium" in message
    assert message.count("\n") == 0
    assert not (tmp_path / "out.png").exists()


def test_a_hanging_chromium_is_killed_with_its_children(tmp_path) -> None:
    fake = tmp_path / "chromium"
    pid_file = tmp_path / "child.pid"
    fake.write_text(f"#!/bin/sh\nsleep 60 &\necho $! > {pid_file}\nwait\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    page = tmp_path / "report.html"
    page.write_text("<html></html>")
    with pytest.raises(ChromiumError, match=r"did not finish within 1 s"):
        take_screenshot(page, tmp_path / "out.png", height=400, chromium=fake, timeout=1)
    child = int(pid_file.read_text())
    try:
        os.kill(child, 0)
    except ProcessLookupError:
        return
    # Killed but not yet reaped by init: a zombie.
    assert Path(f"/proc/{child}/stat").read_text().split()[2] == "Z"
