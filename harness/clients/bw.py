"""The real `@bitwarden/cli` driver: install pinned versions with npm, run `bw` commands, move the CLI's clock.

Each `BwClient` is one CLI instance: one installed version, its own data directory (`data.json` with tokens and
keys) and its own clock offset file, read by `node_clock_preload.cjs` on every `Date.now()` of the Node process
(real-cli.md §5, §7.2). Every `bw` command is a new Node process; state carries over only through the data
directory.

Errors::

    BwError                 anything the driver cannot do; the message says the fix
    ├── NodeMissing         node or npm is not on PATH
    ├── UnknownVersion      not a version number, or npm does not know it
    └── InstallFailed       npm failed for another reason
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
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "PINNED_VERSIONS",
    "BwClient",
    "BwError",
    "BwRun",
    "InstallFailed",
    "NodeMissing",
    "UnknownVersion",
    "bw_js_path",
    "default_cache_dir",
    "install",
]

logger = logging.getLogger(__name__)

#: The CLI versions the harness is pinned to: the last one before bitwarden/clients#17407, the first one with it,
#: and the newest examined (real-cli.md §2).
PINNED_VERSIONS: tuple[str, ...] = ("2025.12.1", "2026.1.0", "2026.9.0")

PRELOAD = Path(__file__).with_name("node_clock_preload.cjs")
CLOCK_FILE_NAME = "sleepwalk-clock-offset"

_VERSION = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+")
_NPM_UNKNOWN = re.compile(r"\b(E404|ETARGET)\b")
_PACKAGE = "@bitwarden/cli"
_OUTPUT_TAIL_LINES = 15
# Inherited settings that would make a run depend on the developer's shell: a session or API key of their own
# vault, another data directory, or a proxy, which the CLI applies to every request with no NO_PROXY exception
# (real-cli.md §9). A caller who wants one passes it explicitly through `env=`.
_NOT_INHERITED_PREFIXES = ("BW_", "BITWARDENCLI_")
_NOT_INHERITED = frozenset({"http_proxy", "https_proxy", "SLEEPWALK_CLOCK_OFFSET_FILE"})


class BwError(Exception):
    """Base of the driver's errors; the message is one sentence with the fix."""


class NodeMissing(BwError):
    """Node.js or npm is not installed or not on PATH."""


class UnknownVersion(BwError):
    """The version is not a version number, or npm has no such `@bitwarden/cli` release."""


class InstallFailed(BwError):
    """npm could not install the CLI for another reason; the message ends with npm's last lines."""


def default_cache_dir() -> Path:
    """Where CLI versions are installed: `$SLEEPWALK_CLI_CACHE`, else `~/.cache/sleepwalk/cli`."""
    configured = os.environ.get("SLEEPWALK_CLI_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "sleepwalk" / "cli"


def bw_js_path(version: str, cache_dir: Path | None = None) -> Path:
    """The path `install(version)` puts `bw.js` at, whether or not it is installed yet."""
    _check_version(version)
    return _bw_js(_version_dir(version, cache_dir or default_cache_dir()))


def install(version: str, cache_dir: Path | None = None, *, timeout: float = 600) -> Path:
    """The path to `bw.js` of `@bitwarden/cli@version`, installed with npm into `<cache>/cli-<version>` if missing.

    npm installs into a temporary folder beside the final one, which is renamed into place only once `bw.js` is
    there, so an interrupted install never leaves a folder that looks complete.
    """
    _check_version(version)
    cache = cache_dir or default_cache_dir()
    target = _version_dir(version, cache)
    bw_js = _bw_js(target)
    if bw_js.is_file():
        return bw_js
    npm = shutil.which("npm")
    if shutil.which("node") is None or npm is None:
        raise NodeMissing(
            f"Node.js is needed to run bw@{version}; install it (apt-get install nodejs npm) "
            "or put node and npm on PATH, then try again."
        )
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=cache))
    try:
        _npm_install(npm, version, staging, timeout)
        if not _bw_js(staging).is_file():
            raise InstallFailed(
                f"npm installed {_PACKAGE}@{version} but {_bw_js(staging).relative_to(staging)} is missing; "
                "the package layout changed, so update harness/clients/bw.py to the new entry point."
            )
        if target.exists() and not bw_js.is_file():
            # Not ours (we never create an incomplete target): a hand-made or damaged folder.
            logger.warning("Replacing %s, which has no bw.js", target)
            shutil.rmtree(target)
        try:
            staging.rename(target)
        except OSError:
            if not bw_js.is_file():
                raise
            logger.info("Another process installed bw@%s meanwhile; using its copy", version)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    logger.info("Installed bw@%s at %s", version, bw_js)
    return bw_js


