"""The sleepwalk pytest plugin: a running mock server, fresh worlds, and a one-line scenario check.

Installed with the package (entry point `pytest11: sleepwalk`), so a CI maintainer writes a sleep test for their
own client in a few lines:

    def test_my_cli_survives_the_flagship_sleep(sleepwalk):
        sleepwalk.check("sleep-before-send", "bw@2026.1.0")

Fixtures: `sleepwalk_server` (one HTTPS mock server per test session, stopped by PID at the end),
`sleepwalk_session` (runs scenarios on it), `sleepwalk_world` (a fresh world and its control client, deleted
after the test), `sleepwalk_bw` (a real `bw` CLI of a given version pointed at that world),
`sleepwalk_reference` (a reference client of a given profile, logged in to that world) and `sleepwalk` (the
session plus `check()`, which runs a scenario and raises `ScenarioFailed` with both request sequences when the
outcome misses its expectation).

Tests that need Node.js (the real CLI) skip with that reason without it, and fail instead when `CI` is set.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

from harness._control import Control, WorldInfo
from harness._outcome import Verdict
from harness._profiles import Profile
from harness._scenario import ClientSetup, Scenario, load_scenario
from harness._server import ServerProcess
from harness._session import Session
from harness.clients import make_driver
from harness.clients.base import ClientDriver
from harness.clients.bw import BwClient, BwError, NodeMissing, install

__all__ = ["SleepwalkRunner", "WorldFixture"]


#: Where scenario ids are looked up: $SLEEPWALK_SCENARIOS, else ./scenarios of the directory pytest runs in.
def _scenario_dir(config: pytest.Config) -> Path:
    return Path(os.environ.get("SLEEPWALK_SCENARIOS", config.rootpath / "scenarios"))


@dataclass(frozen=True)
class WorldFixture:
    info: WorldInfo
    control: Control


@dataclass
class SleepwalkRunner:
    """Runs scenarios (by id, path or model) with clients against the session's server."""

    session: Session
    scenario_dir: Path
    report_dir: Path | None = None

    def scenario(self, scenario: str | Path | Scenario) -> Scenario:
        if isinstance(scenario, Scenario):
            return scenario
        path = Path(scenario)
        return load_scenario(path if path.suffix else self.scenario_dir / f"{scenario}.yaml")

    def run(self, scenario: str | Path | Scenario, client: str, *, expect: Profile | None = None) -> Verdict:
        return self.session.run_one(self.scenario(scenario), client, expect=expect, report_dir=self.report_dir)

    def check(self, scenario: str | Path | Scenario, client: str, *, expect: Profile | None = None) -> Verdict:
        """Run and require the expectation of the client's profile (or `expect`); raises ScenarioFailed."""
        return self.run(scenario, client, expect=expect).check()


@pytest.fixture(scope="session")
def sleepwalk_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess.start(tmp_path_factory.mktemp("sleepwalk-server")) as server:
        yield server


@pytest.fixture(scope="session")
def sleepwalk_session(sleepwalk_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    with sleepwalk_server.http() as http:
        session = Session(http, tmp_path_factory.mktemp("sleepwalk-runs"), ca_cert=sleepwalk_server.ca_cert)
        try:
            yield session
        finally:
            session.stop_clients()


@pytest.fixture
def sleepwalk(sleepwalk_session: Session, request: pytest.FixtureRequest, tmp_path: Path) -> SleepwalkRunner:
    return SleepwalkRunner(sleepwalk_session, _scenario_dir(request.config), tmp_path / "reports")


@pytest.fixture
def sleepwalk_world(sleepwalk_session: Session) -> Iterator[WorldFixture]:
    control = sleepwalk_session.control
    info = control.create_world()
    try:
        yield WorldFixture(info, control.for_world(info))
    finally:
        control.delete_world(info.id)


def _node_missing(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must install Node.js and npm to run the real CLI.", pytrace=False)
    pytest.skip(f"node is not installed: {reason}")


@pytest.fixture
def sleepwalk_bw(
    sleepwalk_server: ServerProcess, sleepwalk_world: WorldFixture, tmp_path: Path
) -> Callable[[str], BwClient]:
    """`sleepwalk_bw("2026.1.0")`: that CLI (installed once into the CLI cache), with a data directory of its own
    and `config server` set to the test's world. Move its clock with `client.set_clock_offset(seconds)`."""
    numbers = itertools.count(1)

    def make(version: str) -> BwClient:
        if shutil.which("node") is None:
            _node_missing("no `node` on PATH (apt-get install nodejs npm)")
        try:
            bw_js = install(version)
        except NodeMissing as exc:
            _node_missing(str(exc))
        except BwError as exc:
            pytest.fail(str(exc), pytrace=False)
        client = BwClient(bw_js, tmp_path / f"bw-{version}-{next(numbers)}", sleepwalk_server.ca_cert)
        client.run("config", "server", sleepwalk_world.info.base_url).check()
        return client

    return make


@pytest.fixture
def sleepwalk_reference(
    sleepwalk_session: Session, sleepwalk_world: WorldFixture, tmp_path: Path
) -> Iterator[Callable[[str], ClientDriver]]:
    """`sleepwalk_reference("fixed")`: a reference client (legacy, fixed or mobile) logged in to the test's world,
    ready for `harness.play(steps, client, sleepwalk_world.control)`; closed after the test."""
    drivers: list[ClientDriver] = []

    def make(profile: str = "fixed") -> ClientDriver:
        driver = make_driver(f"reference:{profile}", sleepwalk_session.context)
        drivers.append(driver)
        driver.start(sleepwalk_world.info, sleepwalk_world.control, tmp_path, ClientSetup())
        return driver

    yield make
    for driver in drivers:
        driver.close()
