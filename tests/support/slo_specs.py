"""SLO specs for generator and report tests, built from the typed model.

The default alert policy is the SRE Workbook's (page: 2% of the budget in 1h with a 5m short window,
5% in 6h with 30m; ticket: 10% in 3d with 6h), with burn rates derived from the window length.
"""

from __future__ import annotations

from typing import Optional

from sli_instrument.slo.model import (
    AlertWindow,
    JourneyObjective,
    LatencyObjective,
    SLOSpec,
    Window,
)

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0


def workbook_policy(window_seconds: float) -> tuple[AlertWindow, ...]:
    pairs = (
        ("page", HOUR, 5 * MINUTE, 0.02),
        ("page", 6 * HOUR, 30 * MINUTE, 0.05),
        ("ticket", 3 * DAY, 6 * HOUR, 0.10),
    )
    return tuple(
        AlertWindow(
            severity=severity,  # type: ignore[arg-type]
            long_window=long,
            short_window=short,
            budget_fraction=fraction,
            burn_rate=fraction * window_seconds / long,
        )
        for severity, long, short, fraction in pairs
    )


def journey(
    name: str,
    availability: float = 99.9,
    *,
    latency: Optional[tuple[float, float]] = None,
    window_days: int = 28,
    calendar: bool = False,
    alerts: Optional[tuple[AlertWindow, ...]] = None,
) -> JourneyObjective:
    if calendar:
        window = Window("calendar-month", 30 * DAY, "calendar-month")
    else:
        window = Window("rolling", window_days * DAY, f"{window_days}d")
    return JourneyObjective(
        name=name,
        availability=availability,
        latency=LatencyObjective(*latency) if latency else None,
        window=window,
        alerts=workbook_policy(window.seconds) if alerts is None else alerts,
    )


def shop_spec() -> SLOSpec:
    """Two journeys: checkout (99.9%, 300ms at 99%) and search (99.5%, no latency objective)."""
    return SLOSpec(
        service="shop",
        journeys=(
            journey("checkout", 99.9, latency=(0.3, 99.0)),
            journey("search", 99.5),
        ),
        source="slo.yaml",
    )