def _check_version(version: str) -> None:
    if not _VERSION.fullmatch(version):
        raise UnknownVersion(
            f"{version!r} is not a version number like 2026.1.0; pass an exact {_PACKAGE} version "
            f"(pinned: {', '.join(PINNED_VERSIONS)})."
        )


def _version_dir(version: str, cache: Path) -> Path:
    return cache / f"cli-{version}"


def _bw_js(folder: Path) -> Path:
    return folder / "node_modules" / "@bitwarden" / "cli" / "build" / "bw.js"


def _npm_install(npm: str, version: str, prefix: Path, timeout: float) -> None:
    command = [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", f"{_PACKAGE}@{version}"]
    logger.info("Installing bw@%s: %s", version, " ".join(command))
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        stdout, stderr = _communicate(process, None, timeout)
    except _TimedOut as exc:
        raise InstallFailed(
            f"npm did not install {_PACKAGE}@{version} within {timeout:g} s and was stopped; check the network "
            "or the npm registry setting (npm config get registry) and try again."
        ) from exc
    if process.returncode == 0:
        return
    output = f"{stdout}\n{stderr}"
    if _NPM_UNKNOWN.search(output):
        raise UnknownVersion(
            f"npm has no {_PACKAGE}@{version}; pick a published version (npm view {_PACKAGE} versions lists them)."
        )
    tail = "\n".join(output.strip().splitlines()[-_OUTPUT_TAIL_LINES:])
    raise InstallFailed(
        f"npm could not install {_PACKAGE}@{version} (exit {process.returncode}); fix what npm reports "
        f"and try again. npm said:\n{tail}"
    )


@dataclass(frozen=True)
class BwRun:
    """One finished `bw` command: its arguments (without node and bw.js), exit code, output and wall time."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def check(self) -> BwRun:
        """This run if it exited 0; otherwise BwError naming the command and what it printed."""
        if self.returncode != 0:
            raise BwError(
                f"`bw {_shown(self.args)}` exited {self.returncode}; it printed stdout {self.stdout.strip()!r} "
                f"and stderr {self.stderr.strip()!r}. Check the server's journal for the request that failed."
            )
        return self


class BwClient:
    """One CLI instance: one version, its own data directory and its own clock offset file.

    Example::

        client = BwClient(install("2026.1.0"), tmp / "bw", server_ca)
        client.run("config", "server", url).check()
        session = client.run("login", email, password, "--raw").check().stdout.strip()
        client.set_clock_offset(15 * 60)  # the CLI's Date now reads 15 minutes later
        client.run("sync", env={"BW_SESSION": session})
    """

    def __init__(self, bw_js: Path, data_dir: Path, ca_cert: Path, *, node: str = "node") -> None:
        self.bw_js = bw_js
        self.data_dir = data_dir
        self.ca_cert = ca_cert
        self.node = node
        self.clock_file = data_dir / CLOCK_FILE_NAME
        data_dir.mkdir(parents=True, exist_ok=True)
        self._clock_offset = 0.0
        self.set_clock_offset(0.0)

    def __repr__(self) -> str:
        return f"BwClient({str(self.bw_js)!r}, {str(self.data_dir)!r}, clock_offset={self._clock_offset:g})"

    @property
    def clock_offset(self) -> float:
        """Seconds the CLI's wall clock runs ahead of real time (negative: behind)."""
        return self._clock_offset

    def set_clock_offset(self, seconds: float) -> None:
        """Move the CLI's wall clock to real time + `seconds`, also for a process already running.

        The file is replaced atomically: the preload reads it on every `Date.now()`, and an in-place rewrite
        could be read half-written (real-cli.md §7.2).
        """
        write_clock_offset(self.clock_file, seconds)
        self._clock_offset = seconds
        logger.debug("Clock offset of %s set to %+g s", self.data_dir, seconds)

    def environment(self, env: dict[str, str] | None = None) -> dict[str, str]:
        """The environment of a `bw` command: this process's, then `env`, then the variables this client owns.

        Inherited `BW_*`, `BITWARDENCLI_*` and proxy settings are dropped; the client's own variables always win.
        """
        merged = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(_NOT_INHERITED_PREFIXES) and name not in _NOT_INHERITED
        }
        merged.update(env or {})
        merged["NODE_OPTIONS"] = preload_node_options(merged.get("NODE_OPTIONS", ""))
        merged["BITWARDENCLI_APPDATA_DIR"] = str(self.data_dir)
        merged["NODE_EXTRA_CA_CERTS"] = str(self.ca_cert)
        merged["BW_NOINTERACTION"] = "true"
        merged["SLEEPWALK_CLOCK_OFFSET_FILE"] = str(self.clock_file)
        return merged

    def run(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        timeout: float = 120,
        stdin: str | None = None,
        on_start: Callable[[subprocess.Popen[str]], None] | None = None,
    ) -> BwRun:
        """Run `bw <args>` to completion; a command still running after `timeout` seconds is killed (BwError).

        `stdin` is piped in and closed; without it the CLI reads an empty, closed stdin (never a terminal).
        `on_start` gets the process as soon as it runs, so another thread can stop it (`kill_group`); the run then
        returns with the signal's negative exit code.
        """
        started = time.monotonic()
        process = self._popen(args, env)
        if on_start is not None:
            on_start(process)
        try:
            stdout, stderr = _communicate(process, stdin, timeout)
        except _TimedOut as exc:
            raise BwError(
                f"`bw {_shown(args)}` did not finish within {timeout:g} s and was killed; it printed stdout "
                f"{exc.stdout.strip()!r} and stderr {exc.stderr.strip()!r}. Check for a request held at the "
                "server or a prompt the CLI waits for, or raise the timeout."
            ) from None
        result = BwRun(tuple(args), process.returncode, stdout, stderr, time.monotonic() - started)
        logger.debug("bw %s -> exit %s in %.2f s", _shown(args), result.returncode, result.seconds)
        return result

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        """Start `bw <args>` (e.g. `serve`) without waiting; the caller stops it (`terminate()`, then `wait()`).

        The process leads its own process group and has text pipes for stdin, stdout and stderr.
        """
        return self._popen(args, env)

    def _popen(self, args: tuple[str, ...], env: dict[str, str] | None) -> subprocess.Popen[str]:
        command = [self.node, str(self.bw_js), *args]
        try:
            return subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=self.environment(env),
                start_new_session=True,
            )
        except FileNotFoundError as exc:
            if shutil.which(self.node) is None:
                raise NodeMissing(
                    f"Node.js is needed to run {self.bw_js}, but {self.node!r} is not on PATH; install it "
                    "(apt-get install nodejs npm) or pass node= the path to the node binary."
                ) from exc
            raise


