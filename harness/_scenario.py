"""Scenario files: what to set up, what to do, and what each behaviour profile is expected to show.

A scenario is YAML validated into frozen pydantic models; the same models can be built in Python. Errors name
the file, the field and what is allowed, because QA engineers write these by hand from bug reports.

```yaml
id: sleep-before-send
description: A request built with a still-valid token reaches the server only after the host slept past expiry.
source: https://github.com/bitwarden/clients/issues/10718
server: {settings: {access_token_lifetime: 330}}
setup:
  - sync: {force: true}
steps:
  - sync: {}
    sleep_at: {request: GET /api/accounts/revision-date, duration: 400s}
expect:
  legacy: {requests: [GET /api/accounts/revision-date 401], state: logged_out, exit: 1}
  fixed:
    requests: [GET /api/accounts/revision-date 401, POST /identity/connect/token refresh_token 200,
               GET /api/accounts/revision-date 200, ...]
    state: unlocked
    exit: 0
```
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from harness._durations import DurationError, parse_duration
from harness._errors import HarnessError
from harness._profiles import Profile

__all__ = [
    "BugReport",
    "ClientState",
    "Expectation",
    "RequestPattern",
    "Scenario",
    "ScenarioError",
    "Step",
    "load_scenario",
    "load_scenarios",
]


class ScenarioError(HarnessError, ValueError):
    """A scenario file that cannot be used; the message names the file, the field and the fix."""


def _duration(value: Any) -> float:
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise ValueError(str(exc)) from exc


Duration = Annotated[float, BeforeValidator(_duration)]


class ClientState(StrEnum):
    UNLOCKED = "unlocked"
    LOCKED = "locked"
    LOGGED_OUT = "logged_out"


_REQUEST = re.compile(r"^(?P<method>[A-Z]+)\s+(?P<path>/\S*)(?:\s+(?P<grant>[a-z_]+))?(?:\s+(?P<status>\d{3}|-))?$")


class RequestPattern(BaseModel):
    """`METHOD /path [grant_type] [status]`, e.g. `POST /identity/connect/token refresh_token 200`.

    The path is a glob (`/api/ciphers/*`); a missing grant or status matches any; status `-` means no answer
    (a dropped connection).
    """

    model_config = ConfigDict(frozen=True)

    method: str
    path: str
    grant_type: str | None = None
    status: int | None = None
    no_answer: bool = False

    @classmethod
    def parse(cls, text: str) -> RequestPattern:
        match = _REQUEST.match(text.strip())
        if match is None:
            raise ValueError(
                f"cannot read the request {text!r}; write 'METHOD /path [grant_type] [status]', "
                "e.g. 'GET /api/sync 200' or 'POST /identity/connect/token refresh_token 400'"
            )
        status = match["status"]
        return cls(
            method=match["method"],
            path=match["path"],
            grant_type=match["grant"],
            status=int(status) if status and status != "-" else None,
            no_answer=status == "-",
        )

    def __str__(self) -> str:
        parts = [self.method, self.path]
        if self.grant_type:
            parts.append(self.grant_type)
        if self.no_answer:
            parts.append("-")
        elif self.status is not None:
            parts.append(str(self.status))
        return " ".join(parts)


def _request_pattern(value: Any) -> Any:
    return RequestPattern.parse(value) if isinstance(value, str) else value


Request = Annotated[RequestPattern, BeforeValidator(_request_pattern)]

#: In an expected request sequence, this entry stands for any number of requests.
ANY_REQUESTS = "..."


class SleepAt(BaseModel):
    """Sleep while `request` is on its way: built with a valid token, judged by the server after `duration`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request: Request
    duration: Duration
    occurrence: int = Field(default=1, ge=1, description="Which matching request to catch (1 = the first).")
    count: int = Field(
        default=1,
        ge=1,
        le=8,
        description="Sleep once this many matching requests are in flight together, then release them all.",
    )


class SyncArgs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    force: bool = False


class CreateItemArgs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str = "sleepwalk item"
    username: str = "qa"
    password: str = "s3cret"


class DeleteItemArgs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    permanent: bool = False


