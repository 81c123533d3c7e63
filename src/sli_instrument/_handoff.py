"""Hand our in-process histograms to the metric readers that ``configure()`` owns.

OpenTelemetry has no observable histogram, so for the readers we create we add the duration and
TTFB histograms to every batch they export, in the temporality the reader asked for. The points are
built from the same aggregates the record path updates, so nothing is double counted; delta points
are the difference to what this reader exported last time.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from opentelemetry.sdk.metrics import Histogram as HistogramInstrument
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Histogram,
    HistogramDataPoint,
    InMemoryMetricReader,
    Metric,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    PeriodicExportingMetricReader,
    ResourceMetrics,
    ScopeMetrics,
)
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from . import _contract as c
from ._recorder import HistogramAccumulator, Recorder, recorder
from ._safety import report_internal_error

_Key = tuple[str, str, str]  # (instrument, journey, outcome)


class HistogramHandOff:
    """Builds histogram metrics for one reader, remembering what it exported for delta."""

    def __init__(self, source: Recorder, temporality: AggregationTemporality) -> None:
        self._recorder = source
        self.temporality = temporality
        self._lock = threading.Lock()
        self._previous: dict[_Key, tuple[list[int], int, float]] = {}
        self._last_ns = source.start_time_ns
        self._epoch = source.start_time_ns

    def metrics(self) -> list[Metric]:
        now = time.time_ns()
        delta = self.temporality is AggregationTemporality.DELTA
        duration_points: list[HistogramDataPoint] = []
        ttfb_points: list[HistogramDataPoint] = []
        with self._lock:
            if self._epoch != self._recorder.start_time_ns:  # reset (fork): start over
                self._previous.clear()
                self._epoch = self._last_ns = self._recorder.start_time_ns
            start = self._last_ns if delta else self._recorder.start_time_ns
            for stats in self._recorder.stats():
                try:
                    self._add_points(stats, delta, start, now, duration_points, ttfb_points)
                except Exception as exc:  # one journey's fault must not drop the others
                    report_internal_error("exporting the histograms of one journey", exc)
            self._last_ns = now
        result = []
        for name, points in ((c.DURATION, duration_points), (c.TTFB, ttfb_points)):
            if points:
                result.append(
                    Metric(
                        name=name,
                        description=c.DESCRIPTIONS[name],
                        unit=c.SECONDS,
                        data=Histogram(
                            data_points=points, aggregation_temporality=self.temporality
                        ),
                    )
                )
        return result

    def _add_points(
        self,
        stats: Any,
        delta: bool,
        start: int,
        now: int,
        duration_points: list[HistogramDataPoint],
        ttfb_points: list[HistogramDataPoint],
    ) -> None:
        if not stats.journey.enabled:
            return
        with stats.lock:
            bounds = list(stats.bounds)
            snapshot = [
                (c.DURATION, outcome, stats.attrs[outcome], acc, duration_points)
                for outcome, acc in stats.duration.items()
            ]
            snapshot.append((c.TTFB, "", stats.journey_attrs, stats.ttfb, ttfb_points))
            copies = [
                (name, outcome, attrs, _copy(acc, delta), points)
                for name, outcome, attrs, acc, points in snapshot
            ]
        for name, outcome, attrs, (counts, count, total, lo, hi), points in copies:
            key = (name, stats.journey.name, outcome)
            if delta:
                prev = self._previous.get(key)
                self._previous[key] = (counts, count, total)
                if prev is not None:
                    counts = [a - b for a, b in zip(counts, prev[0])]
                    count -= prev[1]
                    total -= prev[2]
                if count == 0:
                    continue
            elif count == 0 and not (name == c.DURATION and outcome == c.OUTCOME_SUCCESS):
                continue
            if len(counts) != len(bounds) + 1:  # never export a malformed point
                raise ValueError(f"{len(counts)} buckets for {len(bounds)} bounds")
            points.append(
                HistogramDataPoint(
                    attributes=dict(attrs),
                    start_time_unix_nano=start,
                    time_unix_nano=now,
                    count=count,
                    sum=total,
                    bucket_counts=counts,
                    explicit_bounds=bounds,
                    min=lo if count else 0.0,
                    max=hi if count else 0.0,
                )
            )

    def merge(self, data: MetricsData) -> MetricsData:
        """Return ``data`` with our histograms added to our instrumentation scope."""
        try:
            extra = self.metrics()
            if not extra:
                return data
            resource_metrics = list(data.resource_metrics)
            if not resource_metrics:
                return data
            first = resource_metrics[0]
            scopes = list(first.scope_metrics)
            for i, scope_metrics in enumerate(scopes):
                if scope_metrics.scope.name == c.METER_NAME:
                    scopes[i] = ScopeMetrics(
                        scope=scope_metrics.scope,
                        metrics=list(scope_metrics.metrics) + extra,
                        schema_url=scope_metrics.schema_url,
                    )
                    break
            else:
                scopes.append(
                    ScopeMetrics(
                        scope=InstrumentationScope(c.METER_NAME),
                        metrics=extra,
                        schema_url="",
                    )
                )
            resource_metrics[0] = ResourceMetrics(
                resource=first.resource, scope_metrics=scopes, schema_url=first.schema_url
            )
            return MetricsData(resource_metrics=resource_metrics)
        except Exception as exc:
            report_internal_error("exporting histograms", exc)
            return data


def _copy(acc: HistogramAccumulator, delta: bool) -> tuple[list[int], int, float, float, float]:
    """Snapshot under the journey lock; the min/max window restarts at every collection."""
    window = acc.take_window()
    lo, hi = window if delta else (acc.min, acc.max)
    return list(acc.counts), acc.count, acc.sum, lo, hi


def histogram_temporality(
    preferred: dict[type, AggregationTemporality] | None,
) -> AggregationTemporality:
    if preferred and preferred.get(HistogramInstrument) is AggregationTemporality.DELTA:
        return AggregationTemporality.DELTA
    return AggregationTemporality.CUMULATIVE


class GuardedExporter(MetricExporter):
    """Our readers' exporter: an exception from the real one is ours to contain.

    The SDK's periodic reader logs a raising exporter at every export (every minute, for hours,
    when a collector is down and the exporter raises rather than returning FAILURE); here it is
    reported once per kind, rate-limited, like every other fault of ours, and the batch is dropped.
    """

    def __init__(self, inner: MetricExporter) -> None:
        super().__init__(
            preferred_temporality=getattr(inner, "_preferred_temporality", None),
            preferred_aggregation=getattr(inner, "_preferred_aggregation", None),
        )
        self.inner = inner

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        try:
            result = self.inner.export(metrics_data, timeout_millis=timeout_millis, **kwargs)
            return result if result is not None else MetricExportResult.SUCCESS
        except Exception as exc:
            report_internal_error(f"exporting metrics with {type(self.inner).__name__}", exc)
            return MetricExportResult.FAILURE

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        try:
            return bool(self.inner.force_flush(timeout_millis=timeout_millis))
        except Exception as exc:
            report_internal_error(f"flushing {type(self.inner).__name__}", exc)
            return False

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        try:
            self.inner.shutdown(timeout_millis=timeout_millis, **kwargs)
        except Exception as exc:
            report_internal_error(f"shutting down {type(self.inner).__name__}", exc)


class OwnedPeriodicReader(PeriodicExportingMetricReader):
    """A periodic reader whose exports include our histograms.

    After a fork the child abandons the parent's reader (``config._after_fork_in_child`` builds a
    fresh pipeline), so the SDK's own at-fork restart of its thread is skipped here.
    """

    _abandoned = False

    def abandon(self) -> None:
        self._abandoned = True

    def _at_fork_reinit(self) -> None:
        if not self._abandoned:
            super()._at_fork_reinit()  # type: ignore[no-untyped-call]

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        if not self._abandoned:
            super().shutdown(timeout_millis=timeout_millis, **kwargs)

    def __init__(self, exporter: MetricExporter, **kwargs: Any) -> None:
        if not isinstance(exporter, GuardedExporter):
            exporter = GuardedExporter(exporter)
        super().__init__(exporter, **kwargs)
        preferred = getattr(exporter, "_preferred_temporality", None)
        self.handoff = HistogramHandOff(recorder, histogram_temporality(preferred))

    def _receive_metrics(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> None:
        if self._abandoned:
            return
        super()._receive_metrics(self.handoff.merge(metrics_data), timeout_millis, **kwargs)


class OwnedInMemoryReader(InMemoryMetricReader):
    """An in-memory reader whose data include our histograms (the ``memory`` exporter, tests)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.handoff = HistogramHandOff(
            recorder, histogram_temporality(kwargs.get("preferred_temporality"))
        )

    def _receive_metrics(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> None:
        super()._receive_metrics(self.handoff.merge(metrics_data), timeout_millis, **kwargs)
