"""Parsing of durations written by people: ``0.3``, ``"300ms"``, ``"1.5s"``, ``"28d"``."""

from __future__ import annotations

import math
import re
from typing import Final, Union

from .errors import ConfigurationError

DurationLike = Union[int, float, str]

_UNITS: Final = {
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 7 * 86400.0,
}
_PATTERN = re.compile(r"\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(us|µs|ms|s|min|m|h|d|w)\s*")
_HINT: Final = (
    'use seconds as a number (0.3) or a string with a unit: "300ms", "1.5s", "2m", "1h", "28d"'
)


def parse_duration(value: object, *, what: str = "duration", source: str = "argument") -> float:
    """Return ``value`` in seconds; :class:`ConfigurationError` unless it is a positive duration.

    Numbers are seconds. Strings need a unit (``us``, ``ms``, ``s``, ``m``/``min``, ``h``, ``d``,
    ``w``): a bare ``"300"`` is ambiguous (milliseconds or seconds?) and is rejected.
    """
    if isinstance(value, bool):
        raise ConfigurationError(f"invalid {what} {value!r} (from {source}): {_HINT}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        match = _PATTERN.fullmatch(value)
        if match is None:
            raise ConfigurationError(f"invalid {what} {value!r} (from {source}): {_HINT}")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    else:
        raise ConfigurationError(
            f"invalid {what} {value!r} of type {type(value).__name__} (from {source}): {_HINT}"
        )
    if math.isnan(seconds) or math.isinf(seconds):
        raise ConfigurationError(f"invalid {what} {value!r} (from {source}): must be finite")
    if seconds <= 0:
        raise ConfigurationError(
            f"invalid {what} {value!r} (from {source}): must be greater than zero"
        )
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest exact form of ``seconds`` (``0.3`` -> ``"300ms"``, ``86400`` -> ``"1d"``)."""
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("m", 60.0), ("s", 1.0), ("ms", 1e-3)):
        count = seconds / size
        if count >= 1 and abs(count - round(count)) < 1e-9:
            return f"{round(count)}{unit}"
    return f"{seconds * 1000:g}ms" if seconds < 1 else f"{seconds:g}s"
