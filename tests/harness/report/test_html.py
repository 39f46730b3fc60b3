"""The HTML page: data embedded safely, nothing loaded from anywhere, written atomically."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

from harness.report import RunRecord, render_html, write_html_report
from tests.harness.report.conftest import HOSTILE, hand_journal, hand_result


def _data(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="sleepwalk-data">(.*?)</script>', page, re.S)
    assert found, "the page has no data element"
    return json.loads(found.group(1))


def test_a_hostile_path_cannot_close_the_data_element(hand_run) -> None:
    page = render_html([hand_run], title="t </title><script>alert(2)</script>")
    assert "<script>alert" not in page
    assert page.count("<script") == 2
    assert page.count("</script>") == 2
    assert "<title>t &lt;/title&gt;&lt;script&gt;alert(2)&lt;/script&gt;</title>" in page
    data = _data(page)
    assert data["runs"][0]["requests"][5]["path"] == HOSTILE
    assert data["runs"][0]["commands"][0]["stderr"] == "</script>"


def test_the_page_allows_no_network_and_only_its_own_script_and_style(hand_run) -> None:
    page = render_html([hand_run], title="t")
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page)
    assert policy
    directives = dict(part.strip().split(" ", 1) for part in policy.group(1).replace("&#x27;", "'").split(";"))
    assert directives["default-src"] == "'none'"
    script = re.findall(r"<script>(.*?)</script>", page, re.S)
    style = re.findall(r"<style>(.*?)</style>", page, re.S)
    assert len(script) == 1
    assert len(style) == 1

    def digest(text: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"

    assert directives["script-src"] == digest(script[0])
    assert directives["style-src"] == digest(style[0])
    assert not re.search(r"\ssrc=|<link|<iframe|@import|url\(", page, re.I)


def test_the_data_carries_both_clocks_as_offsets_from_the_runs_start(hand_run) -> None:
    run = _data(render_html([hand_run], title="t"))["runs"][0]
    assert [request["v"] for request in run["requests"]] == [0, 0, 400, 400, 520, 520]
    assert [request["r"] for request in run["requests"]] == [0, 0.01, 0.03, 0.04, 0.06, 0.07]
    assert [(token["id"], token["v0"], token["vr"], token["v1"]) for token in run["tokens"]] == [
        ("A", 0, 30, 330),
        ("B", 520, 550, 850),
    ]
    assert run["tokens"][0]["r1"] == 0.02
    assert [(jump["kind"], jump["v0"], jump["v1"], jump["r"]) for jump in run["jumps"]] == [
        ("sleep", 0, 400, 0.02),
        ("skew", 400, 520, 0.05),
    ]
    assert run["virtual"]["span"] == 520


def test_an_old_style_record_renders_too() -> None:
    page = render_html([RunRecord("s", "c", [{"seq": 1, "method": "GET", "path": "/api/sync"}], [], None)], title="t")
    run = _data(page)["runs"][0]
    assert run["requests"][0]["v"] is None
    assert run["virtual"] == {"start": None, "span": 0.0}


def test_write_html_report_reads_the_directory_and_writes_atomically(tmp_path: Path) -> None:
    folder = tmp_path / "reports" / "hand-made" / "reference_legacy"
    folder.mkdir(parents=True)
    (folder / "journal.json").write_text(json.dumps(hand_journal()))
    (folder / "result.json").write_text(json.dumps(hand_result()))
    path = write_html_report(tmp_path / "reports")
    assert path == tmp_path / "reports" / "report.html"
    assert _data(path.read_text())["runs"][0]["scenario"] == "hand-made"
    assert [p.name for p in path.parent.iterdir() if p.is_file()] == ["report.html"]
    # Writing again replaces the page.
    write_html_report(tmp_path / "reports", [RunRecord("other", "c", [], [], None)])
    assert _data(path.read_text())["runs"][0]["scenario"] == "other"
