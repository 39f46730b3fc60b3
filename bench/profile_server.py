"""Where our server's time goes under benchmark load: py-spy samples of the server process while wrk drives it.

    python bench/profile_server.py [--scenario refresh|get] [--mode keep-alive|new-conn] [--seconds 15] [--native]

Starts our server as bench/bench_server.py does (same world, same placement: server on the last CPU, wrk and
py-spy on the others), loads one scenario with wrk and records the server with `py-spy record`
(it pauses the server briefly per sample)
(install it into the venv: `.venv/bin/pip install py-spy`). Prints the functions with the most samples, self and
inclusive, and self time grouped by package; writes the collapsed stacks to bench/results/profile-<scenario>-
<mode>.txt (load them in speedscope or flamegraph.pl). py-spy counts only samples where the thread is active,
so the percentages are shares of the server's busy CPU time, not of wall time. `--native` adds C frames (OpenSSL,
uvloop, httptools) instead of charging them to the Python caller.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import bench_server as bench


def package_of(frame: str) -> str:
    """The top-level package (or module) of a py-spy frame "function (path/to/file.py:line)"."""
    if frame.endswith(")") and "(" in frame:
        path = frame[frame.rindex("(") + 1 : -1].rsplit(":", 1)[0]
        if "/site-packages/" in path:
            path = path.split("/site-packages/", 1)[1]
        if path.startswith("<frozen "):
            return path.strip("<>").removeprefix("frozen ")
        if "/" in path and not path.startswith("/"):
            return path.split("/", 1)[0]
        name = path.rsplit("/", 1)[-1]
        for library in ("libssl", "libcrypto", "libpython", "libc.so", "libuv", "uvloop", "httptools"):
            if library in name:
                return library
        return name.removesuffix(".py")
    return frame


def parse_collapsed(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    return stacks


def report(stacks: list[tuple[list[str], int]], top: int, us_per_request: float) -> None:
    total = sum(count for _, count in stacks)
    if not total:
        print("No samples.")
        return
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    by_package: Counter[str] = Counter()
    for frames, count in stacks:
        # py-spy writes a thread line first ("process 123:..." / "thread (0x...)"); skip it.
        frames = [frame for frame in frames if not frame.startswith(("process ", "thread "))]
        if not frames:
            continue
        self_time[frames[-1]] += count
        by_package[package_of(frames[-1])] += count
        for frame in set(frames):
            inclusive[frame] += count
    print(f"{total} samples of the busy server; us/req = share x {us_per_request:.0f} us of server CPU per request\n")
    print("Self time by package:")
    for name, count in by_package.most_common(top):
        print(f"  {100 * count / total:5.1f}% {us_per_request * count / total:6.1f} us/req  {name}")
    print("\nSelf time, top functions:")
    for name, count in self_time.most_common(top):
        print(f"  {100 * count / total:5.1f}% {us_per_request * count / total:6.1f} us/req  {name}")
    print("\nInclusive time, top functions (below the event loop):")
    shown = 0
    for name, count in inclusive.most_common():
        if 100 * count / total > 99.0:
            continue
        print(f"  {100 * count / total:5.1f}% {us_per_request * count / total:6.1f} us/req  {name}")
        shown += 1
        if shown >= top:
            break


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python bench/profile_server.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scenario", choices=("refresh", "get", "bare"), default="refresh", help="bare: the baseline app's GET /ping"
    )
    parser.add_argument("--mode", choices=bench.MODES, default="keep-alive")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--native", action="store_true", help="sample C frames too (py-spy --native)")
    parser.add_argument(
        "--nonblocking", action="store_true", help="do not pause the server to sample (less overhead, torn stacks)"
    )
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        print("py-spy is not installed: .venv/bin/pip install py-spy", file=sys.stderr)
        return 2
    wrk = bench.find_wrk()
    cpus = sorted(os.sched_getaffinity(0))
    placement = bench.Placement("split", {cpus[-1]}, set(cpus[:-1]), max(len(cpus) - 1, 1))
    workdir = Path(tempfile.mkdtemp(prefix="sleepwalk-profile-"))
    server: bench.Server | None = None
    try:
        if args.scenario == "bare":
            from mock_identity_server.tls import ensure_tls_files

            ensure_tls_files(workdir / "server")
            server = bench.start_server(
                "bare",
                [sys.executable, str(bench.BARE_APP), "--port", "0", "--data-dir", str(workdir / "server")],
                workdir,
                placement.server_cpus,
            )
            scenario = bench.Scenario("bare_get", "bare FastAPI: GET /ping", server, "/ping")
        else:
            server = bench.start_server(
                "ours",
                [
                    sys.executable,
                    "-m",
                    "mock_identity_server",
                    "--port",
                    "0",
                    "--data-dir",
                    str(workdir / "server"),
                    "--json",
                ],
                workdir,
                placement.server_cpus,
            )
            credentials = bench.prepare_ours(server)
            if args.scenario == "refresh":
                scenario = bench.Scenario(
                    "ours_refresh",
                    "ours: refresh grant",
                    server,
                    "/identity/connect/token",
                    "POST",
                    f"grant_type=refresh_token&client_id=cli&refresh_token={credentials.refresh_token}",
                )
            else:
                scenario = bench.Scenario(
                    "ours_get",
                    "ours: GET /api/accounts/revision-date",
                    server,
                    "/api/accounts/revision-date",
                    headers={"Authorization": f"Bearer {credentials.access_token}"},
                )
        output = bench.RESULTS_FILE.parent / f"profile-{args.scenario}-{args.mode}.txt"
        output.parent.mkdir(parents=True, exist_ok=True)
        command = [
            py_spy,
            "record",
            "--pid",
            str(server.pid),
            "--duration",
            str(args.seconds),
            "--rate",
            str(args.rate),
            "--format",
            "raw",
            "--output",
            str(output),
        ]
        if args.native:
            command.append("--native")
        if args.nonblocking:
            command.append("--nonblocking")
        print(
            f"Loading {scenario.label} ({args.mode}) for {args.seconds + 2} s; py-spy records {args.seconds} s ...",
            flush=True,
        )
        with (workdir / "py-spy.log").open("wb") as log:
            spy = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, preexec_fn=bench._pin(placement.wrk_cpus)
            )
            time.sleep(0.5)
            measured = bench.run_wrk(
                wrk, scenario, args.mode, duration=args.seconds + 2, connections=args.connections, placement=placement
            )
            spy.wait(timeout=60)
        print(
            f"wrk while sampled: {measured['rps']:.0f} rps, p50 {measured['p50_ms']:.2f} ms, "
            f"p99 {measured['p99_ms']:.2f} ms, server {measured['server_us_per_request']:.0f} us CPU per request "
            "(sampling slows the server somewhat)\n"
        )
        if spy.returncode != 0:
            print((workdir / "py-spy.log").read_text(), file=sys.stderr)
            return 1
        report(parse_collapsed(output), args.top, measured["server_us_per_request"])
        print(f"\nCollapsed stacks: {output}")
        return 0
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
