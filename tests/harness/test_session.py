"""Sessions: every run gets its own working directory, so no client state carries over between runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import harness._session as session_module
from harness._errors import StateUnknown
from harness._session import Session
from harness.clients.reference import ReferenceDriver
from tests.scenarios.conftest import SCENARIOS


def test_each_run_gets_a_fresh_working_directory(reference_session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Path] = []

    class Recording(ReferenceDriver):
        def start(self, world: Any, control: Any, workdir: Path, setup: Any) -> None:
            seen.append(workdir)
            super().start(world, control, workdir, setup)

    monkeypatch.setattr(session_module, "make_driver", lambda spec, context: Recording(*_profile(spec), context.http))
    for _ in range(2):
        assert reference_session.run_one(SCENARIOS["sleep-before-send"], "reference:fixed").passed
    assert len(set(seen)) == 2
    assert all(path.is_dir() for path in seen)


def _profile(spec: str) -> tuple[Any]:
    from harness._profiles import Profile

    return (Profile(spec.split(":")[1]),)


class _Speechless(ReferenceDriver):
    """A client that runs its commands but dies when asked its state, as `bw status` can after a long sleep."""

    def state(self) -> Any:
        raise StateUnknown("`bw status` printed '' instead of JSON ('UnhandledPromiseRejection')")


@pytest.mark.parametrize(("scenario_id", "passes"), [("bug-vaultwarden-7060", True), ("sleep-before-send", False)])
def test_an_unanswered_state_fails_only_a_verdict_that_needs_the_state(
    reference_session: Session, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, scenario_id: str, passes: bool
) -> None:
    monkeypatch.setattr(session_module, "make_driver", lambda spec, context: _Speechless(*_profile(spec), context.http))
    verdict = reference_session.run_one(SCENARIOS[scenario_id], "reference:fixed", report_dir=tmp_path)
    assert verdict.outcome.error is None
    assert verdict.outcome.state is None
    assert verdict.passed is passes, verdict.problems
    if not passes:
        assert "it ended unknown (`bw status` printed ''" in verdict.problems[-1]
    result = (tmp_path / scenario_id / "reference_fixed" / "result.json").read_text()
    assert "UnhandledPromiseRejection" in result
