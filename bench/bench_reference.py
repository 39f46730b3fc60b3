"""Reference-client speed: a ten-minute sleep in virtual time, and the whole reference suite, in-process.

Prints wall time per scenario run (median of --runs), the ratio of simulated to wall time, and the whole suite
(every scenario x every profile it declares); the baseline in the same run is one bare in-process request to the
app, so the figures can be read against the cost of the server itself. Prints, never asserts.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness._scenario import Scenario, load_scenario, load_scenarios  # noqa: E402
from harness._session import Session  # noqa: E402
from mock_identity_server import create_app  # noqa: E402
from mock_identity_server.clock import VirtualClock  # noqa: E402

TEN_MINUTE_SLEEP = """\
id: ten-minute-sleep
description: The flagship with a ten-minute sleep while the revision-date request is in flight.
source: bench
server: {settings: {access_token_lifetime: 330}}
setup:
  - sync: {force: true}
steps:
  - sync: {}
    sleep_at: {request: GET /api/accounts/revision-date, duration: 10m}
expect:
  legacy: {requests: [GET /api/accounts/revision-date 401], state: logged_out}
  fixed:
    requests: [GET /api/accounts/revision-date 401, POST /identity/connect/token refresh_token 200,
               GET /api/accounts/revision-date 200]
    state: unlocked
"""


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20, help="repetitions per measurement (median)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "ten-minute-sleep.yaml"
        path.write_text(TEN_MINUTE_SLEEP)
        ten_minutes = load_scenario(path)
        suite = list(load_scenarios(ROOT / "scenarios").values())
        app = create_app(clock=VirtualClock(datetime(2026, 1, 15, 10, tzinfo=UTC)))
        with TestClient(app, base_url="https://testserver") as http:
            session = Session(http, Path(scratch))
            # Warm-up: the first login derives the account's keys (600 000 PBKDF2 rounds) once per process.
            session.run_one(ten_minutes, "reference:fixed")
            bare = []
            for _ in range(args.runs * 10):
                started = time.perf_counter()
                http.get("/api/alive")
                bare.append(time.perf_counter() - started)
            print(f"baseline: one in-process request to the app: {_median_ms(bare):.2f} ms (median)")
            for profile in ("legacy", "fixed"):
                walls = []
                for _ in range(args.runs):
                    started = time.perf_counter()
                    verdict = session.run_one(ten_minutes, f"reference:{profile}")
                    walls.append(time.perf_counter() - started)
                    assert verdict.passed, verdict.problems
                wall = statistics.median(walls)
                simulated = verdict.outcome.virtual_seconds
                print(
                    f"ten-minute sleep, reference:{profile}: {wall * 1000:.1f} ms wall (median of {args.runs}), "
                    f"{simulated:.0f} s simulated, {simulated / wall:,.0f}x faster than real time, "
                    f"{wall / statistics.median(bare):.0f} bare requests' worth"
                )
            suite_walls = []
            for _ in range(3):
                started = time.perf_counter()
                cases = _run_suite(session, suite)
                suite_walls.append(time.perf_counter() - started)
            print(
                f"whole reference suite: {cases} scenario x profile runs in {statistics.median(suite_walls):.2f} s "
                f"(median of 3; target < 5 s)"
            )
    return 0


def _run_suite(session: Session, suite: list[Scenario]) -> int:
    cases = 0
    for scenario in suite:
        for profile in scenario.expect:
            verdict = session.run_one(scenario, f"reference:{profile.value}")
            assert verdict.passed, (scenario.id, profile, verdict.problems)
            cases += 1
    return cases


if __name__ == "__main__":
    sys.exit(main())
