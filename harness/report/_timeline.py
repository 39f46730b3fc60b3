"""The timeline model: what happened in one run, on both clocks, computed from its journal, events and result.

Pure Python and forgiving: every field beyond `seq`, `method` and `path` may be missing (older report
directories), and the model then says less rather than failing. The HTML and Mermaid renderers only draw it.

Two clocks matter. Virtual time is what the server and client believed; real time is what the harness spent. A
ten-minute sleep is a jump in virtual time at one real instant, so each point carries both where known, and
`Timeline.to_real` maps a virtual instant (a token's expiry) to the first real instant the clock showed it.
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from harness.report._records import RunRecord

__all__ = [
    "REFRESH_MARGIN",
    "ClockJump",
    "ControlMark",
    "RequestMark",
    "Timeline",
    "TokenLife",
    "build_timeline",
    "parse_time",
]

#: Clients refresh an access token when fewer than this many seconds remain by their own clock.
REFRESH_MARGIN = timedelta(seconds=300)
#: A gap where virtual time ran this much further than real time, with no clock event to explain it, is shown as
#: an inferred clock jump (older report directories have no events.json).
_INFER_JUMP_OVER = timedelta(seconds=1)


def parse_time(value: Any) -> datetime | None:
    """An aware datetime from an ISO-8601 string (`...Z` included), or None for anything else."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


@dataclass(frozen=True)
class RequestMark:
    """One journaled request, with both arrival times."""

    seq: int
    method: str
    path: str
    query: str = ""
    grant: str | None = None
    status: int | None = None
    verdict: str | None = None
    token_id: str | None = None
    issued_token_id: str | None = None
    issued_expires: datetime | None = None
    fault_id: str | None = None
    fault_action: str | None = None
    held: bool = False
    note: str | None = None
    virtual: datetime | None = None
    real: datetime | None = None
    answered_virtual: datetime | None = None
    answered_real: datetime | None = None

    @property
    def status_class(self) -> str:
        """`2xx`, `3xx`, `4xx`, `5xx`, or `none` when the request got no answer."""
        if self.status is None or not 100 <= self.status <= 599:
            return "none"
        return f"{self.status // 100}xx"

    @property
    def is_token_call(self) -> bool:
        return self.grant is not None or self.path.rstrip("/").endswith("/connect/token")

    @property
    def is_refresh(self) -> bool:
        return self.grant == "refresh_token"

    @property
    def participant(self) -> str:
        """`Identity` for the identity server's paths, `API` for everything else."""
        return "Identity" if self.path.startswith("/identity") else "API"

    @property
    def label(self) -> str:
        """`POST /identity/connect/token refresh_token`: what the request was, as scenario files write it."""
        return f"{self.method} {self.path}" + (f" {self.grant}" if self.grant else "")


@dataclass(frozen=True)
class TokenLife:
    """An access token from the response that issued it to its expiry, and the requests that presented it."""

    token_id: str
    issued_seq: int
    grant: str | None
    issued_virtual: datetime | None
    issued_real: datetime | None
    expires_virtual: datetime | None
    #: `journal` (the token's own exp), `settings` (issue time + the run's configured lifetime), or None.
    expiry_source: str | None
    used_by: tuple[int, ...]
    rejected_by: tuple[int, ...]

    @property
    def refresh_from_virtual(self) -> datetime | None:
        """When a client starts refreshing it: exp minus the refresh margin, never before its issue."""
        if self.expires_virtual is None:
            return None
        start = self.expires_virtual - REFRESH_MARGIN
        if self.issued_virtual is not None and start < self.issued_virtual:
            return self.issued_virtual
        return start


@dataclass(frozen=True)
class ClockJump:
    """A jump of the virtual clock: a host sleep, a plain advance, or a skew of the server clock alone."""

    virtual_before: datetime | None
    virtual_after: datetime | None
    real: datetime | None
    seconds: float
    reason: str | None
    inferred: bool = False
    text: str = ""

    @property
    def kind(self) -> str:
        """`sleep`, `advance`, `skew`, or `jump` when the reason is unknown."""
        return self.reason if self.reason in ("sleep", "advance", "skew") else "jump"

    @property
    def summary(self) -> str:
        """`host sleeps 10 min: clocks +600 s`, in words fit for a note."""
        amount = f"{_signed(self.seconds)} s"
        span = _duration_words(abs(self.seconds))
        if self.kind == "sleep":
            return f"host sleeps {span}: clocks {amount}"
        if self.kind == "advance":
            return f"clocks advance {span}: {amount}"
        if self.kind == "skew":
            return f"server clock skewed {amount} (client clock unchanged)"
        return f"virtual clock jumps {amount}" + (" (inferred from the journal)" if self.inferred else "")


@dataclass(frozen=True)
class ControlMark:
    """A control event other than a clock jump: a fault added, a revocation, an expiry, a hold..."""

    seq: int
    kind: str
    virtual: datetime | None
    real: datetime | None
    text: str


