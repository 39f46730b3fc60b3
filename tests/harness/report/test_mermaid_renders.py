"""Mermaid itself (the pinned npm release GitHub's renderer is built on) parses and draws our diagrams in Chromium.

The structural tests in test_mermaid.py check what we write; this one checks that Mermaid accepts it, including
the hand-made run with a hostile path, and draws one message per request and one per answer.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from harness.report import RunRecord, dump_dom, load_runs, render_mermaid

MERMAID_VERSION = "12.3.0"
CACHE = Path(os.environ.get("SLEEPWALK_HOME", Path.home() / ".cache" / "sleepwalk")) / f"mermaid-{MERMAID_VERSION}"


@pytest.fixture(scope="session")
def mermaid_js() -> Path:
    """mermaid.min.js of the pinned release, fetched once with `npm pack` (the self-contained browser bundle)."""
    bundle = CACHE / "mermaid.min.js"
    if bundle.exists():
        return bundle
    npm = shutil.which("npm")
    if npm is None:
        if os.environ.get("CI"):
            pytest.fail("npm is missing; CI must install it (.ci/run) to check that Mermaid renders our diagrams.")
        pytest.skip("npm is not installed: it fetches the Mermaid release these diagrams are rendered with")
    CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [npm, "pack", f"mermaid@{MERMAID_VERSION}", "--pack-destination", str(CACHE), "--silent"],
        check=True,
        capture_output=True,
        timeout=300,
    )
    with tarfile.open(CACHE / f"mermaid-{MERMAID_VERSION}.tgz") as archive:
        member = archive.extractfile("package/dist/mermaid.min.js")
        assert member is not None
        temporary = bundle.with_suffix(".tmp")
        temporary.write_bytes(member.read())
    temporary.replace(bundle)
    return bundle


def _rendered(diagram: str, mermaid_js: Path, folder: Path, chromium: Path) -> str:
    page = folder / "mermaid.html"
    page.write_text(
        f"""<!doctype html><html><body><pre id="src">{html.escape(diagram)}</pre><div id="out"></div>
<script src="{mermaid_js.as_uri()}"></script>
<script>
mermaid.initialize({{startOnLoad: false, securityLevel: "strict"}});
const source = document.getElementById("src").textContent;
mermaid.parse(source)
  .then(() => mermaid.render("diagram", source))
  .then((result) => {{ document.getElementById("out").innerHTML = result.svg; document.body.dataset.mermaid = "ok"; }})
  .catch((error) => {{
    document.body.dataset.mermaid = "error";
    document.getElementById("out").textContent = String((error && error.message) || error);
  }});
</script></body></html>"""
    )
    return dump_dom(page, chromium=chromium)


def _check_renders(run: RunRecord, mermaid_js: Path, folder: Path, chromium: Path) -> None:
    dom = _rendered(render_mermaid(run), mermaid_js, folder, chromium)
    body = re.search(r"<body[^>]*>", dom)
    assert body is not None
    assert 'data-mermaid="ok"' in body.group(0), re.sub(r"\s+", " ", dom)[-800:]
    messages = re.findall(r'<text[^>]*class="messageText"[^>]*>(.*?)</text>', dom, re.S)
    labels = [html.unescape(message) for message in messages]
    for entry in run.journal:
        assert any(label.startswith(f"{entry['seq']}. {entry['method']} ") for label in labels), entry["seq"]
    assert len(labels) == 2 * len(run.journal), labels


def test_mermaid_renders_a_real_run(real_report_dir: Path, mermaid_js: Path, tmp_path: Path, chromium: Path) -> None:
    for run in load_runs(real_report_dir):
        _check_renders(run, mermaid_js, tmp_path, chromium)


def test_mermaid_renders_the_hand_made_run_with_a_hostile_path(
    hand_run: RunRecord, mermaid_js: Path, tmp_path: Path, chromium: Path
) -> None:
    _check_renders(hand_run, mermaid_js, tmp_path, chromium)
