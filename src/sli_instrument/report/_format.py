"""Number formatting shared by the HTML report's page and its charts."""

from __future__ import annotations

from typing import Optional


def pct(value: Optional[float]) -> str:
    if value is None:
        return "&mdash;"
    if abs(value) >= 99.0 and abs(value) < 100:
        return f"{value:.3f}".rstrip("0").rstrip(".") + "%"
    if 0 < abs(value) < 1:
        return f"{value:.2f}%"
    return f"{value:.1f}%"


def times100(value: Optional[float]) -> Optional[float]:
    return None if value is None else value * 100


def share(part: float, whole: float) -> Optional[float]:
    return None if whole <= 0 else 100.0 * part / whole


def seconds_tick(value: float) -> str:
    if value == 0:
        return "0"
    return f"{value * 1000:g}ms" if value < 1 else f"{value:g}s"


def human_seconds(seconds: float) -> str:
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= size:
            value = seconds / size
            exact = abs(value - round(value)) < 0.05
            return f"{value:.0f} {unit}" if exact else f"{value:.1f} {unit}"
    return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
