"""Sessions: every run gets its own working directory, so no client state carries over between runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import harness._session as session_module
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
