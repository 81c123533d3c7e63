"""The hot path: one call per event, counted in process, handed to OpenTelemetry in aggregate.

Why not four SDK calls per event? One SDK ``Histogram.record`` with attributes costs several
microseconds (attribute hashing, locks, exemplar checks); four of them would cost more than most
request handlers. So every event updates plain integers under one per-journey lock, and:

* the counters reach OpenTelemetry as *observable* counters whose callbacks read those integers:
  this works with any MeterProvider, including one that the ADOT distro or
  ``opentelemetry-instrument`` installed;
* the duration and TTFB histograms are aggregated here too when ``configure()`` owns the metric
  readers (they are merged into what those readers export, see ``_handoff.py``); with a provider we
  did not create there is no observable histogram in OpenTelemetry, so each event makes exactly one
  SDK ``Histogram.record`` (with attribute dictionaries built once per journey).

Every entry point catches its own errors: a fault here is logged once per kind and dropped.
"""

from __future__ import annotations

import bisect
import os
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

from . import _contract as c
from ._registry import Journey, registry
from ._safety import report_internal_error

try:  # the version is informational only
    from importlib.metadata import version as _dist_version

    _VERSION = _dist_version("sli_instrument")
except Exception:  # pragma: no cover - running from a source tree
    _VERSION = "0"


class HistogramAccumulator:
    """Explicit-bucket histogram state of one (journey, outcome) series."""

    __slots__ = ("count", "counts", "max", "min", "sum", "window_max", "window_min")

    def __init__(self, buckets: int) -> None:
        self.counts = [0] * buckets
        self.count = 0
        self.sum = 0.0
        self.min = float("inf")
        self.max = float("-inf")
        # Min/max since the last delta collection (delta points need their own extremes).
        self.window_min = float("inf")
        self.window_max = float("-inf")

    def add(self, value: float, index: int) -> None:
        self.counts[index] += 1
        self.count += 1
        self.sum += value
        if value < self.min:
            self.min = value
        if value > self.max:
            self.max = value
        if value < self.window_min:
            self.window_min = value
        if value > self.window_max:
            self.window_max = value


class JourneyStats:
    """All in-process aggregates of one journey. Mutated only under ``lock``."""

    __slots__ = (
        "aborted",
        "attrs",
        "duration",
        "failures",
        "journey",
        "lock",
        "requests",
        "slow",
        "threshold",
        "ttfb",
    )

    def __init__(self, journey: Journey, buckets: int) -> None:
        self.journey = journey
        self.lock = threading.Lock()
        self.requests = 0
        self.failures = 0
        self.slow = 0
        self.aborted = 0
        self.threshold = journey.latency_threshold
        self.duration = {
            c.OUTCOME_SUCCESS: HistogramAccumulator(buckets),
            c.OUTCOME_FAILURE: HistogramAccumulator(buckets),
            c.OUTCOME_ABORTED: HistogramAccumulator(buckets),
        }
        self.ttfb = HistogramAccumulator(buckets)
        self.attrs = {
            outcome: {c.ATTR_JOURNEY: journey.name, c.ATTR_OUTCOME: outcome}
            for outcome in (c.OUTCOME_SUCCESS, c.OUTCOME_FAILURE, c.OUTCOME_ABORTED)
        }

    @property
    def journey_attrs(self) -> dict[str, str]:
        return {c.ATTR_JOURNEY: self.journey.name}