@dataclass(frozen=True)
class Timeline:
    """Everything the report draws for one scenario and client."""

    scenario: str
    client: str
    description: str | None
    source: str | None
    profile: str | None
    expected_profile: str | None
    passed: bool | None
    problems: tuple[str, ...]
    state: str | None
    logout_reason: str | None
    exit_code: int | None
    error: str | None
    settings: dict[str, Any]
    expected: dict[str, Any] | None
    commands: tuple[dict[str, Any], ...]
    requests: tuple[RequestMark, ...]
    tokens: tuple[TokenLife, ...]
    jumps: tuple[ClockJump, ...]
    controls: tuple[ControlMark, ...]
    virtual_start: datetime | None
    virtual_end: datetime | None
    real_start: datetime | None
    real_end: datetime | None
    #: (virtual reading, first real instant, last real instant), by virtual time.
    anchors: tuple[tuple[datetime, datetime, datetime], ...] = ()

    def to_real(self, virtual: datetime | None) -> datetime | None:
        """The first real instant the virtual clock read `virtual`, interpolated between known pairs.

        While the clock stood still between two readings, a virtual instant between them maps between the last real
        instant of the earlier reading and the first of the later one. Before the first or after the last reading
        the clock is assumed to run at real speed.
        """
        if virtual is None or not self.anchors:
            return None
        virtuals = [anchor[0] for anchor in self.anchors]
        index = bisect.bisect_left(virtuals, virtual)
        if index == len(self.anchors):
            last_virtual, _, last_real = self.anchors[-1]
            return last_real + (virtual - last_virtual)
        at_virtual, at_real, _ = self.anchors[index]
        if at_virtual == virtual:
            return at_real
        if index == 0:
            return at_real - (at_virtual - virtual)
        before_virtual, _, before_real = self.anchors[index - 1]
        fraction = (virtual - before_virtual) / (at_virtual - before_virtual)
        return before_real + (at_real - before_real) * fraction


def _signed(seconds: float) -> str:
    text = f"{seconds:+.3f}".rstrip("0").rstrip(".")
    return text


def _duration_words(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:g} s"
    if seconds < 3600:
        minutes, rest = divmod(seconds, 60)
        return f"{minutes:g} min" + (f" {rest:g} s" if rest else "")
    hours, rest = divmod(seconds, 3600)
    return f"{hours:g} h" + (f" {rest / 60:g} min" if rest else "")


def _request(entry: dict[str, Any], index: int) -> RequestMark:
    seq = _int(entry.get("seq"))
    return RequestMark(
        seq=seq if seq is not None else index + 1,
        method=str(entry.get("method") or "?"),
        path=str(entry.get("path") or "?"),
        query=str(entry.get("query") or ""),
        grant=_str(entry.get("grant_type")),
        status=_int(entry.get("status")),
        verdict=_str(entry.get("token_verdict")),
        token_id=_str(entry.get("token_id")),
        issued_token_id=_str(entry.get("issued_token_id")),
        issued_expires=parse_time(entry.get("issued_token_expires_virtual")),
        fault_id=_str(entry.get("fault_id")),
        fault_action=_str(entry.get("fault_action")),
        held=bool(entry.get("held")),
        note=_str(entry.get("note")),
        virtual=parse_time(entry.get("arrived_virtual")),
        real=parse_time(entry.get("arrived_real")),
        answered_virtual=parse_time(entry.get("answered_virtual")),
        answered_real=parse_time(entry.get("answered_real")),
    )


def _tokens(requests: list[RequestMark], lifetime: float | None) -> list[TokenLife]:
    issued = [request for request in requests if request.issued_token_id]
    ids = {request.issued_token_id for request in issued}
    uses: dict[str, list[RequestMark]] = {}
    for request in requests:
        if request.token_id is not None and request.token_id in ids and not request.is_token_call:
            uses.setdefault(request.token_id, []).append(request)
    tokens = []
    for request in issued:
        assert request.issued_token_id is not None
        issued_at = request.answered_virtual or request.virtual
        expires, source = request.issued_expires, "journal" if request.issued_expires else None
        if expires is None and lifetime is not None and issued_at is not None:
            expires, source = issued_at + timedelta(seconds=lifetime), "settings"
        used = uses.get(request.issued_token_id, [])
        tokens.append(
            TokenLife(
                token_id=request.issued_token_id,
                issued_seq=request.seq,
                grant=request.grant,
                issued_virtual=issued_at,
                issued_real=request.answered_real or request.real,
                expires_virtual=expires,
                expiry_source=source,
                used_by=tuple(use.seq for use in used),
                rejected_by=tuple(use.seq for use in used if use.verdict not in (None, "valid")),
            )
        )
    return tokens


