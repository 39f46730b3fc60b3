"""Run a scenario with one client in a world of its own, and judge the outcome.

The runner creates the world (its clock running at real speed for process clients, frozen for in-process ones),
lets the driver log in, plays the setup and the steps, then reads what the server saw from the journal and what
the client says of itself. The journal and a JSON result are written to the report directory in a `finally`, so
a failed or interrupted run leaves its evidence behind.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from harness._control import Control, WorldInfo
from harness._errors import HarnessError, StateUnknown
from harness._outcome import CommandResult, ObservedRequest, Outcome, Verdict, judge
from harness._profiles import Profile
from harness._scenario import ClientState, Expectation, Scenario, Step
from harness.clients.base import ClientDriver, SleepPlan

__all__ = ["play", "run_scenario", "write_json", "write_result"]

logger = logging.getLogger(__name__)


def run_scenario(
    scenario: Scenario,
    driver: ClientDriver,
    control: Control,
    workdir: Path,
    *,
    expect: Profile | None = None,
    report_dir: Path | None = None,
) -> Verdict:
    """Play `scenario` with `driver` in a new world on the server behind `control`; always closes the driver."""
    started = time.monotonic()
    world: WorldInfo | None = None
    world_control: Control | None = None
    commands: list[CommandResult] = []
    journal: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    settings: dict[str, Any] = {}
    virtual_start_iso = virtual_end_iso = None
    mark = 0
    state: ClientState | None = None
    state_unknown: str | None = None
    error: str | None = None
    virtual_start = virtual_end = 0.0
    try:
        world = control.create_world(
            preset=scenario.server.preset, settings=scenario.server.settings, running=driver.realtime
        )
        world_control = control.for_world(world)
        settings = world.settings
        start_clock = world_control.clock()
        virtual_start, virtual_start_iso = start_clock["epoch"], start_clock["now"]
        _log_in(driver, world, world_control, workdir, scenario)
        play(scenario.setup, driver, world_control)
        mark = world_control.last_seq()
        commands = play(scenario.steps, driver, world_control)
        journal = world_control.journal()
        try:
            state = driver.state()
        except StateUnknown as exc:
            # The steps ran; only the final question went unanswered. The verdict fails if it needed the state.
            state_unknown = str(exc)
            logger.info("%s with %s: state unknown: %s", scenario.id, driver.name, exc)
    except HarnessError as exc:
        error = str(exc)
        logger.info("%s with %s did not complete: %s", scenario.id, driver.name, exc)
    finally:
        driver.close()
        if world_control is not None:
            try:
                journal = journal or world_control.journal()
                events = world_control.events()
                end_clock = world_control.clock()
                virtual_end, virtual_end_iso = end_clock["epoch"], end_clock["now"]
                control.delete_world(world.id if world else "")
            except HarnessError as exc:  # the server is gone: keep what we have
                logger.warning("Could not read or delete the world of %s: %s", scenario.id, exc)
        outcome = Outcome(
            scenario_id=scenario.id,
            client=driver.name,
            profile=driver.profile,
            requests=tuple(ObservedRequest.from_journal(entry) for entry in journal if entry["seq"] > mark),
            state=state,
            commands=tuple(commands),
            logout_reason=driver.logout_reason() if error is None else None,
            error=error,
            wall_seconds=time.monotonic() - started,
            virtual_seconds=virtual_end - virtual_start,
            journal=tuple(journal),
            events=tuple(events),
            settings=settings,
            virtual_start=virtual_start_iso,
            virtual_end=virtual_end_iso,
            state_unknown=state_unknown,
        )
        verdict = judge(scenario, outcome, expect)
        if report_dir is not None:
            write_result(verdict, report_dir, scenario)
    return verdict


def _log_in(driver: ClientDriver, world: WorldInfo, control: Control, workdir: Path, scenario: Scenario) -> None:
    login_lifetime = scenario.server.login_lifetime
    if login_lifetime is None:
        driver.start(world, control, workdir, scenario.client)
        return
    lifetime = control.change_settings({"access_token_lifetime": login_lifetime})
    scenario_lifetime = world.settings["access_token_lifetime"]
    try:
        driver.start(world, control, workdir, scenario.client)
    finally:
        lifetime = control.change_settings({"access_token_lifetime": scenario_lifetime})
    logger.debug("logged in under %s s tokens, now %s s", login_lifetime, lifetime["access_token_lifetime"])


def play(steps: list[Step], driver: ClientDriver, control: Control) -> list[CommandResult]:
    """Carry out `steps` in order; returns the results of the commands among them."""
    results: list[CommandResult] = []
    for step in steps:
        action = step.action
        if step.is_command:
            plan = None
            if step.sleep_at is not None:
                sleep_at = step.sleep_at

                def jump(seconds: float) -> None:
                    control.advance(seconds, reason="sleep")
                    driver.shift_clock(seconds)

                plan = SleepPlan(sleep_at.request, sleep_at.duration, sleep_at.occurrence, jump, sleep_at.count)
            results.extend(driver.run(step, plan))
        elif action == "sleep":
            assert step.sleep is not None
            driver.suspend()
            try:
                control.advance(step.sleep, reason="sleep")
                driver.shift_clock(step.sleep)
            finally:
                driver.resume()
        elif action == "advance":
            assert step.advance is not None
            control.advance(step.advance, reason="advance")
            driver.shift_clock(step.advance)
        elif action == "skew":
            assert step.skew is not None
            control.advance(step.skew, reason="skew")
        elif action == "fault":
            assert step.fault is not None
            control.add_fault(step.fault.match, step.fault.action, step.fault.times)
        elif action == "settings":
            assert step.settings is not None
            control.change_settings(step.settings)
        elif action == "revoke":
            control.revoke()
        elif action == "rotate_stamp":
            for account in control.accounts():
                control.rotate_stamp(account["id"])
    return results


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def _expected_json(expectation: Expectation | None) -> dict[str, Any] | None:
    if expectation is None:
        return None
    expected = expectation.model_dump(mode="json", exclude={"ignore", "requests"})
    if expectation.requests is not None:
        expected["requests"] = [str(request) for request in expectation.requests]
    return expected


def write_result(verdict: Verdict, report_dir: Path, scenario: Scenario | None = None) -> Path:
    """Write `journal.json`, `events.json` and `result.json` for one scenario and client; returns their folder."""
    outcome = verdict.outcome
    folder = report_dir / outcome.scenario_id / _safe(outcome.client)
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / "journal.json", list(outcome.journal))
    write_json(folder / "events.json", list(outcome.events))
    expectation = scenario.expect.get(verdict.expected_profile) if scenario is not None else None
    result = {
        "scenario": outcome.scenario_id,
        "client": outcome.client,
        "profile": outcome.profile.value,
        "expected_profile": verdict.expected_profile.value,
        "passed": verdict.passed,
        "problems": list(verdict.problems),
        "state": outcome.state.value if outcome.state else None,
        "state_unknown": outcome.state_unknown,
        "exit_code": outcome.exit_code,
        "logout_reason": outcome.logout_reason,
        "error": outcome.error,
        "wall_seconds": round(outcome.wall_seconds, 3),
        "virtual_seconds": round(outcome.virtual_seconds, 3),
        "requests": [str(request) for request in outcome.requests],
        "commands": [asdict(command) for command in outcome.commands],
        "description": scenario.description if scenario is not None else None,
        "source": scenario.source if scenario is not None else None,
        "settings": outcome.settings,
        "expected": _expected_json(expectation),
        "virtual_start": outcome.virtual_start,
        "virtual_end": outcome.virtual_end,
    }
    write_json(folder / "result.json", result)
    return folder


def write_json(path: Path, data: Any) -> None:
    """Write `data` as JSON atomically."""
    # Whole or not at all: a report written by another run in parallel may read these files at any moment.
    temporary = path.with_name(f".{path.name}.{threading.get_ident()}.tmp")
    temporary.write_text(json.dumps(data, indent=2))
    os.replace(temporary, path)