class Recorder:
    """Owns the per-journey aggregates and their binding to an OpenTelemetry MeterProvider."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._stats: dict[str, JourneyStats] = {}
        self._bounds: tuple[float, ...] | None = None
        self.start_time_ns = time.time_ns()
        # True when configure() owns the readers and merges our histograms into their exports.
        self.owns_histograms = False
        self._binding: _Binding | None = None
        self._sdk_duration: Any = None
        self._sdk_ttfb: Any = None
        registry.add_listener(self._on_journey)

    # -- configuration time -------------------------------------------------------------------
    @property
    def bounds(self) -> tuple[float, ...]:
        """Histogram bucket bounds: the defaults plus every configured threshold, fixed on first use."""
        if self._bounds is None:
            with self._lock:
                if self._bounds is None:
                    self._bounds = self._compute_bounds()
        return self._bounds

    def _compute_bounds(self) -> tuple[float, ...]:
        thresholds = {j.latency_threshold for j in registry}
        thresholds.add(registry.default_latency_threshold)
        return tuple(sorted(set(c.DEFAULT_BOUNDS) | thresholds))

    def refresh_bounds(self) -> None:
        """Recompute bounds (only before any event or on reset: changing them mid-stream is wrong)."""
        with self._lock:
            self._bounds = self._compute_bounds()
            for name, stats in list(self._stats.items()):
                self._stats[name] = JourneyStats(stats.journey, len(self._bounds) + 1)
                stats.journey.stats = self._stats[name]

    def _on_journey(self, journey: Journey) -> None:
        with self._lock:
            stats = self._stats.get(journey.name)
            if stats is None:
                # Until the first binding the bounds are not fixed; bind() sizes the buckets again.
                size = len(self._bounds if self._bounds is not None else c.DEFAULT_BOUNDS) + 1
                stats = JourneyStats(journey, size)
                self._stats[journey.name] = stats
                journey.stats = stats
            stats.threshold = journey.latency_threshold
            if self._bounds is not None and stats.threshold not in self._bounds:
                # A threshold that arrived after the bounds were fixed: "slow" stays exact (it is
                # counted, not read from buckets), only the histogram lacks the edge. Say so once.
                report_internal_error(
                    f"threshold {stats.threshold}s of journey {journey.name!r} registered after "
                    "histogram bounds were fixed; configure thresholds before the first event",
                )

    def stats(self) -> list[JourneyStats]:
        return list(self._stats.values())

    def stats_of(self, name: str) -> JourneyStats | None:
        return self._stats.get(name)

    def bind(self, provider: Any = None, *, owns_histograms: bool = False) -> None:
        """Create our instruments on ``provider`` (default: the global one, even if still a proxy)."""
        with self._lock:
            if self._bounds is None:
                self.refresh_bounds()
            old = self._binding
            self._binding = _Binding(self, provider or metrics.get_meter_provider(), owns_histograms)
            if old is not None:
                old.active = False
            self._sdk_duration = self._binding.duration
            self._sdk_ttfb = self._binding.ttfb
            self.owns_histograms = owns_histograms

    def ensure_bound(self) -> None:
        if self._binding is None:
            self.bind()

    def reset(self) -> None:
        """Zero every aggregate (after a fork, the child counts only its own events)."""
        with self._lock:
            for name, stats in list(self._stats.items()):
                fresh = JourneyStats(stats.journey, len(self.bounds) + 1)
                self._stats[name] = fresh
                stats.journey.stats = fresh
            self.start_time_ns = time.time_ns()

    def forget(self) -> None:
        """Drop bindings and state entirely (tests)."""
        with self._lock:
            if self._binding is not None:
                self._binding.active = False
            self._binding = None
            self._sdk_duration = None
            self._sdk_ttfb = None
            self.owns_histograms = False
            self._stats.clear()
            self._bounds = None
            self.start_time_ns = time.time_ns()

    # -- request time -------------------------------------------------------------------------
    def record(
        self,
        stats: JourneyStats,
        duration: float,
        outcome: str,
        ttfb: float | None = None,
    ) -> None:
        """Record one event. Never raises."""
        try:
            if self._binding is None:
                self.bind()
            journey = stats.journey
            if not journey.enabled:
                return
            if journey.stats is not stats:  # reset or fork since the caller looked it up
                stats = journey.stats
            bounds = self._bounds or self.bounds
            index = bisect.bisect_left(bounds, duration)
            owned = self.owns_histograms
            with stats.lock:
                if outcome == c.OUTCOME_ABORTED:
                    stats.aborted += 1
                else:
                    stats.requests += 1
                    if outcome == c.OUTCOME_FAILURE:
                        stats.failures += 1
                    if duration > stats.threshold:
                        stats.slow += 1
                if owned:
                    stats.duration[outcome].add(duration, index)
                    if ttfb is not None:
                        stats.ttfb.add(ttfb, bisect.bisect_left(bounds, ttfb))
            if not owned:
                self._sdk_duration.record(duration, stats.attrs[outcome])
                if ttfb is not None:
                    self._sdk_ttfb.record(ttfb, stats.journey_attrs)
        except Exception as exc:
            report_internal_error("recording an event", exc)


class _Binding:
    """Our instruments on one MeterProvider. Deactivated bindings observe nothing."""

    def __init__(self, recorder: Recorder, provider: Any, owns_histograms: bool) -> None:
        self.active = True
        self._recorder = recorder
        meter = provider.get_meter(c.METER_NAME, _VERSION)
        for name, attr in ((c.REQUESTS, "requests"), (c.FAILURES, "failures"), (c.SLOW, "slow"),
                           (c.ABORTED, "aborted")):
            meter.create_observable_counter(
                name,
                callbacks=[self._observer(attr)],
                unit=c.COUNTER_UNIT,
                description=c.DESCRIPTIONS[name],
            )
        self.duration: Any = None
        self.ttfb: Any = None
        if not owns_histograms:
            bounds = list(recorder.bounds)
            self.duration = meter.create_histogram(
                c.DURATION,
                unit=c.SECONDS,
                description=c.DESCRIPTIONS[c.DURATION],
                explicit_bucket_boundaries_advisory=bounds,
            )
            self.ttfb = meter.create_histogram(
                c.TTFB,
                unit=c.SECONDS,
                description=c.DESCRIPTIONS[c.TTFB],
                explicit_bucket_boundaries_advisory=bounds,
            )

    def _observer(self, attr: str) -> Any:
        def observe(options: CallbackOptions) -> Iterable[Observation]:
            if not self.active:
                return []
            try:
                return [
                    Observation(getattr(stats, attr), stats.journey_attrs)
                    for stats in self._recorder.stats()
                    if stats.journey.enabled
                ]
            except Exception as exc:
                report_internal_error("observing counters", exc)
                return []

        return observe


def bucket_index(bounds: Sequence[float], value: float) -> int:
    """OpenTelemetry explicit buckets: bucket i holds values in (bounds[i-1], bounds[i]]."""
    return bisect.bisect_left(bounds, value)


recorder = Recorder()

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=recorder.reset)
