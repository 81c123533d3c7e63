"""Turns this process's journey metrics into a :class:`ReportData` time series.

It reads the same in-process aggregates that ``configure()`` exports (requests, failures, slow
and the duration histogram), so what the demo shows is what a collector receives. Latency
percentiles are estimated from the histogram buckets the way Prometheus' ``histogram_quantile``
does: from the bucket counts gained over a trailing window, interpolating linearly inside the
bucket that holds the quantile.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Sequence
from typing import Optional

from .._contract import OUTCOME_FAILURE, OUTCOME_SUCCESS
from .._recorder import Recorder, recorder
from ..report.model import JourneySeries, ReportData
from ..slo.model import JourneyObjective

QUANTILES = (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))


def histogram_quantile(
    q: float, bounds: Sequence[float], counts: Sequence[float], max_value: Optional[float] = None
) -> Optional[float]:
    """The ``q`` quantile of explicit-bucket counts (bucket i holds ``(bounds[i-1], bounds[i]]``).

    None without observations. In the overflow bucket the answer is the largest bound (or the
    observed maximum when given), as Prometheus does.
    """
    total = float(sum(counts))
    if total <= 0:
        return None
    rank = q * total
    running = 0.0
    for index, count in enumerate(counts):
        if count <= 0:
            continue
        if running + count >= rank:
            if index >= len(bounds):
                top = bounds[-1] if bounds else 0.0
                return max(top, max_value) if max_value is not None else top
            upper = bounds[index]
            lower = bounds[index - 1] if index > 0 else 0.0
            return lower + (upper - lower) * (rank - running) / count
        running += count
    return bounds[-1] if bounds else None


class _JourneyTrack:
    def __init__(self, series: JourneySeries) -> None:
        self.series = series
        #: Cumulative bucket counts (success + failure) at each sample, and their bounds.
        self.buckets: list[list[int]] = []
        self.bounds: list[tuple[float, ...]] = []


class Sampler:
    """Samples the recorder every ``interval`` seconds on its own thread (or by ``sample()``)."""

    def __init__(
        self,
        service: str,
        journeys: Sequence[str],
        objectives: dict[str, JourneyObjective],
        *,
        time_scale: float = 1.0,
        quantile_window: float = 300.0,
        source: str = "demo",
        interval: float = 0.25,
        source_recorder: Optional[Recorder] = None,
    ) -> None:
        self.service = service
        self.source = source
        self.time_scale = time_scale
        #: Trailing window of the latency percentiles, in SLO seconds.
        self.quantile_window = quantile_window
        self.interval = interval
        self._recorder = source_recorder or recorder
        self._lock = threading.Lock()
        self._tracks = [
            _JourneyTrack(JourneySeries(name=name, objective=objectives.get(name)))
            for name in journeys
        ]
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def sample(self, now: Optional[float] = None) -> None:
        now = time.time() if now is None else now
        default_bounds = tuple(self._recorder.bounds)
        with self._lock:
            for track in self._tracks:
                stats = self._recorder.stats_of(track.series.name)
                requests = failures = slow = 0
                # Histogram bounds may be per journey (every threshold is a bucket edge).
                bounds = tuple(getattr(stats, "bounds", None) or default_bounds)
                buckets = [0] * (len(bounds) + 1)
                if stats is not None:
                    with stats.lock:
                        requests, failures, slow = stats.requests, stats.failures, stats.slow
                        for outcome in (OUTCOME_SUCCESS, OUTCOME_FAILURE):
                            counts = stats.duration[outcome].counts
                            if len(counts) == len(buckets):
                                for i, n in enumerate(counts):
                                    buckets[i] += n
                series = track.series
                series.timestamps.append(now)
                series.requests.append(float(requests))
                series.failures.append(float(failures))
                series.slow.append(float(slow))
                track.buckets.append(buckets)
                track.bounds.append(bounds)
                self._add_quantiles(track)

    def _add_quantiles(self, track: _JourneyTrack) -> None:
        series = track.series
        times = series.timestamps
        target = times[-1] - self.quantile_window / self.time_scale
        start = max(0, bisect.bisect_right(times, target + 1e-9) - 1)
        if start == len(times) - 1:  # window shorter than one interval: use the last interval
            start = max(0, start - 1)
        bounds = track.bounds[-1]
        comparable = len(times) > 1 and track.bounds[start] == bounds
        gained = [b - a for a, b in zip(track.buckets[start], track.buckets[-1])]
        for key, q in QUANTILES:
            series.latency.setdefault(key, []).append(
                histogram_quantile(q, bounds, gained) if comparable else None
            )

    def start(self) -> None:
        self.sample()
        self._thread = threading.Thread(target=self._run, name="sli-demo-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        next_at = time.monotonic() + self.interval
        while not self._stop.wait(max(0.0, next_at - time.monotonic())):
            self.sample()
            next_at += self.interval

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
        self.sample()

    def current_failures(self) -> int:
        """Failures counted so far over the sampled journeys (read now, not from a sample)."""
        total = 0
        for track in self._tracks:
            stats = self._recorder.stats_of(track.series.name)
            if stats is not None:
                with stats.lock:
                    total += stats.failures
        return total

    def report(self) -> ReportData:
        """A consistent copy of everything sampled so far."""
        with self._lock:
            journeys = [
                JourneySeries(
                    name=t.series.name,
                    objective=t.series.objective,
                    timestamps=list(t.series.timestamps),
                    requests=list(t.series.requests),
                    failures=list(t.series.failures),
                    slow=list(t.series.slow),
                    latency={k: list(v) for k, v in t.series.latency.items()},
                )
                for t in self._tracks
            ]
        return ReportData(
            service=self.service,
            generated_at=time.time(),
            source=self.source,
            journeys=journeys,
            time_scale=self.time_scale,
        )
