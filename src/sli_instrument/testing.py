"""Helpers for testing code instrumented with sli_instrument.

```python
from sli_instrument.testing import recording

def test_checkout_failure_is_counted():
    with recording() as sli:
        with pytest.raises(PaymentError):
            checkout(cart)
    assert sli.journey("checkout").failures == 1
```

``recording()`` sets up an in-memory pipeline for the block (unless ``configure()`` already set one
up with the ``memory`` exporter) and starts every journey from zero. :func:`journey_metrics` reads
per-journey numbers out of any OpenTelemetry ``MetricsData``, such as what your own
``InMemoryMetricReader`` collected.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Optional

from . import _contract as c
from ._outgoing import uninstall as uninstall_outgoing
from ._recorder import recorder
from ._registry import registry
from ._safety import reset_error_log
from .config import configure, current_configuration, shutdown

__all__ = ["JourneyMetrics", "Recording", "journey_metrics", "recording", "reset_state"]


@dataclass
class JourneyMetrics:
    """What one journey exported, read back from the metrics data."""

    requests: int = 0
    failures: int = 0
    slow: int = 0
    aborted: int = 0
    #: Events in the duration histogram, per outcome (``success``/``failure``/``aborted``).
    duration_count: dict[str, int] = field(default_factory=dict)
    duration_sum: dict[str, float] = field(default_factory=dict)
    duration_max: dict[str, float] = field(default_factory=dict)
    #: Bucket counts per outcome and their explicit bounds.
    buckets: dict[str, list[int]] = field(default_factory=dict)
    bounds: tuple[float, ...] = ()
    ttfb_count: int = 0
    ttfb_sum: float = 0.0

    @property
    def successes(self) -> int:
        return self.requests - self.failures

    @property
    def availability(self) -> Optional[float]:
        """Good events / valid events, or None before the first event."""
        return None if self.requests == 0 else (self.requests - self.failures) / self.requests

    @property
    def events(self) -> int:
        """Events in the duration histogram over every outcome."""
        return sum(self.duration_count.values())


def journey_metrics(data: Any) -> dict[str, JourneyMetrics]:
    """Per-journey numbers from an OpenTelemetry ``MetricsData`` (cumulative or one delta batch)."""
    result: dict[str, JourneyMetrics] = {}
    if data is None:
        return result
    counters = {
        c.REQUESTS: "requests",
        c.FAILURES: "failures",
        c.SLOW: "slow",
        c.ABORTED: "aborted",
    }
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                for point in metric.data.data_points:
                    attributes = dict(point.attributes or {})
                    name = attributes.get(c.ATTR_JOURNEY)
                    if not isinstance(name, str):
                        continue
                    entry = result.setdefault(name, JourneyMetrics())
                    if metric.name in counters:
                        attr = counters[metric.name]
                        setattr(entry, attr, getattr(entry, attr) + int(point.value))
                    elif metric.name == c.DURATION:
                        outcome = str(attributes.get(c.ATTR_OUTCOME, c.OUTCOME_SUCCESS))
                        entry.duration_count[outcome] = (
                            entry.duration_count.get(outcome, 0) + point.count
                        )
                        entry.duration_sum[outcome] = (
                            entry.duration_sum.get(outcome, 0.0) + point.sum
                        )
                        if point.count:
                            entry.duration_max[outcome] = max(
                                entry.duration_max.get(outcome, float("-inf")), point.max
                            )
                        previous = entry.buckets.get(outcome)
                        counts = list(point.bucket_counts)
                        entry.buckets[outcome] = (
                            counts
                            if previous is None
                            else [a + b for a, b in zip(previous, counts)]
                        )
                        entry.bounds = tuple(point.explicit_bounds)
                    elif metric.name == c.TTFB:
                        entry.ttfb_count += point.count
                        entry.ttfb_sum += point.sum
    return result


class Recording:
    """The in-memory pipeline of :func:`recording`."""

    def __init__(self, reader: Any) -> None:
        self._reader = reader
        self._final: Any = None

    def metrics(self) -> dict[str, JourneyMetrics]:
        """Every journey's numbers, cumulative since the block began.

        Inside the block this collects now; after it, it returns what was collected when the
        block ended, so assertions can follow the ``with`` statement.
        """
        if self._final is not None:
            return journey_metrics(self._final)
        return journey_metrics(self._reader.get_metrics_data())

    def _close(self) -> None:
        self._final = self._reader.get_metrics_data()

    def journey(self, name: str) -> JourneyMetrics:
        """One journey's numbers (all zero if it has no series)."""
        return self.metrics().get(name, JourneyMetrics())


@contextmanager
def recording(**configure_kwargs: Any) -> Iterator[Recording]:
    """Record every journey in memory for the duration of the block, starting from zero.

    A ``memory`` configuration that ``configure()`` already built is reused. Any other
    configuration is shut down first (a test should not export to a collector), and the block's
    private pipeline is shut down when it ends: call ``configure()`` again afterwards if later
    code needs one. ``configure_kwargs`` go to ``configure()`` (e.g. ``temporality="delta"``).
    """
    existing = current_configuration()
    owned_here = False
    if existing is not None and existing.settings.exporter == "memory" and existing.owned:
        config = existing
    else:
        if existing is not None:
            shutdown()
        kwargs = {"exporter": "memory", "install_global": False, **configure_kwargs}
        config = configure(**kwargs)
        owned_here = True
    recorder.reset()
    reset_error_log()
    rec = Recording(config.reader)
    try:
        yield rec
    finally:
        try:
            rec._close()
        finally:
            if owned_here:
                shutdown()


def reset_state() -> None:
    """Return sli_instrument to its import-time state: no pipeline, no journeys, no counts, and
    the global OpenTelemetry propagator unwrapped (a middleware created later wraps it again).

    For test suites that need full isolation between tests. Journeys registered before (for
    example by decorators at import time) are forgotten: their handles keep working but are no
    longer observed, so register them again, or decorate inside the test.
    """
    shutdown()
    registry.clear()
    recorder.forget()
    reset_error_log()
    uninstall_outgoing()
