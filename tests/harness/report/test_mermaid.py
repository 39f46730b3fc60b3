"""The Mermaid sequence diagram: one arrow per request in journal order, notes for what the tester did."""

from __future__ import annotations

import re

import pytest

from harness.report import RunRecord, load_runs, render_mermaid
from harness.report._mermaid import mermaid_text

REQUEST = re.compile(r"^    Client->>(Identity|API): (\d+)\. ")
ANSWER = re.compile(r"^    (Identity|API)(-->>|--x)Client: (.*)$")


def _arrows(diagram: str) -> list[tuple[str, int]]:
    return [(m.group(1), int(m.group(2))) for line in diagram.splitlines() if (m := REQUEST.match(line))]


def test_each_request_is_one_arrow_in_journal_order_with_its_answer(hand_run) -> None:
    diagram = render_mermaid(hand_run)
    lines = diagram.splitlines()
    assert lines[0] == "sequenceDiagram"
    assert _arrows(diagram) == [("Identity", 1), ("API", 2), ("API", 3), ("Identity", 4), ("Identity", 5), ("API", 6)]
    answers = [m.groups() for line in lines if (m := ANSWER.match(line))]
    assert [answer[2] for answer in answers] == ["200", "200", "401 (token expired)", "500", "200", "no answer"]
    assert answers[-1][1] == "--x"


def test_notes_show_sleeps_skews_faults_holds_and_the_end(hand_run) -> None:
    lines = render_mermaid(hand_run).splitlines()

    def at(text: str) -> int:
        return next(index for index, line in enumerate(lines) if text in line)

    sleep = at("host sleeps 6 min 40 s#58; clocks +400 s")
    assert at("2. GET /api/sync") < sleep < at("3. GET /api/accounts/revision-date")
    skew = at("server clock skewed +120 s")
    assert at("4. POST") < skew < at("5. POST")
    assert at("2. GET /api/sync") < at("Note over Client,API: fault f1 added#58; status 500") < sleep
    assert "    Note right of Identity: fault f1 fired#58; status" in lines
    assert "    Note right of API: request 6 held by a fault" in lines
    ending = "final state logged_out, logout reason invalid_grant#59; #lt;b#gt;bold#lt;/b#gt;, exit 1"
    assert lines[-1] == f"    Note over Client,API: {ending}"


def test_message_text_carries_no_character_that_breaks_mermaid(hand_run) -> None:
    for line in render_mermaid(hand_run).splitlines()[4:]:
        text = line.split(": ", 1)[1]
        assert not re.search(r"[;#:<>%\"{}]", re.sub(r"#\w+;", "", text)), line
    assert "#lt;/script#gt;#lt;script#gt;alert(1)#lt;/script#gt;" in render_mermaid(hand_run)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a;b", "a#59;b"),
        ("#1", "#35;1"),
        ("x: y", "x#58; y"),
        ("%% c", "#37;#37; c"),
        ("<br>", "#lt;br#gt;"),
        ("two\nlines", "two lines"),
    ],
)
def test_mermaid_text_uses_entity_codes(text: str, expected: str) -> None:
    assert mermaid_text(text) == expected


def test_an_old_style_record_still_gives_a_diagram() -> None:
    diagram = render_mermaid(RunRecord("s", "c", [{"seq": 7, "method": "GET", "path": "/api/sync"}], [], None))
    assert _arrows(diagram) == [("API", 7)]
    assert diagram.splitlines()[-1] == "    Note over Client,API: final state unknown"


def test_a_real_run_gives_one_arrow_per_journal_entry(real_report_dir) -> None:
    for run in load_runs(real_report_dir):
        assert [seq for _, seq in _arrows(render_mermaid(run))] == [entry["seq"] for entry in run.journal]
