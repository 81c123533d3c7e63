"""Our in-process histograms handed to the readers configure() owns: cumulative and delta."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.metrics import Histogram as HistogramInstrument
from opentelemetry.sdk.metrics.export import AggregationTemporality

import sli_instrument as sli
from sli_instrument import _contract as c
from sli_instrument._handoff import histogram_temporality
from sli_instrument._recorder import recorder

pytestmark = [pytest.mark.core, pytest.mark.usefixtures("sli_reset")]

DELTA = AggregationTemporality.DELTA
CUMULATIVE = AggregationTemporality.CUMULATIVE


def collect(config: Any) -> dict[tuple[str, str], Any]:
    """{(metric, outcome-or-''): point} for journey 'j' of one collection."""
    out: dict[tuple[str, str], Any] = {}
    data = config.reader.get_metrics_data()
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for point in metric.data.data_points:
                    if point.attributes.get(c.ATTR_JOURNEY) != "j":
                        continue
                    key = (metric.name, point.attributes.get(c.ATTR_OUTCOME, ""))
                    out[key] = (metric.data.aggregation_temporality, point)
    return out


def events(journey: Any, *durations: float, outcome: str = c.OUTCOME_SUCCESS) -> None:
    for d in durations:
        recorder.record(journey.stats, d, outcome, ttfb=d / 2)


def test_cumulative_over_several_collections() -> None:
    journey = sli.registry.register("j", latency_threshold="100ms")
    config = sli.configure(exporter="memory", install_global=False, temporality="cumulative")
    events(journey, 0.01, 0.2, 0.05)
    first = collect(config)
    events(journey, 0.3)
    events(journey, 0.02, outcome=c.OUTCOME_FAILURE)
    second = collect(config)
    third = collect(config)

    temporality, req = first[(c.REQUESTS, "")]
    assert temporality == CUMULATIVE and req.value == 3
    assert second[(c.REQUESTS, "")][1].value == 5
    assert third[(c.REQUESTS, "")][1].value == 5
    assert second[(c.SLOW, "")][1].value == 2
    assert second[(c.FAILURES, "")][1].value == 1

    t1, h1 = first[(c.DURATION, "success")]
    _, h2 = second[(c.DURATION, "success")]
    _, h3 = third[(c.DURATION, "success")]
    assert t1 == CUMULATIVE
    assert (h1.count, h2.count, h3.count) == (3, 4, 4)
    assert h2.sum == pytest.approx(0.56)
    assert (h2.min, h2.max) == (0.01, 0.3)
    assert h1.start_time_unix_nano == h2.start_time_unix_nano == h3.start_time_unix_nano
    assert h1.time_unix_nano < h2.time_unix_nano <= h3.time_unix_nano
    assert sum(h2.bucket_counts) == h2.count
    assert len(h2.bucket_counts) == len(h2.explicit_bounds) + 1
    assert 0.1 in h2.explicit_bounds
    assert second[(c.DURATION, "failure")][1].count == 1
    assert second[(c.TTFB, "")][1].count == 5


def test_delta_over_several_collections() -> None:
    journey = sli.registry.register("j", latency_threshold="100ms")
    config = sli.configure(exporter="memory", install_global=False, temporality="delta")
    events(journey, 0.01, 0.2, 0.05)
    first = collect(config)
    events(journey, 0.3, 0.001)
    second = collect(config)
    third = collect(config)
    events(journey, 0.07)
    fourth = collect(config)

    assert first[(c.REQUESTS, "")][0] == DELTA
    assert [x[(c.REQUESTS, "")][1].value for x in (first, second)] == [3, 2]
    assert (c.REQUESTS, "") not in third or third[(c.REQUESTS, "")][1].value == 0
    assert fourth[(c.REQUESTS, "")][1].value == 1
    assert [x[(c.SLOW, "")][1].value for x in (first, second)] == [1, 1]

    t1, h1 = first[(c.DURATION, "success")]
    _, h2 = second[(c.DURATION, "success")]
    _, h4 = fourth[(c.DURATION, "success")]
    assert t1 == DELTA
    assert (h1.count, h2.count, h4.count) == (3, 2, 1)
    assert h2.sum == pytest.approx(0.301)
    assert (h2.min, h2.max) == (0.001, 0.3)  # extremes of this interval only
    assert (h4.min, h4.max) == (0.07, 0.07)
    assert (c.DURATION, "success") not in third  # no events, no delta point
    assert h2.start_time_unix_nano == h1.time_unix_nano  # intervals are contiguous
    assert sum(h1.bucket_counts) + sum(h2.bucket_counts) + sum(h4.bucket_counts) == 6


def test_lowmemory_keeps_observable_counters_cumulative_and_histograms_delta() -> None:
    journey = sli.registry.register("j")
    config = sli.configure(exporter="memory", install_global=False, temporality="lowmemory")
    events(journey, 0.01)
    first = collect(config)
    assert first[(c.REQUESTS, "")][0] == CUMULATIVE
    assert first[(c.DURATION, "success")][0] == DELTA


def test_reset_starts_histograms_over() -> None:
    journey = sli.registry.register("j")
    config = sli.configure(exporter="memory", install_global=False)
    events(journey, 0.01, 0.02)
    before = collect(config)[(c.DURATION, "success")][1]
    recorder.reset()  # what a forked child does
    events(journey, 0.03)
    after = collect(config)[(c.DURATION, "success")][1]
    assert before.count == 2 and after.count == 1
    assert after.start_time_unix_nano > before.start_time_unix_nano


def test_histogram_temporality_from_exporter_preferences() -> None:
    assert histogram_temporality(None) == CUMULATIVE
    assert histogram_temporality({HistogramInstrument: DELTA}) == DELTA
    assert histogram_temporality({HistogramInstrument: CUMULATIVE}) == CUMULATIVE
