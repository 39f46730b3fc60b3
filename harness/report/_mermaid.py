"""A Mermaid `sequenceDiagram` of one run: the client's requests to the identity server and the API, in order,
with notes where the clocks jumped, faults were added or fired, requests were held, and how the run ended.

Mermaid reads `;` and `#` specially and `%%` starts a comment, so message text carries those (and `:`, `<`, `>`,
quotes, braces) as Mermaid's `#code;` entities, which GitHub's renderer turns back into the characters.
"""

from __future__ import annotations

from datetime import datetime

from harness.report._records import RunRecord
from harness.report._timeline import ClockJump, ControlMark, RequestMark, Timeline, build_timeline

__all__ = ["mermaid_text", "render_mermaid"]

_ENTITIES = {
    "#": "#35;",
    ";": "#59;",
    ":": "#58;",
    "%": "#37;",
    "<": "#lt;",
    ">": "#gt;",
    "&": "#amp;",
    '"': "#quot;",
    "`": "#96;",
    "{": "#123;",
    "}": "#125;",
    "\\": "#92;",
}


def mermaid_text(text: str) -> str:
    """`text` made safe for one Mermaid message or note: entities for special characters, one line."""
    flat = " ".join(text.split())
    return "".join(_ENTITIES.get(char, char) for char in flat)


def _request_lines(request: RequestMark) -> list[str]:
    server = request.participant
    lines = [f"    Client->>{server}: {mermaid_text(f'{request.seq}. {request.label}')}"]
    if request.held:
        lines.append(f"    Note right of {server}: {mermaid_text(f'request {request.seq} held by a fault')}")
    if request.fault_action:
        fault = f"fault {request.fault_id or '?'} fired: {request.fault_action}"
        lines.append(f"    Note right of {server}: {mermaid_text(fault)}")
    answer = "no answer" if request.status is None else str(request.status)
    if request.verdict and request.verdict != "valid":
        answer += f" (token {request.verdict})"
    arrow = "--x" if request.status is None else "-->>"
    lines.append(f"    {server}{arrow}Client: {mermaid_text(answer)}")
    return lines


def _jump_lines(jump: ClockJump) -> list[str]:
    return [f"    Note over Client,API: {mermaid_text(jump.summary)}"]


def _control_lines(control: ControlMark) -> list[str]:
    words = {"fault": "fault added", "revoke": "tokens revoked", "expire": "server expires all access tokens"}
    text = control.text or words.get(control.kind, control.kind)
    return [f"    Note over Client,API: {mermaid_text(text)}"]


def _when(at: datetime | None) -> float:
    return at.timestamp() if at is not None else float("inf")


def _ordered(timeline: Timeline) -> list[list[str]]:
    # Requests keep journal order; a clock or control event goes before the first request that arrived (in real
    # time) after it. Events without a real time go last.
    notes = [(_when(jump.real), index, _jump_lines(jump)) for index, jump in enumerate(timeline.jumps)]
    notes += [
        (_when(control.real), len(notes) + index, _control_lines(control))
        for index, control in enumerate(timeline.controls)
    ]
    notes.sort(key=lambda note: (note[0], note[1]))
    blocks: list[list[str]] = []
    position, arrived = 0, float("-inf")
    for request in timeline.requests:
        if request.real is not None:
            arrived = max(arrived, request.real.timestamp())
        while position < len(notes) and notes[position][0] <= arrived:
            blocks.append(notes[position][2])
            position += 1
        blocks.append(_request_lines(request))
    blocks += [note[2] for note in notes[position:]]
    return blocks


def render_mermaid(run: RunRecord) -> str:
    """A Mermaid `sequenceDiagram` of the run, ready for a ```mermaid block on GitHub."""
    timeline = build_timeline(run)
    lines = [
        "sequenceDiagram",
        "    participant Client",
        "    participant Identity as Identity (/identity/...)",
        "    participant API as API (/api/...)",
    ]
    verdict = {True: "PASS", False: "FAIL", None: "no verdict"}[timeline.passed]
    lines.append(f"    Note over Client,API: {mermaid_text(f'{timeline.scenario} with {timeline.client}, {verdict}')}")
    for block in _ordered(timeline):
        lines += block
    ending = f"final state {timeline.state or 'unknown'}"
    if timeline.logout_reason:
        ending += f", logout reason {timeline.logout_reason}"
    if timeline.exit_code is not None:
        ending += f", exit {timeline.exit_code}"
    lines.append(f"    Note over Client,API: {mermaid_text(ending)}")
    return "\n".join(lines) + "\n"