def _events(events: list[dict[str, Any]]) -> tuple[list[ClockJump], list[ControlMark]]:
    jumps, controls = [], []
    for index, event in enumerate(events):
        kind = str(event.get("kind") or "?")
        virtual, real = parse_time(event.get("virtual")), parse_time(event.get("real"))
        text = str(event.get("text") or "")
        if kind != "clock":
            seq = _int(event.get("seq"))
            controls.append(ControlMark(seq if seq is not None else index + 1, kind, virtual, real, text))
            continue
        after = parse_time(event.get("virtual_after"))
        seconds = _float(event.get("seconds"))
        if seconds is None and virtual is not None and after is not None:
            seconds = (after - virtual).total_seconds()
        if after is None and virtual is not None and seconds is not None:
            after = virtual + timedelta(seconds=seconds)
        reason = _str(event.get("reason"))
        jumps.append(ClockJump(virtual, after, real, seconds or 0.0, reason, inferred=False, text=text))
    return jumps, controls


def _inferred_jumps(requests: list[RequestMark]) -> list[ClockJump]:
    jumps = []
    for before, after in itertools.pairwise(requests):
        start_virtual = before.answered_virtual or before.virtual
        start_real = before.answered_real or before.real
        if start_virtual is None or start_real is None or after.virtual is None or after.real is None:
            continue
        virtual_gap, real_gap = after.virtual - start_virtual, after.real - start_real
        if virtual_gap - max(real_gap, timedelta(0)) > _INFER_JUMP_OVER:
            seconds = round(virtual_gap.total_seconds(), 3)
            jumps.append(ClockJump(start_virtual, after.virtual, after.real, seconds, None, inferred=True))
    return jumps


def _anchors(
    requests: list[RequestMark], jumps: list[ClockJump], controls: list[ControlMark]
) -> list[tuple[datetime, datetime, datetime]]:
    pairs: list[tuple[datetime, datetime]] = []
    for request in requests:
        for virtual, real in ((request.virtual, request.real), (request.answered_virtual, request.answered_real)):
            if virtual is not None and real is not None:
                pairs.append((virtual, real))
    for jump in jumps:
        if jump.real is not None and not jump.inferred:
            pairs += [(virtual, jump.real) for virtual in (jump.virtual_before, jump.virtual_after) if virtual]
    pairs += [(control.virtual, control.real) for control in controls if control.virtual and control.real]
    # Ordered by real time; a pair whose virtual time runs backwards (a reset) is dropped, so the map stays monotone.
    monotone: list[tuple[datetime, datetime, datetime]] = []
    for virtual, real in sorted(pairs, key=lambda pair: (pair[1], pair[0])):
        if monotone and virtual == monotone[-1][0]:
            monotone[-1] = (virtual, monotone[-1][1], real)
        elif not monotone or virtual > monotone[-1][0]:
            monotone.append((virtual, real, real))
    return monotone


def build_timeline(run: RunRecord) -> Timeline:
    """The timeline of one run; missing files and fields leave the matching parts empty or None."""
    result = run.result or {}
    requests = [_request(entry, index) for index, entry in enumerate(run.journal)]
    settings = result.get("settings") if isinstance(result.get("settings"), dict) else {}
    assert isinstance(settings, dict)
    tokens = _tokens(requests, _float(settings.get("access_token_lifetime")))
    jumps, controls = _events(run.events)
    if not jumps:
        jumps = _inferred_jumps(requests)
    problems = result.get("problems") if isinstance(result.get("problems"), list) else []
    commands = result.get("commands") if isinstance(result.get("commands"), list) else []
    expected = result.get("expected") if isinstance(result.get("expected"), dict) else None
    passed = result.get("passed")
    virtuals = [t for r in requests for t in (r.virtual, r.answered_virtual) if t]
    virtuals += [t for j in jumps for t in (j.virtual_before, j.virtual_after) if t]
    virtuals += [c.virtual for c in controls if c.virtual]
    reals = [t for r in requests for t in (r.real, r.answered_real) if t]
    reals += [t for t in [*(j.real for j in jumps), *(c.real for c in controls)] if t]
    virtual_start, virtual_end = parse_time(result.get("virtual_start")), parse_time(result.get("virtual_end"))
    real_start, real_end = parse_time(result.get("real_start")), parse_time(result.get("real_end"))
    return Timeline(
        scenario=run.scenario,
        client=run.client,
        description=_str(result.get("description")),
        source=_str(result.get("source")),
        profile=_str(result.get("profile")),
        expected_profile=_str(result.get("expected_profile")),
        passed=passed if isinstance(passed, bool) else None,
        problems=tuple(str(problem) for problem in problems or ()),
        state=_str(result.get("state")),
        logout_reason=_str(result.get("logout_reason")),
        exit_code=_int(result.get("exit_code")),
        error=_str(result.get("error")),
        settings=dict(settings),
        expected=expected,
        commands=tuple(command for command in commands or () if isinstance(command, dict)),
        requests=tuple(requests),
        tokens=tuple(tokens),
        jumps=tuple(jumps),
        controls=tuple(controls),
        virtual_start=min([*virtuals, *([virtual_start] if virtual_start else [])], default=None),
        virtual_end=max([*virtuals, *([virtual_end] if virtual_end else [])], default=None),
        real_start=min([*reals, *([real_start] if real_start else [])], default=None),
        real_end=max([*reals, *([real_end] if real_end else [])], default=None),
        anchors=tuple(_anchors(requests, jumps, controls)),
    )
