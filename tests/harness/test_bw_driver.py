"""The real-CLI driver without the real CLI: versions, installs with a fake npm, the clock file and the preload."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from harness.clients.bw import (
    PINNED_VERSIONS,
    PRELOAD,
    BwClient,
    BwError,
    InstallFailed,
    NodeMissing,
    UnknownVersion,
    bw_js_path,
    default_cache_dir,
    install,
)

NODE = shutil.which("node")
DAY_MS = 86_400_000


@pytest.fixture
def node() -> str:
    if NODE is None:
        if os.environ.get("CI"):
            pytest.fail("node is not installed; CI must run the driver tests, so install Node.js there.")
        pytest.skip("node is not installed: the preload and process tests need it")
    return NODE


def test_pinned_versions_are_the_pre_fix_post_fix_pair_and_the_newest() -> None:
    assert PINNED_VERSIONS == ("2025.12.1", "2026.1.0", "2026.9.0")


def test_default_cache_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SLEEPWALK_CLI_CACHE", str(tmp_path))
    assert default_cache_dir() == tmp_path
    monkeypatch.delenv("SLEEPWALK_CLI_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "sleepwalk" / "cli"


@pytest.mark.parametrize(
    "version", ["latest", "2026.1", "2026.1.0-beta", "v2026.1.0", "../2026.1.0", "", " 1.2.3", "1.2.3\n", "١.٢.٣"]
)
def test_install_refuses_what_is_not_a_version_number(version: str, tmp_path: Path) -> None:
    with pytest.raises(UnknownVersion, match=r"is not a version number like 2026\.1\.0"):
        install(version, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_install_returns_an_installed_version_without_npm(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bw_js = bw_js_path("2026.1.0", tmp_path)
    bw_js.parent.mkdir(parents=True)
    bw_js.write_text("// bw")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert install("2026.1.0", tmp_path) == bw_js == tmp_path / "cli-2026.1.0/node_modules/@bitwarden/cli/build/bw.js"


def _fake_tools(folder: Path, npm_script: str) -> str:
    """A PATH with a `node` stub and an `npm` shell script first, then the system's basic tools."""
    folder.mkdir()
    for name, body in (("node", "exit 0"), ("npm", npm_script)):
        tool = folder / name
        tool.write_text(f"#!/bin/sh\n{textwrap.dedent(body)}\n")
        tool.chmod(0o755)
    return os.pathsep.join([str(folder), "/usr/bin", "/bin"])


# The fake npm gets: install --prefix <dir> --no-audit --no-fund @bitwarden/cli@<version>
_NPM_INSTALLS = """
    echo "$@" >> "$(dirname "$0")/calls"
    mkdir -p "$3/node_modules/@bitwarden/cli/build"
    echo '// bw' > "$3/node_modules/@bitwarden/cli/build/bw.js"
    echo "added 224 packages in 11s"
"""


