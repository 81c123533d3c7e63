"""The data every report is made of, whatever it was read from (Prometheus, CloudWatch, the demo).

Counts are cumulative at each sample time (monotonic, starting at the first sample), so any
window's ratio is computed from count differences, never by averaging ratios.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ..slo.model import JourneyObjective


@dataclass
class JourneySeries:
    """One journey's samples over time, aligned on ``timestamps`` (epoch seconds, ascending)."""

    name: str
    objective: Optional[JourneyObjective]
    timestamps: list[float] = field(default_factory=list)
    #: Cumulative counts at each timestamp.
    requests: list[float] = field(default_factory=list)
    failures: list[float] = field(default_factory=list)
    slow: list[float] = field(default_factory=list)
    #: Latency quantiles in seconds at each timestamp, keyed "p50", "p95", "p99" (None: no data).
    latency: dict[str, list[Optional[float]]] = field(default_factory=dict)


@dataclass
class ReportData:
    service: str
    #: Epoch seconds when the data were read.
    generated_at: float
    #: Where the numbers came from, e.g. "prometheus http://localhost:9090" or "demo".
    source: str
    journeys: list[JourneySeries] = field(default_factory=list)
    #: Seconds that one unit of sample time stands for in budget terms (the demo compresses time:
    #: 1.0 means real time).
    time_scale: float = 1.0
