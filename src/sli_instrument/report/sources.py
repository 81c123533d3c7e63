"""Where a report reads its numbers: the interface every backend source implements.

A source answers two questions about a service's journeys:

* :meth:`Source.window_counts`: how many requests, failures and slow events happened in each of
  these windows ending now (for the summary: SLO window and alert windows);
* :meth:`Source.report_data`: cumulative counts sampled over a time range (for the HTML report).

Backends: :mod:`.prometheus` (HTTP API, stdlib only) and :mod:`.cloudwatch` (``GetMetricData``,
boto3 imported only there).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Optional, Protocol

from ..slo.model import SLOSpec
from .model import ReportData
from .summary import Counts, Summary, summarize, windows_needed


class SourceError(Exception):
    """The backend could not be read (unreachable, refused, malformed): one line for users."""


class Source(Protocol):
    #: Where the numbers come from, e.g. ``prometheus http://localhost:9090``.
    description: str

    def window_counts(
        self, spec: SLOSpec, windows: Sequence[float], now: float
    ) -> dict[str, dict[float, Counts]]:
        """``{journey: {window_seconds: Counts}}`` for every journey of ``spec``."""
        ...

    def report_data(self, spec: SLOSpec, start: float, end: float, step: float) -> ReportData:
        """Cumulative counts of every journey at ``start, start + step, ... <= end``."""
        ...


def read_summary(source: Source, spec: SLOSpec, now: Optional[float] = None) -> Summary:
    """Ask ``source`` for every window the spec needs and summarize."""
    moment = time.time() if now is None else now
    windows = sorted({w for j in spec.journeys for w in windows_needed(j, moment)})
    counts = source.window_counts(spec, windows, moment)
    return summarize(spec, counts, now=moment, source=source.description)


def cumulative(increments: Sequence[Optional[float]]) -> list[float]:
    """Running totals of per-step increments (missing steps count as 0), starting at 0."""
    total = 0.0
    result = []
    for value in increments:
        if value is not None and value > 0:
            total += value
        result.append(total)
    return result


def step_for(span: float, points: int = 600) -> float:
    """A step in whole minutes (at least one) giving about ``points`` samples over ``span``."""
    return float(max(60, int(span / points) // 60 * 60))
