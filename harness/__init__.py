"""sleepwalk's harness: drives Bitwarden clients against the mock server and checks what they do.

It talks to the server only over HTTP — the product endpoints as a client would, and the control API — and
never imports the server's internals.

    from harness import Session, load_scenario

    with Session.started() as session:
        verdict = session.run_one(load_scenario(path), "bw@2026.1.0")
        assert verdict.passed, verdict.problems
"""

from __future__ import annotations

from harness._control import Control, WorldInfo
from harness._durations import DurationError, format_duration, parse_duration
from harness._errors import ClientError, HarnessError, ScenarioFailed, ServerError, StateUnknown
from harness._junit import write_junit
from harness._outcome import CommandResult, ObservedRequest, Outcome, Verdict, judge
from harness._profiles import Profile, cli_profile
from harness._runner import play, run_scenario
from harness._scenario import (
    BugReport,
    ClientSetup,
    ClientState,
    Expectation,
    RequestPattern,
    Scenario,
    ScenarioError,
    Step,
    load_scenario,
    load_scenarios,
)
from harness._server import ServerProcess
from harness._session import Session
from harness.clients import DriverContext, make_driver
from harness.clients.base import ClientDriver, SleepPlan
from harness.clients.python_client import PythonClient, PythonClientDriver

__all__ = [
    "BugReport",
    "ClientDriver",
    "ClientError",
    "ClientSetup",
    "ClientState",
    "CommandResult",
    "Control",
    "DriverContext",
    "DurationError",
    "Expectation",
    "HarnessError",
    "ObservedRequest",
    "Outcome",
    "Profile",
    "PythonClient",
    "PythonClientDriver",
    "RequestPattern",
    "Scenario",
    "ScenarioError",
    "ScenarioFailed",
    "ServerError",
    "ServerProcess",
    "Session",
    "SleepPlan",
    "StateUnknown",
    "Step",
    "Verdict",
    "WorldInfo",
    "cli_profile",
    "format_duration",
    "judge",
    "load_scenario",
    "load_scenarios",
    "make_driver",
    "parse_duration",
    "play",
    "run_scenario",
    "write_junit",
]
