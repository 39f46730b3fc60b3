"""VirtualClock: frozen by default, forward-only advance, explicit set, aware datetimes, run and freeze."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from mock_identity_server.clock import Clock, SystemClock, VirtualClock, ensure_aware, host_now
from tests.conftest import START


def test_starts_frozen_at_the_given_instant(clock: VirtualClock) -> None:
    assert clock.now() == START
    assert clock.now() == START
    assert not clock.running


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (600, START + timedelta(minutes=10)),
        (0.5, START + timedelta(milliseconds=500)),
        (timedelta(days=30), START + timedelta(days=30)),
        (0, START),
    ],
)
def test_advance_moves_forward_by_the_step(clock: VirtualClock, step: float | timedelta, expected: datetime) -> None:
    assert clock.advance(step) == expected
    assert clock.now() == expected


@pytest.mark.parametrize("step", [-1, -0.001, timedelta(seconds=-5)])
def test_advance_refuses_negative_steps_and_names_set(clock: VirtualClock, step: float | timedelta) -> None:
    with pytest.raises(ValueError, match=r"only advances forwards.*set\(\)"):
        clock.advance(step)
    assert clock.now() == START


def test_set_jumps_backwards_and_forwards(clock: VirtualClock) -> None:
    earlier = START - timedelta(hours=3)
    assert clock.set(earlier) == earlier
    assert clock.now() == earlier
    later = START + timedelta(days=400)
    clock.set(later)
    assert clock.now() == later


def test_set_converts_other_zones_to_utc(clock: VirtualClock) -> None:
    plus_two = timezone(timedelta(hours=2))
    clock.set(datetime(2026, 1, 15, 12, 0, tzinfo=plus_two))
    assert clock.now() == START
    assert clock.now().tzinfo == UTC


def test_naive_datetimes_are_refused_everywhere(clock: VirtualClock) -> None:
    naive = datetime(2026, 1, 15, 10, 0)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="naive"):
        VirtualClock(naive)
    with pytest.raises(ValueError, match="tzinfo"):
        clock.set(naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        ensure_aware(naive)
    assert clock.now() == START


def test_run_follows_real_time_and_freeze_stops_it(clock: VirtualClock) -> None:
    clock.run()
    running = clock.running
    first = clock.now()
    assert first >= START
    assert clock.now() >= first
    frozen = clock.freeze()
    assert (running, clock.running) == (True, False)
    assert clock.now() == frozen
    assert clock.now() == frozen
    assert frozen >= first


def test_advance_while_running_keeps_running(clock: VirtualClock) -> None:
    clock.run()
    moved = clock.advance(3600)
    assert moved >= START + timedelta(hours=1)
    assert clock.running
    assert clock.now() >= moved


def test_a_clock_created_running_runs() -> None:
    running = VirtualClock(START, running=True)
    assert running.running
    assert running.now() >= START


def test_every_clock_meets_the_protocol_and_tells_aware_utc() -> None:
    for candidate in (VirtualClock(START), SystemClock()):
        assert isinstance(candidate, Clock)
        assert candidate.now().tzinfo == UTC
    assert host_now().tzinfo == UTC
