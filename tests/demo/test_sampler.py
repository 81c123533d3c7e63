"""The demo's sampler: in-process journey metrics -> cumulative series and latency percentiles."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sli_instrument._recorder import recorder
from sli_instrument._registry import registry
from sli_instrument.demo.sampler import Sampler, histogram_quantile
from sli_instrument.testing import recording
from tests.support.slo_specs import journey

pytestmark = [pytest.mark.core, pytest.mark.usefixtures("sli_reset")]

BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


def _buckets(values):
    counts = [0] * (len(BOUNDS) + 1)
    for value in values:
        counts[sum(1 for b in BOUNDS if b < value)] += 1
    return counts


@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(st.floats(0.0001, 2.0), min_size=1, max_size=300),
    q=st.sampled_from([0.5, 0.9, 0.95, 0.99]),
)
def test_quantile_lies_in_the_bucket_of_the_true_quantile(values, q):
    ordered = sorted(values)
    true = ordered[max(0, math.ceil(q * len(ordered)) - 1)]  # nearest-rank quantile
    estimate = histogram_quantile(q, BOUNDS, _buckets(values))
    index = sum(1 for b in BOUNDS if b < true)
    lower = BOUNDS[index - 1] if index > 0 else 0.0
    upper = BOUNDS[index] if index < len(BOUNDS) else BOUNDS[-1]
    assert lower - 1e-12 <= estimate <= upper + 1e-12


def test_quantile_edges():
    assert histogram_quantile(0.5, BOUNDS, [0] * 9) is None
    # Everything in the overflow bucket: the largest bound, or the observed maximum when given.
    assert histogram_quantile(0.5, BOUNDS, [0] * 8 + [4]) == 1.0
    assert histogram_quantile(0.5, BOUNDS, [0] * 8 + [4], max_value=3.2) == 3.2
    # 5 events in (0.05, 0.1] and 5 in (0.1, 0.25]: the median is the top of the first bucket,
    # p75 half-way through the second (linear interpolation, as histogram_quantile does).
    counts = [0, 0, 0, 0, 5, 5, 0, 0, 0]
    assert histogram_quantile(0.5, BOUNDS, counts) == pytest.approx(0.1)
    assert histogram_quantile(0.75, BOUNDS, counts) == pytest.approx(0.175)


def test_sampler_reads_the_recorders_counts_and_histograms():
    objective = journey("checkout", 99.0, latency=(0.3, 95.0))
    with recording():
        registry.register("checkout", latency_threshold=0.3, source="test")
        registry.register("search", source="test")
        sampler = Sampler(
            "shop",
            ["checkout", "search", "never"],
            {"checkout": objective},
            time_scale=1.0,
            quantile_window=10.0,
        )
        sampler.sample(now=1000.0)
        stats = registry.get("checkout").stats
        durations = [0.02] * 80 + [0.2] * 15 + [0.4] * 5
        for index, duration in enumerate(durations):
            recorder.record(stats, duration, "failure" if index % 10 == 0 else "success")
        recorder.record(registry.get("search").stats, 0.05, "success")
        sampler.sample(now=1001.0)
        data = sampler.report()
    assert data.service == "shop" and data.time_scale == 1.0
    checkout, search, never = data.journeys
    assert checkout.objective is objective and search.objective is None
    assert checkout.timestamps == [1000.0, 1001.0]
    assert checkout.requests == [0.0, 100.0]
    assert checkout.failures == [0.0, 10.0]
    assert checkout.slow == [0.0, 5.0]  # the five 0.4 s events, above 0.3 s
    p50, p95, p99 = (checkout.latency[k][-1] for k in ("p50", "p95", "p99"))
    assert checkout.latency["p50"][0] is None
    assert 0.01 < p50 <= 0.025  # 80% of events took 20 ms
    assert 0.1 < p95 <= 0.25
    assert 0.3 <= p99 <= 0.5
    assert search.requests == [0.0, 1.0]
    assert never.requests == [0.0, 0.0] and never.latency["p50"] == [None, None]


def test_percentiles_follow_a_trailing_window():
    with recording():
        registry.register("search", source="test")
        sampler = Sampler("shop", ["search"], {}, time_scale=60.0, quantile_window=120.0)
        stats = registry.get("search").stats
        sampler.sample(now=0.0)
        for _ in range(50):
            recorder.record(stats, 0.8, "success")  # a slow start
        sampler.sample(now=1.0)
        for step in range(2, 6):
            for _ in range(50):
                recorder.record(stats, 0.02, "success")
            sampler.sample(now=float(step))
        data = sampler.report()
    p50 = data.journeys[0].latency["p50"]
    # 120 s of SLO time at a time scale of 60 is 2 s of samples: the slow start leaves the window.
    assert p50[1] > 0.5
    assert p50[-1] < 0.025
