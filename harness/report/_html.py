"""The self-contained HTML report: the timeline model as JSON, with the inlined script and style that draw it.

The page loads nothing: its Content-Security-Policy allows no network at all and runs only the one inlined script
and style whose hashes it names, so even a request path crafted to close the data's `<script>` element could not
run code. The data is escaped regardless (`<`, `>`, `&` as JSON `\\u` escapes).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import tempfile
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from harness.report._records import ReportError, RunRecord, load_runs
from harness.report._timeline import Timeline, build_timeline

__all__ = ["payload", "render_html", "write_html_report"]

#: Command output is kept for the report, but not without bound.
_OUTPUT_LIMIT = 4000


def _offset(at: datetime | None, origin: datetime | None, digits: int) -> float | None:
    if at is None or origin is None:
        return None
    return round((at - origin).total_seconds(), digits)


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _clip(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= _OUTPUT_LIMIT else text[:_OUTPUT_LIMIT] + " …(cut)"


def _run_payload(timeline: Timeline, index: int) -> dict[str, Any]:
    v0, r0 = timeline.virtual_start, timeline.real_start

    def v(at: datetime | None) -> float | None:
        return _offset(at, v0, 3)

    def r(at: datetime | None) -> float | None:
        return _offset(at, r0, 4)

    requests = [
        {
            "seq": request.seq,
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "grant": request.grant,
            "status": request.status,
            "cls": request.status_class,
            "verdict": request.verdict,
            "token_id": request.token_id,
            "issued": request.issued_token_id,
            "fault_id": request.fault_id,
            "fault_action": request.fault_action,
            "held": request.held,
            "note": request.note,
            "refresh": request.is_refresh,
            "token_call": request.is_token_call,
            "v": v(request.virtual),
            "r": r(request.real),
            "v_iso": _iso(request.virtual),
            "r_iso": _iso(request.real),
        }
        for request in timeline.requests
    ]
    tokens = [
        {
            "id": token.token_id,
            "seq": token.issued_seq,
            "grant": token.grant,
            "expiry_source": token.expiry_source,
            "v0": v(token.issued_virtual),
            "vr": v(token.refresh_from_virtual),
            "v1": v(token.expires_virtual),
            "r0": r(token.issued_real),
            "rr": r(timeline.to_real(token.refresh_from_virtual)),
            "r1": r(timeline.to_real(token.expires_virtual)),
            "exp_iso": _iso(token.expires_virtual),
            "uses": list(token.used_by),
            "rejected": list(token.rejected_by),
        }
        for token in timeline.tokens
    ]
    jumps = [
        {
            "v0": v(jump.virtual_before),
            "v1": v(jump.virtual_after),
            "r": r(jump.real),
            "seconds": jump.seconds,
            "kind": jump.kind,
            "inferred": jump.inferred,
            "summary": jump.summary,
            "text": jump.text,
        }
        for jump in timeline.jumps
    ]
    controls = [
        {"seq": c.seq, "kind": c.kind, "v": v(c.virtual), "r": r(c.real), "text": c.text} for c in timeline.controls
    ]
    return {
        "id": f"run-{index + 1}",
        "scenario": timeline.scenario,
        "client": timeline.client,
        "description": timeline.description,
        "source": timeline.source,
        "profile": timeline.profile,
        "expected_profile": timeline.expected_profile,
        "passed": timeline.passed,
        "problems": list(timeline.problems),
        "state": timeline.state,
        "logout_reason": timeline.logout_reason,
        "exit_code": timeline.exit_code,
        "error": timeline.error,
        "settings": timeline.settings,
        "expected": timeline.expected,
        "commands": [
            {
                "command": _clip(command.get("command")),
                "exit_code": command.get("exit_code"),
                "stdout": _clip(command.get("stdout")),
                "stderr": _clip(command.get("stderr")),
            }
            for command in timeline.commands
        ],
        "virtual": {"start": _iso(v0), "span": v(timeline.virtual_end) or 0.0},
        "real": {"start": _iso(r0), "span": r(timeline.real_end) or 0.0},
        "requests": requests,
        "tokens": tokens,
        "jumps": jumps,
        "controls": controls,
    }


def payload(runs: list[RunRecord], *, title: str) -> dict[str, Any]:
    """The JSON the page's script draws: one entry per run, times as seconds from the run's start on each clock."""
    return {"title": title, "runs": [_run_payload(build_timeline(run), index) for index, run in enumerate(runs)]}


def _script_json(data: Any) -> str:
    # Inside <script> only `</script` (and `<!--`) can end the element; escaping every <, > and & covers them all.
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _asset(name: str) -> str:
    return resources.files("harness.report").joinpath(name).read_text(encoding="utf-8")


def _hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def render_html(runs: list[RunRecord], *, title: str) -> str:
    """A self-contained HTML page with each run's timeline on virtual and real time, and its requests table."""
    script, style = _asset("timeline.js"), _asset("timeline.css")
    policy = (
        f"default-src 'none'; script-src '{_hash(script)}'; style-src '{_hash(style)}'; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{html.escape(policy)}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{html.escape(title)}</title>",
            f"<style>{style}</style>",
            "</head>",
            '<body data-rendered="pending">',
            f"<h1>{html.escape(title)}</h1>",
            '<noscript><p class="render-error">This report draws its timelines with JavaScript; enable it.</p>'
            "</noscript>",
            '<div id="render-error" class="render-error" hidden></div>',
            '<div id="app"></div>',
            f'<script type="application/json" id="sleepwalk-data">{_script_json(payload(runs, title=title))}</script>',
            f"<script>{script}</script>",
            "</body>",
            "</html>",
            "",
        ]
    )


def write_html_report(report_dir: Path, runs: list[RunRecord] | None = None) -> Path:
    """Write `report_dir/report.html` (atomically) from the given runs, or from the runs found in `report_dir`."""
    if runs is None:
        runs = load_runs(report_dir)
    text = render_html(runs, title=f"sleepwalk report: {report_dir.resolve().name}")
    target = report_dir / "report.html"
    temporary: str | None = None
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=report_dir, prefix=".report-", suffix=".html", delete=False
        ) as handle:
            temporary = handle.name
            handle.write(text)
        os.replace(temporary, target)
    except OSError as exc:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
        raise ReportError(f"Could not write {str(target)!r} ({exc}); check that the directory is writable.") from exc
    return target
