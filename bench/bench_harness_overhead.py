"""Harness overhead on the real CLI: a scenario's wall time against the bare time of the same `bw` commands.

For each run, in the same session and against the same server: the flagship scenario through the harness
(world, login, setup, held request, freeze, both clocks jumped, thaw, release, journal, status), then the same
`bw` commands with nothing around them (config server, login, sync --force, sync, status) in a fresh data
directory. Prints the medians and the overhead ratio; target: under 25%. Prints, never asserts.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness._control import Control  # noqa: E402
from harness._scenario import load_scenario  # noqa: E402
from harness._server import ServerProcess  # noqa: E402
from harness._session import Session  # noqa: E402
from harness.clients.bw import BwClient, install  # noqa: E402


def bare_commands(server: ServerProcess, control: Control, bw_js: Path, workdir: Path) -> float:
    world = control.create_world(settings={"access_token_lifetime": 330})
    try:
        client = BwClient(bw_js, workdir, server.ca_cert)
        account = world.account
        started = time.monotonic()
        client.run("config", "server", world.base_url).check()
        session = client.run("login", account["email"], account["password"], "--raw").check().stdout.strip()
        env = {"BW_SESSION": session}
        client.run("sync", "--force", env=env).check()
        client.run("sync", env=env).check()
        client.run("status", env=env).check()
        return time.monotonic() - started
    finally:
        control.delete_world(world.id)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--version", default="2026.1.0")
    args = parser.parse_args()
    flagship = load_scenario(ROOT / "scenarios" / "sleep-before-send.yaml")
    bw_js = install(args.version)
    harness_walls: list[float] = []
    bare_walls: list[float] = []
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        with ServerProcess.start(root / "server") as server, server.http() as http:
            session = Session(http, root / "harness", ca_cert=server.ca_cert)
            control = Control(http)
            for run in range(args.runs):
                started = time.monotonic()
                verdict = session.run_one(flagship, f"bw@{args.version}")
                harness_walls.append(time.monotonic() - started)
                if not verdict.passed:
                    print(f"run {run}: the scenario did not pass: {verdict.problems}")
                bare_walls.append(bare_commands(server, control, bw_js, root / f"bare-{run}"))
                print(f"run {run}: harness {harness_walls[-1]:.2f} s, bare commands {bare_walls[-1]:.2f} s")
    harness = statistics.median(harness_walls)
    bare = statistics.median(bare_walls)
    print(
        f"bw@{args.version}, sleep-before-send (400 s slept): harness {harness:.2f} s, bare commands {bare:.2f} s "
        f"(medians of {args.runs}); overhead {100 * (harness / bare - 1):+.1f}% (target < 25%)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
