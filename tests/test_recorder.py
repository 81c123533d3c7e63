"""The recorder: exact counts, series from registration, bucket bounds, any MeterProvider, faults.

Global-provider cases run in a fresh interpreter: OpenTelemetry accepts one global MeterProvider
per process.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.metrics import NoOpMeter, NoOpMeterProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    InMemoryMetricReader,
    MetricExporter,
    MetricExportResult,
)

import sli_instrument as sli
from sli_instrument import _contract as c
from sli_instrument._recorder import recorder
from sli_instrument.testing import journey_metrics, recording

pytestmark = [pytest.mark.core, pytest.mark.usefixtures("sli_reset")]

ROOT = Path(__file__).resolve().parent.parent


def series(data: Any) -> dict[tuple[str, tuple[tuple[str, Any], ...]], Any]:
    """{(metric name, sorted attributes): data point} of one MetricsData."""
    result = {}
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for point in metric.data.data_points:
                    result[(metric.name, tuple(sorted(point.attributes.items())))] = point
    return result


def metric_objects(data: Any) -> dict[str, Any]:
    return {
        m.name: m
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        if sm.scope.name == c.METER_NAME
        for m in sm.metrics
    }


J = c.ATTR_JOURNEY
OUT = c.ATTR_OUTCOME


def test_every_registered_journey_has_series_at_zero_before_any_event() -> None:
    for name in ("checkout", "search", "sign-in"):
        sli.journey(name)
    with recording() as rec:
        data = rec._reader.get_metrics_data()
    points = series(data)
    for name in ("checkout", "search", "sign-in"):
        for counter in (c.REQUESTS, c.FAILURES, c.SLOW, c.ABORTED):
            assert points[(counter, ((J, name),))].value == 0
        duration = points[(c.DURATION, ((J, name), (OUT, "success")))]
        assert duration.count == 0 and sum(duration.bucket_counts) == 0


def test_instruments_names_units_descriptions_and_kinds() -> None:
    sli.journey("checkout")
    with recording() as rec:
        with sli.journey("checkout"):
            pass
        data = rec._reader.get_metrics_data()
    metrics = metric_objects(data)
    for name in (c.REQUESTS, c.FAILURES, c.SLOW, c.ABORTED):
        assert metrics[name].unit == "{request}"
        assert metrics[name].description == c.DESCRIPTIONS[name]
        assert metrics[name].data.is_monotonic is True
        assert type(metrics[name].data).__name__ == "Sum"
    assert metrics[c.DURATION].unit == "s"
    assert type(metrics[c.DURATION].data).__name__ == "Histogram"
    assert metrics[c.DURATION].description == c.DESCRIPTIONS[c.DURATION]


def test_each_journey_has_its_threshold_as_a_bucket_edge() -> None:
    sli.journey("a", latency_threshold="300ms")
    with recording(default_latency_threshold="2.5s") as rec:
        # Decorators that run after configure() (the usual module order) still count.
        sli.journey("b", latency_threshold="42ms")
        sli.journey("c")
        for name in ("a", "b", "c"):
            with sli.journey(name):
                pass
        bounds = {name: rec.journey(name).bounds for name in ("a", "b", "c")}
    assert 0.3 in bounds["a"]
    assert 0.042 in bounds["b"]
    assert 2.5 in bounds["c"]  # the default threshold applies to c
    for value in bounds.values():
        assert set(c.DEFAULT_BOUNDS) <= set(value)
        assert list(value) == sorted(value)


def test_a_journey_registered_after_traffic_started_still_gets_its_edge(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Django imports views (and runs their decorators) at the first request.
    caplog.set_level(logging.ERROR, "sli_instrument")
    with recording() as rec:
        with sli.journey("health"):
            pass
        late = sli.registry.register("late", latency_threshold="333ms")
        recorder.record(late.stats, 0.3, c.OUTCOME_SUCCESS)
        m = rec.journey("late")
    assert 0.333 in m.bounds
    assert m.buckets["success"][list(m.bounds).index(0.333)] == 1
    assert not [r for r in caplog.records if "threshold" in r.getMessage()]


def test_threshold_changed_after_the_journeys_first_event_is_reported_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, "sli_instrument")
    with recording() as rec:
        journey = sli.registry.register("moving")
        recorder.record(journey.stats, 0.5, c.OUTCOME_SUCCESS)
        sli.registry.override_threshold("moving", 0.4, source="slo.yaml:3")
        recorder.record(journey.stats, 0.45, c.OUTCOME_SUCCESS)
        recorder.record(journey.stats, 0.35, c.OUTCOME_SUCCESS)
        m = rec.journey("moving")
    assert m.slow == 1  # exact: counted against the new threshold
    assert 0.4 not in m.bounds  # the histogram keeps the bounds it started with
    messages = [r.getMessage() for r in caplog.records]
    assert sum("'moving'" in m and "after its histogram started" in m for m in messages) == 1


def test_bucket_edges_are_upper_inclusive_and_slow_is_strictly_greater() -> None:
    journey = sli.registry.register("edge", latency_threshold="300ms")
    with recording() as rec:
        for value in (0.3, 0.3000001, 0.001, 100.0):
            recorder.record(journey.stats, value, c.OUTCOME_SUCCESS)
        m = rec.journey("edge")
    bounds = list(m.bounds)
    buckets = m.buckets["success"]
    assert len(buckets) == len(bounds) + 1
    assert buckets[bounds.index(0.3)] == 1  # 0.3 <= le=0.3
    assert buckets[bounds.index(0.3) + 1] == 1
    assert buckets[0] == 1 and buckets[-1] == 1
    assert m.slow == 2
    assert m.duration_max["success"] == 100.0


def test_ttfb_and_aborted_events() -> None:
    journey = sli.registry.register("stream")
    with recording() as rec:
        recorder.record(journey.stats, 0.5, c.OUTCOME_SUCCESS, ttfb=0.01)
        recorder.record(journey.stats, 0.7, c.OUTCOME_ABORTED, ttfb=0.02)
        m = rec.journey("stream")
    assert (m.requests, m.failures, m.aborted) == (1, 0, 1)
    assert m.ttfb_count == 2 and m.ttfb_sum == pytest.approx(0.03)
    assert m.duration_count["aborted"] == 1


def test_journeys_decorated_before_any_provider_record_once_configured() -> None:
    # A fresh interpreter: no provider at all before configure().
    out = _run(
        """
        import json
        import sli_instrument as sli
        from sli_instrument._recorder import recorder
        from sli_instrument.testing import journey_metrics

        @sli.journey("early")
        def early():
            pass

        for _ in range(5):
            early()  # no provider yet: counted in process
        assert recorder.provider is None
        config = sli.configure(exporter="memory")
        for _ in range(2):
            early()
        m = journey_metrics(config.reader.get_metrics_data())["early"]
        print(json.dumps([m.requests, m.duration_count["success"]]))
        """
    )
    assert out == [7, 7]


def test_explicit_provider_we_do_not_own() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])

    @sli.journey("checkout", latency_threshold="300ms")
    def checkout(fail: bool) -> None:
        if fail:
            raise RuntimeError()

    config = sli.configure(meter_provider=provider)
    assert config.owned is False and config.meter_provider is provider
    assert sli.configure(meter_provider=provider) is config  # same provider: same configuration
    checkout(False)
    with pytest.raises(RuntimeError):
        checkout(True)
    data = reader.get_metrics_data()
    m = journey_metrics(data)["checkout"]
    assert (m.requests, m.failures) == (2, 1)
    assert m.duration_count == {"success": 1, "failure": 1}
    assert 0.3 in m.bounds
    metrics = metric_objects(data)
    assert metrics[c.DURATION].unit == "s"
    provider.shutdown()


def test_rebinding_to_the_same_provider_keeps_counters_observed() -> None:
    # The SDK keeps the first instrument of a name and drops callbacks of later ones.
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    handle = sli.journey("again")
    sli.configure(meter_provider=provider)
    with handle:
        pass
    sli.shutdown()
    sli.configure(meter_provider=provider)
    with handle:
        pass
    assert journey_metrics(reader.get_metrics_data())["again"].requests == 2
    provider.shutdown()


class _BoomHistogram:
    def record(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("histogram exploded")


class _BoomMeter(NoOpMeter):
    def create_histogram(self, *args: Any, **kwargs: Any) -> Any:
        return _BoomHistogram()


class _BoomProvider(NoOpMeterProvider):
    """A third-party provider whose histogram raises on every record."""

    def get_meter(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return _BoomMeter(name)


def test_a_recorder_fault_never_reaches_the_app_and_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, "sli_instrument")

    @sli.journey("fragile")
    def fragile(x: int) -> int:
        return x * 2

    sli.configure(meter_provider=_BoomProvider())
    assert [fragile(i) for i in range(100)] == [i * 2 for i in range(100)]
    errors = [r for r in caplog.records if "recording an event" in r.getMessage()]
    assert len(errors) == 1
    assert "histogram exploded" in str(errors[0].exc_info[1])
    assert sli.registry.get("fragile").stats.requests == 100  # counting went on


class _RaisingExporter(MetricExporter):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def export(self, metrics_data: Any, timeout_millis: float = 10_000, **kwargs: Any) -> Any:
        self.calls += 1
        raise ConnectionError("collector exploded")

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        pass


def test_an_exporter_that_raises_never_reaches_the_app(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    exporter = _RaisingExporter()

    @sli.journey("resilient")
    def resilient() -> str:
        return "ok"

    config = sli.configure(exporter=exporter, export_interval=3600, install_global=False)
    assert config.owned
    for _ in range(3):
        assert resilient() == "ok"
        config.force_flush(2_000)  # the export raises inside the SDK's reader, not here
    assert exporter.calls >= 3
    assert resilient() == "ok"
    assert sli.registry.get("resilient").stats.requests == 4
    # Logged once (ours, rate-limited), not once per export by the SDK.
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert "_RaisingExporter" in errors[0].getMessage()
    assert "collector exploded" in str(errors[0].exc_info[1])


def test_failing_export_result_keeps_counting() -> None:
    class Failing(_RaisingExporter):
        def export(self, metrics_data: Any, timeout_millis: float = 10_000, **kw: Any) -> Any:
            self.calls += 1
            return MetricExportResult.FAILURE

    exporter = Failing()
    config = sli.configure(exporter=exporter, export_interval=3600, install_global=False)
    with sli.journey("x"):
        pass
    config.force_flush(2_000)
    with sli.journey("x"):
        pass
    assert exporter.calls >= 1
    assert sli.registry.get("x").stats.requests == 2


def _run(code: str, prelude: str = "") -> Any:
    code = prelude + textwrap.dedent(code)
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


_SUMMARY = """
def summary(reader):
    from sli_instrument.testing import journey_metrics
    out = {}
    for name, m in journey_metrics(reader.get_metrics_data()).items():
        durations = {k: v for k, v in m.duration_count.items() if v}
        out[name] = [m.requests, m.failures, m.slow, durations, list(m.bounds)]
    return out