def test_install_runs_npm_once_into_a_folder_renamed_into_place(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", _fake_tools(tmp_path / "bin", _NPM_INSTALLS))
    cache = tmp_path / "cache"

    first = install("2026.9.0", cache)
    second = install("2026.9.0", cache)

    assert first == second == bw_js_path("2026.9.0", cache)
    assert first.read_text() == "// bw\n"
    calls = (tmp_path / "bin" / "calls").read_text().splitlines()
    assert len(calls) == 1
    assert calls[0].startswith(f"install --prefix {cache}/.cli-2026.9.0.")
    assert calls[0].endswith(".partial --no-audit --no-fund @bitwarden/cli@2026.9.0")
    assert sorted(path.name for path in cache.iterdir()) == ["cli-2026.9.0"]


def test_install_replaces_a_folder_without_bw_js(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", _fake_tools(tmp_path / "bin", _NPM_INSTALLS))
    cache = tmp_path / "cache"
    (cache / "cli-2026.9.0" / "node_modules").mkdir(parents=True)
    assert install("2026.9.0", cache).is_file()


@pytest.mark.parametrize(
    "npm_error",
    [
        "npm error code ETARGET\nnpm error notarget No matching version found for @bitwarden/cli@2031.1.1.",
        "npm error code E404\nnpm error 404 Not Found - GET https://registry.npmjs.org/@bitwarden%2fcli",
        "npm ERR! code ETARGET",
    ],
)
def test_install_maps_npm_not_found_to_unknown_version(
    npm_error: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    script = f"mkdir -p \"$3/node_modules\"\nprintf '%s\\n' '{npm_error}' >&2\nexit 1"
    monkeypatch.setenv("PATH", _fake_tools(tmp_path / "bin", script))
    cache = tmp_path / "cache"
    with pytest.raises(UnknownVersion) as caught:
        install("2031.1.1", cache)
    assert "@bitwarden/cli@2031.1.1" in str(caught.value)
    assert "npm view @bitwarden/cli versions" in str(caught.value)
    assert list(cache.iterdir()) == [], "a failed install must leave no folder behind"


def test_install_reports_other_npm_failures_with_npm_output(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    noise = "\n".join(f"npm http fetch GET line {n}" for n in range(40))
    script = f"mkdir -p \"$3/node_modules\"\necho '{noise}'\necho 'npm error code ECONNREFUSED' >&2\nexit 7"
    monkeypatch.setenv("PATH", _fake_tools(tmp_path / "bin", script))
    cache = tmp_path / "cache"
    with pytest.raises(InstallFailed) as caught:
        install("2026.9.0", cache)
    message = str(caught.value)
    assert "(exit 7)" in message
    assert message.endswith("npm error code ECONNREFUSED")
    assert "line 39" in message
    assert "line 5\n" not in message, "only the last lines of npm's output belong in the message"
    assert list(cache.iterdir()) == []


def test_install_needs_node_and_npm(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(NodeMissing, match=r"Node.js is needed to run bw@2026.1.0; install it \(apt-get install"):
        install("2026.1.0", tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def test_client_without_node_raises_node_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    client = BwClient(tmp_path / "bw.js", tmp_path / "data", tmp_path / "ca.pem")
    with pytest.raises(NodeMissing, match="'node' is not on PATH"):
        client.run("status")
    assert issubclass(NodeMissing, BwError)


def test_clock_offset_starts_at_zero_and_is_written_in_milliseconds(tmp_path: Path) -> None:
    client = BwClient(tmp_path / "bw.js", tmp_path / "data", tmp_path / "ca.pem")
    assert client.clock_offset == 0
    assert client.clock_file.read_text() == "0\n"

    client.set_clock_offset(86_400.0004)
    assert client.clock_offset == 86_400.0004
    assert client.clock_file.read_text() == "86400000\n"
    client.set_clock_offset(-1.5)
    assert client.clock_file.read_text() == "-1500\n"


def test_clock_offset_file_is_replaced_not_rewritten(tmp_path: Path) -> None:
    client = BwClient(tmp_path / "bw.js", tmp_path / "data", tmp_path / "ca.pem")
    before = client.clock_file.stat().st_ino
    with client.clock_file.open() as reader_of_old_file:
        client.set_clock_offset(3600)
        # A reader that opened the old file still sees it whole: the new offset arrived by rename.
        assert reader_of_old_file.read() == "0\n"
    assert client.clock_file.stat().st_ino != before
    assert client.clock_file.read_text() == "3600000\n"
    assert sorted(path.name for path in client.data_dir.iterdir()) == [client.clock_file.name]


def test_environment_sets_what_the_cli_needs_and_drops_inherited_bw_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BW_SESSION", "from-the-developer-shell")
    monkeypatch.setenv("https_proxy", "http://proxy.invalid:3128")
    monkeypatch.setenv("NODE_OPTIONS", "--max-old-space-size=512")
    client = BwClient(tmp_path / "bw.js", tmp_path / "data dir", tmp_path / "ca.pem")
    env = client.environment({"BW_CLIENTID": "user.x", "BITWARDENCLI_APPDATA_DIR": "/elsewhere"})
    assert "BW_SESSION" not in env
    assert "https_proxy" not in env
    assert env["BW_CLIENTID"] == "user.x"
    assert env["BITWARDENCLI_APPDATA_DIR"] == str(tmp_path / "data dir")
    assert env["NODE_EXTRA_CA_CERTS"] == str(tmp_path / "ca.pem")
    assert env["BW_NOINTERACTION"] == "true"
    assert env["SLEEPWALK_CLOCK_OFFSET_FILE"] == str(client.clock_file)
    assert env["NODE_OPTIONS"] == f'--max-old-space-size=512 --require "{PRELOAD}"'


# A stand-in for bw.js: reports its environment and clock, and its PID for the timeout test.
_FAKE_BW = """
const fs = require('fs');
const [command] = process.argv.slice(2);
if (command === 'report') {
  const real = performance.timeOrigin + performance.now();
  console.log(JSON.stringify({
    shift: Date.now() - real,
    appdata: process.env.BITWARDENCLI_APPDATA_DIR,
    ca: process.env.NODE_EXTRA_CA_CERTS,
    nointeraction: process.env.BW_NOINTERACTION,
    session: process.env.BW_SESSION,
    stdin: fs.readFileSync(0, 'utf8'),
  }));
  process.exitCode = 3;
} else if (command === 'hang') {
  fs.writeFileSync(process.argv[3], String(process.pid));
  console.log('started');
  setInterval(() => {}, 1000);
} else if (command === 'twice') {
  const real = () => performance.timeOrigin + performance.now();
  console.log(Math.round((Date.now() - real()) / 1000));
  fs.readSync(0, Buffer.alloc(1));
  console.log(Math.round((Date.now() - real()) / 1000));
}
"""


@pytest.fixture
def fake_client(tmp_path: Path, node: str) -> BwClient:
    bw_js = tmp_path / "bw.js"
    bw_js.write_text(_FAKE_BW)
    return BwClient(bw_js, tmp_path / "data", tmp_path / "ca.pem", node=node)


def test_run_passes_environment_stdin_and_the_clock(fake_client: BwClient) -> None:
    fake_client.set_clock_offset(86_400)
    result = fake_client.run("report", env={"BW_SESSION": "abc"}, stdin="piped")
    assert result.args == ("report",)
    assert result.returncode == 3
    assert result.seconds > 0
    report = json.loads(result.stdout)
    assert abs(report.pop("shift") - DAY_MS) < 1_000
    assert report == {
        "appdata": str(fake_client.data_dir),
        "ca": str(fake_client.ca_cert),
        "nointeraction": "true",
        "session": "abc",
        "stdin": "piped",
    }
    with pytest.raises(BwError, match=r"`bw report` exited 3; it printed stdout"):
        result.check()


def test_run_kills_a_command_that_outlives_its_timeout(fake_client: BwClient, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    with pytest.raises(BwError, match=r"`bw hang .*` did not finish within 0.5 s and was killed.*'started'"):
        fake_client.run("hang", str(pid_file), timeout=0.5)
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


def test_a_running_process_sees_the_next_offset_at_its_next_clock_reading(fake_client: BwClient) -> None:
    process = fake_client.start("twice")
    try:
        assert process.stdin is not None
        assert process.stdout is not None
        assert int(process.stdout.readline()) == 0
        fake_client.set_clock_offset(3_600)
        process.stdin.write("\n")
        process.stdin.flush()
        assert int(process.stdout.readline()) == 3_600
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


# Everything about Date that must not move; `shift` and `subclassShift` are the only readings of "now".
_PROBE = """
const real = performance.timeOrigin + performance.now();
class Stamp extends Date {}
console.log(JSON.stringify({
  shift: Date.now() - real,
  newShift: new Date().getTime() - real,
  subclassShift: new Stamp().getTime() - real,
  epoch: new Date(0).getTime(),
  instance: new Date() instanceof Date,
  fromParts: new Date(2020, 0, 1, 12, 30).getTime(),
  fromString: new Date('2020-01-01T00:00:00Z').getTime(),
  copy: new Date(new Date(7)).getTime(),
  parse: Date.parse('2020-01-01T00:00:00Z'),
  utc: Date.UTC(2020, 0, 1),
  invalid: String(new Date('nonsense')),
  calledAsFunction: typeof Date(),
  name: Date.name,
  length: Date.length,
  source: Date.toString(),
  nowName: Date.now.name,
  prototype: Object.getPrototypeOf(new Date(1)) === Date.prototype,
  constructorIsDate: new Date(1).constructor === Date,
  subclass: new Stamp(5).getTime() === 5 && new Stamp() instanceof Stamp && new Stamp() instanceof Date,
  subclassNow: Math.round((Stamp.now() - Date.now()) / 1000),
  text: new Date(1e12).toString(),
  iso: new Date(1e12).toISOString(),
  tag: Object.prototype.toString.call(new Date()),
  monotonic: Math.abs(performance.timeOrigin + performance.now() - real) < 10000,
}));
"""


def _probe(node: str, offset_file: Path | None, tmp_path: Path) -> dict[str, object]:
    env = {key: value for key, value in os.environ.items() if key != "SLEEPWALK_CLOCK_OFFSET_FILE"}
    if offset_file is not None:
        env["SLEEPWALK_CLOCK_OFFSET_FILE"] = str(offset_file)
    script = tmp_path / "probe.js"
    script.write_text(_PROBE)
    completed = subprocess.run(
        [node, "--require", str(PRELOAD), str(script)], env=env, capture_output=True, text=True, check=True
    )
    report: dict[str, object] = json.loads(completed.stdout)
    return report


def _shifts(report: dict[str, object]) -> tuple[float, ...]:
    return tuple(float(report.pop(key)) for key in ("shift", "newShift", "subclassShift"))  # type: ignore[arg-type]


def test_preload_shifts_now_and_leaves_the_rest_of_date_alone(node: str, tmp_path: Path) -> None:
    offset_file = tmp_path / "offset"
    offset_file.write_text(f"{DAY_MS}\n")
    shifted = _probe(node, offset_file, tmp_path)
    plain = _probe(node, None, tmp_path)

    assert all(abs(shift - DAY_MS) < 1_000 for shift in _shifts(shifted))
    assert all(abs(shift) < 1_000 for shift in _shifts(plain))
    assert shifted == plain
    assert shifted["epoch"] == 0
    assert shifted["utc"] == shifted["parse"] == 1_577_836_800_000
    assert shifted["source"] == "function Date() { [native code] }"
    assert shifted["instance"] is shifted["constructorIsDate"] is shifted["subclass"] is True


@pytest.mark.parametrize("content", [None, "", "\n", "garbled", "12abc", "NaN", "Infinity"])
def test_preload_treats_a_missing_or_unreadable_offset_as_zero(content: str | None, node: str, tmp_path: Path) -> None:
    offset_file = tmp_path / "offset"
    if content is not None:
        offset_file.write_text(content)
    assert all(abs(shift) < 1_000 for shift in _shifts(_probe(node, offset_file, tmp_path)))


def test_preload_does_nothing_without_an_offset_file_setting(node: str) -> None:
    completed = subprocess.run(
        [node, "--require", str(PRELOAD), "-e", "console.log(Date.now.toString())"],
        env={key: value for key, value in os.environ.items() if key != "SLEEPWALK_CLOCK_OFFSET_FILE"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert completed.stdout.strip() == "function now() { [native code] }"
