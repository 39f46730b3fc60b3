"""Benchmark of the mock server: refresh grant and authenticated GET against two baselines in the same run.

    python bench/bench_server.py [--runs 3] [--duration 5] [--connections 32] [--placement split|shared]

Starts three HTTPS servers, each one process with one worker, all with the certificate of our data dir:

- ours: `python -m mock_identity_server` with a benchmarking world (access-token lifetime 86400 s, logged in once
  by the password grant as the CLI does); the journal and all state are on as always.
- bare: `bench/bare_app.py`, a FastAPI app with one small-JSON endpoint under the same uvicorn settings.
- peer: the npm mock `oauth2-mock-server` (pinned, installed under ~/.cache/sleepwalk/bench) via
  `bench/peer_server.mjs`.

and drives them with wrk (Debian package) in two connection modes: keep-alive, and a new connection per request
(`Connection: close`, as the Bitwarden CLI connects; checked by counting TCP connects per request). Each
measurement is repeated `--runs` times, round-robin, and the medians are reported with ratios against the
baselines and PASS/MISS against the issue's targets. Nothing is asserted: speed is never a test verdict here.
The results go to bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_FILE = BENCH_DIR / "results" / "latest.json"
WRK_SCRIPT = BENCH_DIR / "wrk" / "request.lua"
PEER_STARTER = BENCH_DIR / "peer_server.mjs"
BARE_APP = BENCH_DIR / "bare_app.py"

#: The newest oauth2-mock-server whose `engines` includes the Node 20 of this machine (9.x wants Node >= 22.12).
PEER_PACKAGE = "oauth2-mock-server"
PEER_VERSION = "8.2.3"
PEER_HOME = Path(os.environ.get("SLEEPWALK_HOME", Path.home() / ".cache" / "sleepwalk")) / "bench"

#: From the issue: requests per second of our server, one worker, HTTPS.
TARGETS = {"refresh": 3400.0, "get": 4000.0}
#: What the issue measured on this machine, for comparison only.
ISSUE_REFERENCE = {"peer refresh": 840.0, "bare FastAPI": 6800.0}

FORM = "application/x-www-form-urlencoded"
MODES = ("keep-alive", "new-conn")
CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(RuntimeError):
    """Something the benchmark needs is missing or misbehaves; the message says what to do."""


# --- processes ---------------------------------------------------------------------------------------------


@dataclass
class Server:
    """A server process we started, with the JSON line it printed once listening."""

    name: str
    process: subprocess.Popen[bytes]
    facts: dict[str, Any]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def url(self) -> str:
        return str(self.facts["url"])

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process (all its threads) so far."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def runqueue_wait_seconds(self) -> float:
        """Time the main thread was ready to run but waited for a CPU (preempted), from schedstat."""
        with contextlib.suppress(OSError, IndexError, ValueError):
            return int(Path(f"/proc/{self.pid}/task/{self.pid}/schedstat").read_text().split()[1]) / 1e9
        return 0.0

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def _pin(cpus: set[int] | None) -> Any:
    """A preexec_fn placing the child on `cpus` (as `taskset -c`); None when it may run anywhere."""
    if not cpus:
        return None

    def pin() -> None:
        os.sched_setaffinity(0, cpus)

    return pin


def start_server(name: str, command: list[str], workdir: Path, cpus: set[int] | None, timeout: float = 60) -> Server:
    """Start `command`, wait for its first stdout line (JSON) and return it; stdout and stderr go to a log file."""
    out, log = workdir / f"{name}.out", workdir / f"{name}.log"
    with out.open("wb") as stdout, log.open("wb") as stderr:
        process = subprocess.Popen(
            command, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL, cwd=REPO_DIR, preexec_fn=_pin(cpus)
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = out.read_text()
        if "\n" in text:
            return Server(name, process, json.loads(text.splitlines()[0]), log)
        if process.poll() is not None:
            break
        time.sleep(0.05)
    if process.poll() is None:
        process.kill()
        process.wait()
    raise BenchError(f"{name} did not start ({' '.join(command)}); its log:\n{log.read_text()[-3000:]}")


# --- prerequisites -----------------------------------------------------------------------------------------


def find_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise BenchError("wrk is not installed: `apt-get update && apt-get install -y wrk` (Debian package).")
    return wrk


def ensure_peer() -> Path:
    """The folder whose node_modules holds the pinned oauth2-mock-server; installs it there with npm if needed."""
    installed = PEER_HOME / "node_modules" / PEER_PACKAGE / "package.json"
    if installed.is_file() and json.loads(installed.read_text()).get("version") == PEER_VERSION:
        return PEER_HOME
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise BenchError("node and npm are needed for the peer server: `apt-get install -y nodejs npm`.")
    PEER_HOME.mkdir(parents=True, exist_ok=True)
    print(f"Installing {PEER_PACKAGE}@{PEER_VERSION} into {PEER_HOME} ...", flush=True)
    subprocess.run(
        [
            npm,
            "install",
            "--prefix",
            str(PEER_HOME),
            "--no-audit",
            "--no-fund",
            "--save-exact",
            f"{PEER_PACKAGE}@{PEER_VERSION}",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return PEER_HOME


# --- the benchmarking world ---------------------------------------------------------------------------------


@dataclass
class Credentials:
    refresh_token: str
    access_token: str
    journal_seq: int


def prepare_ours(server: Server) -> Credentials:
    """Long-lived access tokens, then one password-grant login as the CLI does; checks both requests we load."""
    import httpx

    from mock_identity_server.crypto import KdfSettings, derive_master_key, server_password_hash

    account = server.facts["account"]
    email, password = account["email"], account["password"]
    with httpx.Client(base_url=server.url, verify=server.facts["ca_cert"], timeout=30) as client:
        client.patch("/_control/settings", json={"access_token_lifetime": 86400}).raise_for_status()
        prelogin = client.post("/identity/accounts/prelogin", json={"email": email}).json()
        if prelogin["kdf"] != 0:
            raise BenchError(f"The seeded account uses KDF type {prelogin['kdf']}; the benchmark expects PBKDF2.")
        master_key = derive_master_key(password, email, KdfSettings.pbkdf2(prelogin["kdfIterations"]))
        login = client.post(
            "/identity/connect/token",
            data={
                "grant_type": "password",
                "username": email,
                "password": server_password_hash(master_key, password),
                "client_id": "cli",
                "scope": "api offline_access",
                "deviceType": "25",
                "deviceIdentifier": str(uuid.uuid4()),
                "deviceName": "linux",
            },
        )
        if login.status_code != 200:
            raise BenchError(f"Password grant failed: {login.status_code} {login.text}")
        refresh_token = login.json()["refresh_token"]
        refreshed = client.post(
            "/identity/connect/token",
            data={"grant_type": "refresh_token", "client_id": "cli", "refresh_token": refresh_token},
        )
        if refreshed.status_code != 200 or refreshed.json().get("refresh_token") != refresh_token:
            raise BenchError(
                "The refresh grant must answer 200 with the same refresh token (reuse) so every benchmark request "
                f"is a valid refresh; got {refreshed.status_code} {refreshed.text[:300]}"
            )
        access_token = refreshed.json()["access_token"]
        revision = client.get("/api/accounts/revision-date", headers={"Authorization": f"Bearer {access_token}"})
        if revision.status_code != 200:
            raise BenchError(f"Authenticated GET failed: {revision.status_code} {revision.text}")
        journal = client.get("/_control/journal").json()
        return Credentials(refresh_token, access_token, max(entry["seq"] for entry in journal))


def journal_count(server: Server, since: int) -> int:
    """The highest journal sequence number after `since`, minus `since`: how many requests were journaled."""
    import httpx

    with httpx.Client(base_url=server.url, verify=server.facts["ca_cert"], timeout=60) as client:
        entries = client.get("/_control/journal", params={"since": since}).json()
    return max((entry["seq"] for entry in entries), default=since) - since


def prepare_peer(server: Server, ca_cert: str) -> str:
    """A refresh token of the peer, from its password grant; checks that its refresh grant answers 200."""
    import httpx

    with httpx.Client(base_url=server.url, verify=ca_cert, timeout=30) as client:
        login = client.post(
            "/token",
            data={
                "grant_type": "password",
                "username": "qa@example.com",
                "password": "x",
                "client_id": "cli",
                "scope": "api offline_access",
            },
        )
        login.raise_for_status()
        refresh_token = str(login.json()["refresh_token"])
        refreshed = client.post(
            "/token", data={"grant_type": "refresh_token", "client_id": "cli", "refresh_token": refresh_token}
        )
        if refreshed.status_code != 200 or "access_token" not in refreshed.json():
            raise BenchError(f"Peer refresh grant failed: {refreshed.status_code} {refreshed.text[:300]}")
    return refresh_token


def check_bare(server: Server, ca_cert: str) -> None:
    import httpx

    with httpx.Client(base_url=server.url, verify=ca_cert, timeout=30) as client:
        client.get("/ping").raise_for_status()


# --- load ---------------------------------------------------------------------------------------------------


@dataclass
class Scenario:
    key: str
    label: str
    server: Server
    path: str
    method: str = "GET"
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Placement:
    name: str
    server_cpus: set[int] | None
    wrk_cpus: set[int] | None
    wrk_threads: int

    def describe(self) -> str:
        if self.server_cpus is None:
            return f"shared: servers and wrk (-t{self.wrk_threads}) unpinned on all {os.cpu_count()} cores"
        return (
            f"split: each server on CPU {sorted(self.server_cpus)} (sched_setaffinity, as taskset), "
            f"wrk -t{self.wrk_threads} on CPU {sorted(self.wrk_cpus or ())}"
        )


def _tcp_active_opens() -> int:
    lines = Path("/proc/net/snmp").read_text().splitlines()
    tcp = [line.split() for line in lines if line.startswith("Tcp:")]
    return int(tcp[1][tcp[0].index("ActiveOpens")])


def _cpu_ticks(cpus: set[int] | None = None) -> dict[str, int]:
    """/proc/stat times summed over `cpus` (None: the all-CPU line)."""
    names = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
    wanted = {"cpu"} if cpus is None else {f"cpu{cpu}" for cpu in cpus}
    totals = dict.fromkeys(names, 0)
    for line in Path("/proc/stat").read_text().splitlines():
        fields = line.split()
        if fields and fields[0] in wanted:
            for name, value in zip(names, fields[1:], strict=False):
                totals[name] += int(value)
    return totals


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_wrk(
    wrk: str, scenario: Scenario, mode: str, *, duration: int, connections: int, placement: Placement
) -> dict[str, Any]:
    """One wrk run; returns rps, latency percentiles, errors, connects per request and where the CPU went."""
    command = [
        wrk,
        f"-t{placement.wrk_threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "5s",
        "-s",
        str(WRK_SCRIPT),
    ]
    headers = dict(scenario.headers)
    if mode == "new-conn":
        headers["Connection"] = "close"
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(scenario.server.url + scenario.path)
    env = {
        **os.environ,
        "WRK_METHOD": scenario.method,
        "WRK_BODY": scenario.body,
        "WRK_CONTENT_TYPE": FORM if scenario.body else "",
    }
    opens, ticks, children = _tcp_active_opens(), _cpu_ticks(), _children_cpu()
    server_cpu_ticks = _cpu_ticks(placement.server_cpus) if placement.server_cpus else None
    server_cpu = scenario.server.cpu_seconds()
    server_wait = scenario.server.runqueue_wait_seconds()
    started = time.monotonic()
    finished = subprocess.run(
        command,
        env=env,
        capture_output=True,
        text=True,
        timeout=duration + 60,
        preexec_fn=_pin(placement.wrk_cpus),
    )
    wall = time.monotonic() - started
    opens = _tcp_active_opens() - opens
    server_cpu = scenario.server.cpu_seconds() - server_cpu
    server_wait = scenario.server.runqueue_wait_seconds() - server_wait
    wrk_cpu = _children_cpu() - children
    after = _cpu_ticks()
    delta = {name: (after[name] - ticks[name]) / CLK_TCK for name in after}
    if server_cpu_ticks is not None:
        # Everything else that ran on the server's own CPU: the disturbance that matters for its figures.
        on_cpu = _cpu_ticks(placement.server_cpus)
        busy = sum(on_cpu[name] - server_cpu_ticks[name] for name in ("user", "nice", "system")) / CLK_TCK
        intruders = max(busy - server_cpu, 0.0) / wall
    else:
        intruders = None
    line = next((line for line in finished.stdout.splitlines() if line.startswith("WRK_JSON ")), None)
    if finished.returncode != 0 or line is None:
        raise BenchError(f"wrk failed ({finished.returncode}): {finished.stderr or finished.stdout}")
    summary = json.loads(line.removeprefix("WRK_JSON "))
    requests = summary["requests"]
    seconds = summary["duration_us"] / 1e6
    errors = {name: count for name, count in summary["errors"].items() if count}
    others = delta["user"] + delta["nice"] + delta["system"] - server_cpu - wrk_cpu
    return {
        "rps": requests / seconds,
        "p50_ms": summary["latency_us"]["p50"] / 1000,
        "p90_ms": summary["latency_us"]["p90"] / 1000,
        "p99_ms": summary["latency_us"]["p99"] / 1000,
        "max_ms": summary["latency_us"]["max"] / 1000,
        "requests": requests,
        "seconds": seconds,
        "errors": errors,
        "connects_per_request": opens / requests if requests else None,
        "server_us_per_request": server_cpu / requests * 1e6 if requests else None,
        "server_runqueue_wait": server_wait / wall,
        "others_on_server_cpu": intruders,
        "cpu_cores": {
            "server": server_cpu / wall,
            "wrk": wrk_cpu / wall,
            "other_processes": max(others, 0.0) / wall,
            "irq_softirq": (delta["irq"] + delta["softirq"]) / wall,
            "steal": delta["steal"] / wall,
            "idle": (delta["idle"] + delta["iowait"]) / wall,
        },
    }


# --- report -------------------------------------------------------------------------------------------------


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "rps": _median(runs, "rps"),
        "p50_ms": _median(runs, "p50_ms"),
        "p99_ms": _median(runs, "p99_ms"),
        "rps_runs": [round(run["rps"], 1) for run in runs],
        "connects_per_request": statistics.median(run["connects_per_request"] or 0 for run in runs),
        "server_cpu_cores": statistics.median(run["cpu_cores"]["server"] for run in runs),
        "server_us_per_request": statistics.median(run["server_us_per_request"] for run in runs),
        "wrk_cpu_cores": statistics.median(run["cpu_cores"]["wrk"] for run in runs),
        "other_cpu_cores": max(run["cpu_cores"]["other_processes"] for run in runs),
        "server_runqueue_wait": max(run["server_runqueue_wait"] for run in runs),
        "others_on_server_cpu": max(run["others_on_server_cpu"] or 0.0 for run in runs),
        "errors": sum(sum(run["errors"].values()) for run in runs),
        "disturbed_runs_kept": sum(1 for run in runs if run.get("disturbed")),
    }


def print_table(scenarios: list[Scenario], medians: dict[str, dict[str, dict[str, Any]]]) -> None:
    header = (
        f"{'scenario':<40} {'mode':<10} {'rps':>7} {'p50 ms':>7} {'p99 ms':>7} {'conn/req':>8} "
        f"{'srv us/req':>10} {'rps/core':>8} {'srv cpu':>7} {'wrk cpu':>7} {'wait':>5} {'intr':>5} {'other':>5}  "
        "runs (rps)"
    )
    print(header)
    print("-" * len(header))
    for scenario in scenarios:
        for mode in MODES:
            m = medians[scenario.key][mode]
            print(
                f"{scenario.label:<40} {mode:<10} {m['rps']:>7.0f} {m['p50_ms']:>7.2f} {m['p99_ms']:>7.2f} "
                f"{m['connects_per_request']:>8.2f} {m['server_us_per_request']:>10.0f} "
                f"{1e6 / m['server_us_per_request']:>8.0f} {m['server_cpu_cores']:>7.2f} {m['wrk_cpu_cores']:>7.2f} "
                f"{100 * m['server_runqueue_wait']:>4.0f}% {m['others_on_server_cpu']:>5.2f} "
                f"{m['other_cpu_cores']:>5.2f}  "
                f"{', '.join(f'{rps:.0f}' for rps in m['rps_runs'])}"
                + (f"  ERRORS: {m['errors']}" if m["errors"] else "")
                + (f"  ({m['disturbed_runs_kept']} disturbed run(s) kept)" if m["disturbed_runs_kept"] else "")
            )


def ratios_and_verdicts(medians: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    out: dict[str, Any] = {"ratios": {}, "ratios_per_core": {}, "targets": {}}
    for mode in MODES:
        refresh, get = medians["ours_refresh"][mode]["rps"], medians["ours_get"][mode]["rps"]
        peer, bare = medians["peer_refresh"][mode]["rps"], medians["bare_get"][mode]["rps"]
        out["ratios"][mode] = {
            "ours_refresh/peer_refresh": refresh / peer,
            "ours_refresh/bare": refresh / bare,
            "ours_get/bare": get / bare,
            "peer_refresh/bare": peer / bare,
        }
        per_core = {key: 1e6 / medians[key][mode]["server_us_per_request"] for key in medians}
        out["ratios_per_core"][mode] = {
            "ours_refresh/peer_refresh": per_core["ours_refresh"] / per_core["peer_refresh"],
            "ours_refresh/bare": per_core["ours_refresh"] / per_core["bare_get"],
            "ours_get/bare": per_core["ours_get"] / per_core["bare_get"],
        }
        out["targets"][mode] = {
            "refresh": {
                "rps": refresh,
                "target": TARGETS["refresh"],
                "pass": refresh >= TARGETS["refresh"],
                "times_peer": refresh / peer,
                "times_peer_target": 4.0,
                "pass_times_peer": refresh >= 4 * peer,
            },
            "get": {"rps": get, "target": TARGETS["get"], "pass": get >= TARGETS["get"]},
            "per_core": {
                "refresh_rps": per_core["ours_refresh"],
                "refresh_pass": per_core["ours_refresh"] >= TARGETS["refresh"],
                "get_rps": per_core["ours_get"],
                "get_pass": per_core["ours_get"] >= TARGETS["get"],
            },
        }
    return out


def print_verdicts(verdicts: dict[str, Any]) -> None:
    print("\nRatios (medians, same run):")
    for mode in MODES:
        parts = ", ".join(f"{name} {value:.2f}x" for name, value in verdicts["ratios"][mode].items())
        print(f"  {mode:<10} {parts}")
    print("Ratios of server CPU per request (rps/core; independent of the load generator and of preemption):")
    for mode in MODES:
        parts = ", ".join(f"{name} {value:.2f}x" for name, value in verdicts["ratios_per_core"][mode].items())
        print(f"  {mode:<10} {parts}")
    print("\nTargets (printed, not asserted):")
    for mode in MODES:
        t = verdicts["targets"][mode]
        refresh, get = t["refresh"], t["get"]
        print(
            f"  {mode:<10} refresh {refresh['rps']:>6.0f}/s vs {refresh['target']:.0f}/s "
            f"{'PASS' if refresh['pass'] else 'MISS'}; "
            f"{refresh['times_peer']:.2f}x peer vs 4x {'PASS' if refresh['pass_times_peer'] else 'MISS'}; "
            f"GET {get['rps']:>6.0f}/s vs {get['target']:.0f}/s {'PASS' if get['pass'] else 'MISS'}"
        )
    print("  at a whole core (rps/core, from the server's CPU time per request):")
    for mode in MODES:
        c = verdicts["targets"][mode]["per_core"]
        print(
            f"  {mode:<10} refresh {c['refresh_rps']:>6.0f}/s {'PASS' if c['refresh_pass'] else 'MISS'}; "
            f"GET {c['get_rps']:>6.0f}/s {'PASS' if c['get_pass'] else 'MISS'}"
        )


def versions(wrk: str, peer: Server) -> dict[str, str]:
    from importlib.metadata import version

    found = {name: version(name) for name in ("uvicorn", "uvloop", "httptools", "fastapi", "starlette", "pydantic")}
    found["python"] = platform.python_version()
    found["node"] = str(peer.facts.get("node"))
    found[PEER_PACKAGE] = str(peer.facts.get("version"))
    wrk_version = subprocess.run([wrk, "--version"], capture_output=True, text=True).stdout.splitlines()
    found["wrk"] = wrk_version[0].strip() if wrk_version else "?"
    found["openssl"] = subprocess.run(["openssl", "version"], capture_output=True, text=True).stdout.strip()
    return found


def machine() -> dict[str, Any]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "kernel": platform.release(),
        "loadavg_before": Path("/proc/loadavg").read_text().split()[:3],
    }


def measure(
    wrk: str,
    scenario: Scenario,
    mode: str,
    args: argparse.Namespace,
    placement: Placement,
    discarded: list[dict[str, Any]],
    label: str,
) -> tuple[dict[str, Any], int]:
    """Warm up, measure, and measure again (up to --retries) while other processes disturbed the server.

    Returns the kept measurement and how many requests wrk completed in all, warm-ups included.
    """
    served = 0
    attempt = 1
    while True:
        if args.warmup > 0:
            served += run_wrk(
                wrk, scenario, mode, duration=args.warmup, connections=args.connections, placement=placement
            )["requests"]
        measured = run_wrk(
            wrk, scenario, mode, duration=args.duration, connections=args.connections, placement=placement
        )
        served += measured["requests"]
        intruders = measured["others_on_server_cpu"]
        disturbance = measured["server_runqueue_wait"] if intruders is None else intruders
        measured["attempt"] = attempt
        measured["disturbed"] = disturbance > args.max_disturbance
        retry = measured["disturbed"] and attempt <= args.retries
        print(
            f"  {label} {scenario.label:<40} {mode:<10} {measured['rps']:>7.0f} rps  "
            f"p50 {measured['p50_ms']:.2f} ms  p99 {measured['p99_ms']:.2f} ms  "
            f"conn/req {measured['connects_per_request']:.2f}  srv {measured['server_us_per_request']:.0f} us/req  "
            f"disturbance {disturbance:.2f}  other {measured['cpu_cores']['other_processes']:.2f}"
            + (f"  errors {measured['errors']}" if measured["errors"] else "")
            + (("  DISTURBED, " + ("again" if retry else "kept")) if measured["disturbed"] else ""),
            flush=True,
        )
        if not retry:
            return measured, served
        discarded.append({"scenario": scenario.key, "mode": mode, "label": label, **measured})
        attempt += 1


# --- main ---------------------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python bench/bench_server.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3, help="measurements per scenario and mode (median reported)")
    parser.add_argument("--duration", type=int, default=5, help="whole seconds per measurement")
    parser.add_argument("--warmup", type=int, default=1, help="whole seconds of load before each measurement (0: none)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent wrk connections")
    parser.add_argument(
        "--placement",
        choices=("split", "shared"),
        default="split",
        help="split: servers on the last CPU, wrk on the others (default); shared: no pinning",
    )
    parser.add_argument(
        "--max-disturbance",
        type=float,
        default=0.05,
        help="a measurement during which other processes took more than this many cores of the server's CPU "
        "(split placement; shared: share of time the server waited to run) is repeated; default 0.05",
    )
    parser.add_argument("--retries", type=int, default=1, help="repeats of a disturbed measurement (default 1)")
    parser.add_argument("--output", type=Path, default=RESULTS_FILE, help="JSON results file")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.runs < 1 or args.duration <= 0 or args.connections < 1:
        print("--runs, --duration and --connections must be positive.", file=sys.stderr)
        return 2
    cpus = sorted(os.sched_getaffinity(0))
    if args.placement == "split" and len(cpus) >= 2:
        placement = Placement("split", {cpus[-1]}, set(cpus[:-1]), len(cpus) - 1)
    else:
        placement = Placement("shared", None, None, len(cpus))
    try:
        wrk = find_wrk()
        peer_home = ensure_peer()
    except (BenchError, subprocess.CalledProcessError) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    started: list[Server] = []
    workdir = Path(tempfile.mkdtemp(prefix="sleepwalk-bench-"))
    try:
        return _run(args, placement, wrk, peer_home, workdir, started)
    except BenchError as exc:
        print(f"\nBenchmark aborted: {exc}", file=sys.stderr)
        return 1
    finally:
        for server in started:
            with contextlib.suppress(Exception):
                server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _run(
    args: argparse.Namespace, placement: Placement, wrk: str, peer_home: Path, workdir: Path, started: list[Server]
) -> int:
    data_dir = workdir / "server"
    python = sys.executable
    machine_facts = machine()
    ours = start_server(
        "ours",
        [python, "-m", "mock_identity_server", "--port", "0", "--data-dir", str(data_dir), "--json"],
        workdir,
        placement.server_cpus,
    )
    started.append(ours)
    bare = start_server(
        "bare",
        [python, str(BARE_APP), "--port", "0", "--data-dir", str(data_dir)],
        workdir,
        placement.server_cpus,
    )
    started.append(bare)
    peer = start_server(
        "peer",
        [
            "node",
            str(PEER_STARTER),
            "--modules",
            str(peer_home),
            "--cert",
            str(data_dir / "server.pem"),
            "--key",
            str(data_dir / "server-key.pem"),
        ],
        workdir,
        placement.server_cpus,
    )
    started.append(peer)
    credentials = prepare_ours(ours)
    # All three present the same certificate, from our data dir, signed by our CA.
    peer_refresh = prepare_peer(peer, ours.facts["ca_cert"])
    check_bare(bare, ours.facts["ca_cert"])

    scenarios = [
        Scenario(
            "ours_refresh",
            "ours: refresh grant",
            ours,
            "/identity/connect/token",
            "POST",
            f"grant_type=refresh_token&client_id=cli&refresh_token={credentials.refresh_token}",
        ),
        Scenario(
            "ours_get",
            "ours: GET /api/accounts/revision-date",
            ours,
            "/api/accounts/revision-date",
            headers={"Authorization": f"Bearer {credentials.access_token}"},
        ),
        Scenario("bare_get", "bare FastAPI: GET /ping", bare, "/ping"),
        Scenario(
            "peer_refresh",
            f"peer {PEER_PACKAGE}: refresh grant",
            peer,
            "/token",
            "POST",
            f"grant_type=refresh_token&client_id=cli&refresh_token={peer_refresh}",
        ),
    ]
    print(f"Placement: {placement.describe()}")
    print(
        f"Servers: ours pid {ours.pid}, bare pid {bare.pid}, peer pid {peer.pid} ({PEER_PACKAGE} "
        f"{peer.facts.get('version')}, node {peer.facts.get('node')}); HTTPS, one process each"
    )
    print(
        f"Load: wrk, {args.connections} connections, {args.duration:g} s per measurement after "
        f"{args.warmup:g} s warm-up, {args.runs} runs round-robin, modes {' / '.join(MODES)}\n",
        flush=True,
    )

    results: dict[str, dict[str, list[dict[str, Any]]]] = {s.key: {mode: [] for mode in MODES} for s in scenarios}
    ours_requests = 0
    discarded: list[dict[str, Any]] = []
    for run in range(1, args.runs + 1):
        for scenario in scenarios:
            for mode in MODES:
                measured, served = measure(wrk, scenario, mode, args, placement, discarded, f"run {run}/{args.runs}")
                results[scenario.key][mode].append(measured)
                if scenario.server is ours:
                    ours_requests += served

    journaled = journal_count(ours, credentials.journal_seq)
    medians = {key: {mode: summarize(runs) for mode, runs in by_mode.items()} for key, by_mode in results.items()}
    print()
    print_table(scenarios, medians)
    print(
        "\nconn/req: TCP connects per completed request (/proc/net/snmp). srv us/req: CPU time of the server process "
        "per request;\nrps/core: 1e6 / that, what the server would do with a whole core to itself. srv/wrk cpu: "
        "cores kept busy by the\nserver / wrk; wait: share of the time the server's main thread was ready to run but "
        "waited for a CPU;\nintr: cores of the server's CPU used by other processes; other: cores busy in any other "
        "process, anywhere\n(wait, intr, other: worst run; noise indicators)."
    )
    verdicts = ratios_and_verdicts(medians)
    print_verdicts(verdicts)
    print(
        f"\nJournal: our server journaled {journaled} requests during the benchmark; wrk completed "
        f"{ours_requests} (the rest were in flight when wrk stopped)."
    )
    print(
        "Note: wrk's latency starts when the request is written, after connect and TLS handshake, so in new-conn "
        "mode p50/p99 exclude the handshake; rps includes it."
    )

    report = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "config": {
            "runs": args.runs,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "connections": args.connections,
            "placement": placement.describe(),
            "wrk_threads": placement.wrk_threads,
        },
        "machine": machine_facts,
        "versions": versions(wrk, peer),
        "targets_rps": TARGETS,
        "issue_reference_rps": ISSUE_REFERENCE,
        "medians": medians,
        **verdicts,
        "journal": {"journaled": journaled, "wrk_completed": ours_requests},
        "runs": results,
        "discarded_disturbed_runs": discarded,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"Results: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