class Empty(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FaultStep(BaseModel):
    """A fault in the wire format of `POST /_control/faults`; the server validates the details."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    match: dict[str, Any]
    action: dict[str, Any]
    times: int | None = 1


COMMANDS = ("login", "sync", "create_item", "delete_item", "status")
CLOCK_ACTIONS = ("sleep", "advance", "skew")
SERVER_ACTIONS = ("fault", "settings", "revoke", "rotate_stamp")
ACTIONS = COMMANDS + CLOCK_ACTIONS + SERVER_ACTIONS


class Step(BaseModel):
    """One thing that happens: a client command, time passing, or a change at the server.

    Commands: `login` (the world's account), `sync`, `create_item`, `delete_item`, `status`. Time: `sleep` (host
    asleep: client frozen, both clocks jump), `advance` (awake time passes: both clocks move), `skew` (only the
    server clock moves).
    Server: `fault`, `settings`, `revoke` (refresh tokens), `rotate_stamp` (security stamp).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    login: Empty | None = None
    sync: SyncArgs | None = None
    create_item: CreateItemArgs | None = None
    delete_item: DeleteItemArgs | None = None
    status: Empty | None = None
    sleep: Duration | None = None
    advance: Duration | None = None
    skew: Duration | None = None
    fault: FaultStep | None = None
    settings: dict[str, Any] | None = None
    revoke: Empty | None = None
    rotate_stamp: Empty | None = None
    sleep_at: SleepAt | None = Field(default=None, description="Command steps: sleep while this request is in flight.")
    processes: int = Field(default=1, ge=1, le=8, description="Command steps: run the command in N processes at once.")

    @model_validator(mode="after")
    def _one_action(self) -> Step:
        chosen = [name for name in ACTIONS if getattr(self, name) is not None]
        if len(chosen) != 1:
            raise ValueError(
                f"a step does exactly one thing, this one has {chosen or 'none'}; use one of {', '.join(ACTIONS)}"
            )
        if (self.sleep_at is not None or self.processes != 1) and chosen[0] not in COMMANDS:
            raise ValueError(f"'sleep_at' and 'processes' go with a command ({', '.join(COMMANDS)}), not {chosen[0]!r}")
        return self

    @property
    def action(self) -> str:
        return next(name for name in ACTIONS if getattr(self, name) is not None)

    @property
    def is_command(self) -> bool:
        return self.action in COMMANDS


class Expectation(BaseModel):
    """What one profile is expected to show after the steps."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    requests: list[Request | Literal["..."]] | None = Field(
        default=None, description="The requests the server saw during `steps`, in order; '...' = any number."
    )
    ignore: list[Request] = Field(
        default_factory=lambda: [RequestPattern.parse("GET /api/config")],
        description="Requests left out before comparing (default: GET /api/config, which clients send at will).",
    )
    state: ClientState | None = None
    exit: int | None = Field(default=None, description="Exit status of the last command.")
    output: list[str | list[str]] = Field(
        default_factory=list,
        description="Texts the last command printed (stdout or stderr); a list inside the list means any one of them.",
    )
    logout_reason: str | None = Field(default=None, description="Checked where the client reports it.")


class ServerSetup(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    preset: Literal["official", "vaultwarden", "strict"] | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    login_lifetime: Duration | None = Field(
        default=None,
        description=(
            "Access-token lifetime while the client logs in (null: the scenario's own); the scenario's lifetime "
            "applies from the first setup step, so a setup step must refresh (a forced sync does). Real CLIs crash "
            "now and then when logging in with tokens under 5 minutes (real-cli.md §15.12): scenarios with short "
            "tokens set this to 1h."
        ),
    )


class ClientSetup(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    login: Literal["password", "apikey", "none"] = Field(
        default="password", description="How the client logs in before the setup; `none` leaves it to a login step."
    )
    mode: Literal["command", "serve"] = Field(
        default="command", description="`command`: one process per command; `serve`: a long-lived `bw serve`."
    )


class BugReport(BaseModel):
    """The field report a recipe scenario reproduces, as the report states it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    number: str = Field(pattern=r"^[a-z0-9-]+$", description="e.g. 18585, or vaultwarden-7060; `make repro BUG=...`")
    url: str = Field(pattern=r"^https://")
    client: str = Field(description="Client and version the reporter used.")
    os: str | None = None
    sleep: str | None = Field(default=None, description="How long the host slept, in the report's words.")
    server: str | None = None
    says: str = Field(min_length=10, description="What the report says happened.")
    models: str = Field(min_length=10, description="Which conditions this recipe models, and why those.")
    reproducible: bool = Field(default=True, description="False when no condition we can model reproduces it.")
    why_not: str | None = Field(default=None, description="Why not, when reproducible is false.")

    @model_validator(mode="after")
    def _why_not(self) -> BugReport:
        if not self.reproducible and not self.why_not:
            raise ValueError("a recipe that cannot reproduce its report must say why in why_not")
        return self


class Scenario(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str = Field(min_length=10)
    source: str = Field(min_length=3, description="The bug report, PR, unit test or doc section it comes from.")
    server: ServerSetup = Field(default_factory=ServerSetup)
    client: ClientSetup = Field(default_factory=ClientSetup)
    setup: list[Step] = Field(default_factory=list)
    steps: list[Step] = Field(min_length=1)
    expect: dict[Profile, Expectation] = Field(min_length=1)
    bug: BugReport | None = Field(default=None, description="Set on bug recipes: the report it reproduces.")
    reference_only: str | None = Field(
        default=None, description="Why no real client can run it; such a scenario runs on reference clients only."
    )
    path: Path | None = Field(default=None, exclude=True)

    @property
    def profiles(self) -> list[Profile]:
        return list(self.expect)

    @model_validator(mode="after")
    def _serve_needs_login(self) -> Scenario:
        if self.client.mode == "serve" and self.client.login == "none":
            raise ValueError("client.mode serve needs a logged-in client; use login: password or apikey")
        return self


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if part == "[key]":
            text += " (as a key)"
        elif isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def load_scenario(path: Path) -> Scenario:
    """Read and validate one scenario file."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the file ({exc.strerror}).") from exc
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {exc}.") from exc
    if not isinstance(raw, dict):
        raise ScenarioError(f"{path}: a scenario is a mapping with id, description, source, steps and expect.")
    try:
        scenario = Scenario.model_validate({**raw, "path": path})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"  {_location(error['loc'])}: {message}")
        raise ScenarioError(f"{path} is not a valid scenario:\n" + "\n".join(problems)) from exc
    if scenario.id != path.stem:
        raise ScenarioError(f"{path}: id {scenario.id!r} differs from the file name; name the file {scenario.id}.yaml.")
    return scenario


def load_scenarios(directory: Path) -> dict[str, Scenario]:
    """Every scenario in `directory`, by id."""
    return {scenario.id: scenario for scenario in map(load_scenario, sorted(directory.glob("*.yaml")))}
