"""Durations as people write them in scenario files and on the command line: `400s`, `10m`, `1h30m`, `2d`."""

from __future__ import annotations

import re

__all__ = ["DurationError", "format_duration", "parse_duration"]

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


class DurationError(ValueError):
    """A duration that cannot be read; the message shows the accepted forms."""


def parse_duration(text: str | float | int) -> float:
    """Seconds in `text`: a number of seconds, or parts like `10m`, `1h30m`, `400s`, `250ms`, `2d`.

    >>> parse_duration("1h30m")
    5400.0
    """
    if isinstance(text, bool):
        raise DurationError(f"Expected a duration such as '10m' or '400s', got {text!r}.")
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        compact = text.strip().replace(" ", "")
        if re.fullmatch(r"\d+(?:\.\d+)?", compact):
            seconds = float(compact)
        else:
            parts = _PART.findall(compact)
            if not compact or "".join(number + unit for number, unit in parts) != compact:
                raise DurationError(
                    f"Cannot read the duration {text!r}; write it like '400s', '10m', '1h30m', '2d' or '250ms'."
                )
            seconds = sum(float(number) * _UNITS[unit] for number, unit in parts)
    if seconds < 0:
        raise DurationError(f"A duration cannot be negative, got {text!r}.")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest readable form: `400s`, `10m`, `1h30m`, `2d`."""
    if seconds < 1 and seconds != 0:
        return f"{round(seconds * 1000)}ms"
    remaining = round(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"