class _TimedOut(Exception):
    def __init__(self, stdout: str, stderr: str) -> None:
        super().__init__("timed out")
        self.stdout = stdout
        self.stderr = stderr


def write_clock_offset(path: Path, seconds: float) -> None:
    """Write the preload's offset file (milliseconds) atomically: a reader sees the old or the new offset."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(f"{round(seconds * 1000)}\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def preload_node_options(existing: str = "") -> str:
    """NODE_OPTIONS that load the clock bridge, quoted for paths with spaces, after any `existing` options."""
    preload = str(PRELOAD).replace("\\", "\\\\").replace('"', '\\"')
    return f'{existing} --require "{preload}"'.strip()


def _communicate(process: subprocess.Popen[str], stdin: str | None, timeout: float) -> tuple[str, str]:
    """Output of a process started with `start_new_session`; its whole group is killed on timeout or interrupt."""
    try:
        return process.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(process)
        raise _TimedOut(*process.communicate()) from None
    except BaseException:
        kill_group(process)
        process.communicate()
        raise


def kill_group(process: subprocess.Popen[str]) -> None:
    """SIGKILL a process started by BwClient and everything it started; also a frozen (SIGSTOPped) one."""
    # The process leads its own session, so its group id is its PID; killing the group also ends anything it
    # started (npm's install scripts, for one). SIGKILL needs no SIGCONT: it ends stopped processes too.
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def _shown(args: tuple[str, ...]) -> str:
    # `bw create item` takes the whole item as one base64 argument; a message needs only its start.
    return " ".join(arg if len(arg) <= 60 else f"{arg[:40]}…" for arg in args)