"""


def test_global_provider_installed_by_someone_else() -> None:
    # What the ADOT distro / opentelemetry-instrument do: install a provider before the app runs.
    out = _run(
        prelude=_SUMMARY,
        code="""
        import json, logging
        from opentelemetry import metrics
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        reader = InMemoryMetricReader()
        provider = MeterProvider(metric_readers=[reader])
        metrics.set_meter_provider(provider)

        import sli_instrument as sli

        @sli.journey("checkout", latency_threshold="300ms")
        def checkout(fail):
            if fail:
                raise ValueError()

        config = sli.configure(service_name="shop")
        assert config.owned is False and config.meter_provider is provider
        assert sli.configure(service_name="shop") is config
        for i in range(10):
            try:
                checkout(i % 5 == 0)
            except ValueError:
                pass
        print(json.dumps(summary(reader)))
        """,
    )
    requests, failures, slow, durations, bounds = out["checkout"]
    assert (requests, failures, slow) == (10, 2, 0)
    assert durations == {"success": 8, "failure": 2}
    assert 0.3 in bounds


def test_global_provider_installed_after_the_first_events() -> None:
    # Events before any provider are counted; the first event after a provider appears binds.
    out = _run(
        prelude=_SUMMARY,
        code="""
        import json
        import sli_instrument as sli
        from sli_instrument._recorder import recorder

        @sli.journey("early")
        def early():
            pass

        early(); early()
        assert recorder.provider is None

        from opentelemetry import metrics
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        reader = InMemoryMetricReader()
        metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
        early()
        assert recorder.provider is metrics.get_meter_provider()
        print(json.dumps(summary(reader)))
        """,
    )
    requests, failures, slow, durations, bounds = out["early"]
    assert requests == 3  # the counters include events from before the provider existed
    assert durations == {"success": 1}  # the SDK histogram only sees events after it existed


def test_configure_owned_pipeline_installs_the_global_provider_once() -> None:
    out = _run(
        """
        import json
        from opentelemetry import metrics
        import sli_instrument as sli
        first = sli.configure(exporter="memory")
        assert first.owned and metrics.get_meter_provider() is first.meter_provider
        sli.shutdown()
        second = sli.configure(exporter="memory")  # not the dead provider we installed before
        assert second.owned and second.meter_provider is not first.meter_provider
        with sli.journey("x"):
            pass
        from sli_instrument.testing import journey_metrics
        print(json.dumps(journey_metrics(second.reader.get_metrics_data())["x"].requests))
        """
    )
    assert out == 1


def test_faults_inside_the_recorder_are_contained_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, "sli_instrument")

    @sli.journey("broken")
    def broken() -> str:
        return "still served"

    healthy = sli.journey("healthy")
    with recording() as rec:
        journey = sli.registry.get("broken")
        # Inject a fault into our own state: the aggregates of one journey lose their lock.
        journey.stats.lock = None
        assert [broken() for _ in range(50)] == ["still served"] * 50
        with healthy:
            pass
        assert rec.journey("healthy").requests == 1  # collection still works
    messages = [r.getMessage() for r in caplog.records]
    assert sum("recording an event" in m for m in messages) == 1
