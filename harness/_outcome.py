"""What a scenario run produced, and the verdict against a profile's expectation.

Observed requests come from the server's journal, never from the client's own account of itself. A failed
verdict lists each problem in a sentence and shows the expected and the observed sequences side by side.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

from harness._errors import ScenarioFailed
from harness._profiles import Profile
from harness._scenario import ANY_REQUESTS, ClientState, Expectation, RequestPattern, Scenario

__all__ = ["CommandResult", "ObservedRequest", "Outcome", "Verdict", "judge", "matches_sequence", "side_by_side"]


@dataclass(frozen=True)
class ObservedRequest:
    """One journal entry, as much of it as verdicts and reports need."""

    seq: int
    method: str
    path: str
    grant_type: str | None
    status: int | None
    token_verdict: str | None = None
    fault_id: str | None = None
    held: bool = False
    note: str | None = None
    arrived_virtual: str | None = None
    answered_virtual: str | None = None
    arrived_real: str | None = None
    answered_real: str | None = None

    @classmethod
    def from_journal(cls, entry: dict[str, Any]) -> ObservedRequest:
        return cls(
            seq=entry["seq"],
            method=entry["method"],
            path=entry["path"],
            grant_type=entry.get("grant_type"),
            status=entry.get("status"),
            token_verdict=entry.get("token_verdict"),
            fault_id=entry.get("fault_id"),
            held=bool(entry.get("held")),
            note=entry.get("note"),
            arrived_virtual=entry.get("arrived_virtual"),
            answered_virtual=entry.get("answered_virtual"),
            arrived_real=entry.get("arrived_real"),
            answered_real=entry.get("answered_real"),
        )

    def matches(self, pattern: RequestPattern) -> bool:
        if pattern.method != self.method or not fnmatch.fnmatchcase(self.path, pattern.path):
            return False
        if pattern.grant_type is not None and pattern.grant_type != self.grant_type:
            return False
        if pattern.no_answer:
            return self.status is None
        return pattern.status is None or pattern.status == self.status

    def __str__(self) -> str:
        parts = [self.method, self.path]
        if self.grant_type:
            parts.append(self.grant_type)
        parts.append("-" if self.status is None else str(self.status))
        return " ".join(parts)


@dataclass(frozen=True)
class CommandResult:
    """One client command: what was run, how it ended, what it printed."""

    command: str
    exit_code: int | None
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class Outcome:
    scenario_id: str
    client: str
    profile: Profile
    requests: tuple[ObservedRequest, ...]
    state: ClientState | None
    commands: tuple[CommandResult, ...] = ()
    logout_reason: str | None = None
    error: str | None = None
    wall_seconds: float = 0.0
    virtual_seconds: float = 0.0
    journal: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    events: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    settings: dict[str, Any] = field(default_factory=dict, repr=False)
    virtual_start: str | None = None
    virtual_end: str | None = None
    state_unknown: str | None = None

    @property
    def exit_code(self) -> int | None:
        return self.commands[-1].exit_code if self.commands else None

    @property
    def output(self) -> str:
        last = self.commands[-1] if self.commands else None
        return f"{last.stdout}\n{last.stderr}" if last else ""


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    expected_profile: Profile
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.problems

    def check(self) -> Verdict:
        """This verdict if it passed; otherwise ScenarioFailed with every problem, for tests and CI logs."""
        if self.problems:
            outcome = self.outcome
            header = (
                f"{outcome.scenario_id} with {outcome.client} did not meet the {self.expected_profile} expectation:"
            )
            raise ScenarioFailed("\n".join([header, *self.problems]))
        return self


Expected = list[RequestPattern | str]


def matches_sequence(expected: Expected, seen: list[ObservedRequest]) -> bool:
    """Whether `seen` fits `expected`, where '...' stands for any number of requests."""
    if not expected:
        return not seen
    head, rest = expected[0], expected[1:]
    if head == ANY_REQUESTS:
        return any(matches_sequence(rest, seen[start:]) for start in range(len(seen) + 1))
    assert isinstance(head, RequestPattern)
    return bool(seen) and seen[0].matches(head) and matches_sequence(rest, seen[1:])


def relevant(expectation: Expectation, requests: tuple[ObservedRequest, ...]) -> list[ObservedRequest]:
    return [request for request in requests if not any(request.matches(pattern) for pattern in expectation.ignore)]


def side_by_side(expected: Expected, seen: list[ObservedRequest]) -> str:
    """The two sequences in columns, for a failure message a CI log can show."""
    left = [str(item) for item in expected]
    right = [str(item) for item in seen]
    width = max([len("expected"), *map(len, left)]) + 2
    lines = [f"    {'expected'.ljust(width)}observed"]
    for index in range(max(len(left), len(right))):
        one = left[index] if index < len(left) else ""
        two = right[index] if index < len(right) else ""
        lines.append(f"    {one.ljust(width)}{two}")
    return "\n".join(lines)


def judge(scenario: Scenario, outcome: Outcome, profile: Profile | None = None) -> Verdict:
    """Compare `outcome` with the expectation of `profile` (the client's own profile by default)."""
    chosen = profile or outcome.profile
    expectation = scenario.expect.get(chosen)
    if expectation is None:
        declared = ", ".join(scenario.expect)
        return Verdict(
            outcome, chosen, (f"Scenario {scenario.id!r} declares no expectation for {chosen}; it has {declared}.",)
        )
    problems: list[str] = []
    if outcome.error is not None:
        problems.append(f"The run did not complete: {outcome.error}")
    if expectation.requests is not None:
        seen = relevant(expectation, outcome.requests)
        expected: Expected = list(expectation.requests)
        if not matches_sequence(expected, seen):
            problems.append("The server saw a different request sequence:\n" + side_by_side(expected, seen))
    if expectation.state is not None and outcome.state != expectation.state:
        observed = outcome.state.value if outcome.state else "unknown"
        why = f" ({outcome.state_unknown})" if outcome.state_unknown else ""
        problems.append(f"Expected the client to end {expectation.state.value}, it ended {observed}{why}.")
    if expectation.exit is not None and outcome.exit_code != expectation.exit:
        problems.append(f"Expected the last command to exit {expectation.exit}, it exited {outcome.exit_code!r}.")
    for text in expectation.output:
        alternatives = [text] if isinstance(text, str) else text
        if not any(alternative in outcome.output for alternative in alternatives):
            wanted = repr(text) if isinstance(text, str) else " or ".join(map(repr, alternatives))
            problems.append(
                f"Expected the last command to print {wanted}; it printed {outcome.output.strip()[-400:]!r}."
            )
    if (
        expectation.logout_reason is not None
        and outcome.logout_reason is not None
        and outcome.logout_reason != expectation.logout_reason
    ):
        problems.append(f"Expected logout reason {expectation.logout_reason!r}, got {outcome.logout_reason!r}.")
    return Verdict(outcome, chosen, tuple(problems))
