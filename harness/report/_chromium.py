"""Headless Chromium for reports: the DOM a page renders to, and a screenshot of it.

Each run gets a fresh, throw-away profile and no network features (QUIC, sync, component updates, background
fetches), runs in its own process group, and is killed with its children when it overruns its timeout.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from harness.report._records import ReportError

__all__ = ["ChromiumError", "ChromiumMissing", "dump_dom", "find_chromium", "take_screenshot"]

logger = logging.getLogger(__name__)

#: Tried in order after `SLEEPWALK_CHROMIUM`: names on PATH, then Debian's fixed path.
_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "/usr/bin/chromium")
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
#: Screenshots are capped in height: Chromium's compositor refuses very tall windows.
MAX_SCREENSHOT_HEIGHT = 16_000


class ChromiumError(ReportError):
    """Chromium ran but failed, or overran its timeout."""


class ChromiumMissing(ReportError):
    """No Chromium executable was found."""


def find_chromium(environ: Mapping[str, str] | None = None) -> Path:
    """The Chromium to run: `SLEEPWALK_CHROMIUM` if set, else `chromium`/`chromium-browser` on PATH."""
    environ = os.environ if environ is None else environ
    override = environ.get("SLEEPWALK_CHROMIUM")
    if override:
        found = shutil.which(override)
        if found is None:
            raise ChromiumMissing(
                f"SLEEPWALK_CHROMIUM is {override!r}, which is not an executable; point it at chromium or unset it."
            )
        return Path(found)
    for candidate in _CANDIDATES:
        found = shutil.which(candidate, path=environ.get("PATH"))
        if found is not None:
            return Path(found)
    raise ChromiumMissing(
        "chromium was not found (tried SLEEPWALK_CHROMIUM, chromium, chromium-browser, google-chrome); "
        "install it (Debian: apt-get install chromium) or set SLEEPWALK_CHROMIUM to its path."
    )


def _run(chromium: Path, arguments: list[str], timeout: float) -> str:
    with tempfile.TemporaryDirectory(prefix="sleepwalk-chromium-") as profile:
        command = [str(chromium), *_FLAGS, f"--user-data-dir={profile}", *arguments]
        logger.debug("running %s", command)
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            _kill_group(process)
            raise ChromiumError(
                f"Chromium did not finish within {timeout:g} s ({' '.join(arguments)}); "
                "its process group was killed. Raise the timeout or check the page for endless work."
            ) from exc
        finally:
            # Helper processes may outlive the browser; they share its process group.
            _kill_group(process)
    if process.returncode != 0:
        tail = "\n".join(stderr.strip().splitlines()[-5:])
        raise ChromiumError(f"Chromium exited with {process.returncode} ({' '.join(arguments)}):\n{tail}")
    return stdout


def _kill_group(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    if process.returncode is None:
        process.communicate()


def dump_dom(page: Path, *, chromium: Path | None = None, timeout: float = 60.0) -> str:
    """The page's DOM after its scripts ran, serialized as HTML."""
    chromium = chromium or find_chromium()
    return _run(chromium, ["--virtual-time-budget=5000", "--dump-dom", page.resolve().as_uri()], timeout)


def take_screenshot(
    page: Path,
    out: Path,
    *,
    width: int = 1400,
    height: int | None = None,
    chromium: Path | None = None,
    timeout: float = 60.0,
) -> Path:
    """A PNG of the page at `width` pixels; the whole page when `height` is None (read from a first render)."""
    chromium = chromium or find_chromium()
    if height is None:
        found = re.search(r'data-page-height="(\d+)"', dump_dom(page, chromium=chromium, timeout=timeout))
        height = int(found.group(1)) + 40 if found else 2000
    height = max(300, min(height, MAX_SCREENSHOT_HEIGHT))
    out.parent.mkdir(parents=True, exist_ok=True)
    arguments = [f"--screenshot={out.resolve()}", f"--window-size={width},{height}", "--virtual-time-budget=5000"]
    _run(chromium, [*arguments, page.resolve().as_uri()], timeout)
    if not out.exists() or out.stat().st_size == 0:
        raise ChromiumError(f"Chromium exited cleanly but wrote no screenshot to {str(out)!r}.")
    return out
