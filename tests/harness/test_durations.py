from __future__ import annotations

import pytest

from harness._durations import DurationError, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("400s", 400),
        ("10m", 600),
        ("1h30m", 5400),
        ("2d", 172800),
        ("250ms", 0.25),
        ("90", 90),
        (12, 12),
        ("1.5h", 5400),
    ],
)
def test_parse_duration(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["banana", "", "10x", "m10", "-5s", "10m banana", True])
def test_parse_duration_refuses_garbage_with_the_accepted_forms(text: object) -> None:
    with pytest.raises(DurationError, match=r"10m|negative"):
        parse_duration(text)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("seconds", "text"), [(400, "6m40s"), (600, "10m"), (5400, "1h30m"), (0, "0s"), (0.25, "250ms")]
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
