"""Synthetic ``ReportData`` with a known story, for report renderer and timeline tests.

Every count is computed here from explicit per-second rates, so tests can derive the expected
ratios independently of the code under test.
"""

from __future__ import annotations

from typing import Optional

from sli_instrument.report.model import JourneySeries, ReportData
from sli_instrument.slo.model import JourneyObjective

T0 = 1_750_000_000.0


def series(
    name: str,
    objective: Optional[JourneyObjective],
    *,
    seconds: int = 30,
    rate: int = 100,
    error_ratio: float = 0.0,
    incident: tuple[int, int] = (0, 0),
    incident_ratio: float = 0.0,
    slow_ratio: float = 0.02,
    latency: bool = True,
    step: float = 1.0,
) -> JourneySeries:
    """``rate`` events per sample step; a share ``error_ratio`` fail, ``incident_ratio`` during
    samples ``incident[0] <= i < incident[1]``. Counts are cumulative, zero at the first sample."""
    result = JourneySeries(name=name, objective=objective)
    requests = failures = slow = 0.0
    for i in range(seconds + 1):
        result.timestamps.append(T0 + i * step)
        result.requests.append(requests)
        result.failures.append(failures)
        result.slow.append(slow)
        if latency:
            bump = 4.0 if incident[0] <= i < incident[1] else 1.0
            for key, value in (("p50", 0.04), ("p95", 0.12), ("p99", 0.25)):
                result.latency.setdefault(key, []).append(None if i == 0 else value * bump)
        ratio = incident_ratio if incident[0] <= i < incident[1] else error_ratio
        requests += rate
        failures += round(rate * ratio)
        slow += round(rate * slow_ratio)
    return result


def report(
    *journeys: JourneySeries, time_scale: float = 120.0, service: str = "shop"
) -> ReportData:
    return ReportData(
        service=service,
        generated_at=T0 + 60,
        source="synthetic test data",
        journeys=list(journeys),
        time_scale=time_scale,
    )
