"""Error-budget math: the SRE Workbook's own numbers, and properties against other formulas."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sli_instrument.slo.budget import (
    CountSeries,
    budget_consumed,
    budget_minutes,
    budget_remaining,
    budget_remaining_minutes,
    budget_status,
    burn_rate,
    error_budget,
    error_ratio,
    sli,
    time_to_exhaustion,
    window_bounds,
)
from sli_instrument.slo.model import Window

pytestmark = pytest.mark.core

DAY = 86400.0
THIRTY_DAYS = 30 * DAY

# -- the Workbook's examples ----------------------------------------------------------------------


def test_workbook_burn_rate_one_is_the_budget_ratio() -> None:
    # 99.9% over 30 days: burn rate 1 is an error ratio of 0.1%.
    assert error_budget(99.9) == pytest.approx(0.001)
    assert burn_rate(1, 1000, 99.9) == pytest.approx(1.0)
    # ... which spends exactly the whole budget over the window.
    assert time_to_exhaustion(1.0, 1.0, THIRTY_DAYS) == pytest.approx(THIRTY_DAYS)


def test_workbook_99_9_over_30_days_is_43_minutes_of_budget() -> None:
    assert budget_minutes(99.9, THIRTY_DAYS) == pytest.approx(43.2)


def test_workbook_1000x_empties_a_30_day_budget_in_43_minutes() -> None:
    # A 100% outage on a 99.9% SLO is burn rate 1000.
    rate = burn_rate(500, 500, 99.9)
    assert rate == pytest.approx(1000)
    assert time_to_exhaustion(1.0, rate, THIRTY_DAYS) / 60 == pytest.approx(43.2)


def test_workbook_2_percent_in_an_hour_is_burn_rate_14_4() -> None:
    # Burning at 14.4 for an hour spends 2% of a 30-day budget: ratio 14.4 x 0.1% for 1h.
    hourly_share = 3600 / THIRTY_DAYS
    assert 14.4 * hourly_share == pytest.approx(0.02)


def test_budget_status_of_a_window() -> None:
    status = budget_status(25, 100_000, objective_percent=99.9, window_seconds=THIRTY_DAYS)
    assert status.sli == pytest.approx(0.99975)
    assert status.error_budget == pytest.approx(0.001)
    assert status.consumed == pytest.approx(0.25)
    assert status.remaining == pytest.approx(0.75)
    assert status.remaining_minutes == pytest.approx(0.75 * 43.2)
    assert status.burn_rate == pytest.approx(0.25)


def test_no_events_is_no_sli_and_no_burn() -> None:
    assert sli(0, 0) is None
    assert error_ratio(0, 0) is None
    assert burn_rate(0, 0, 99.9) is None
    assert budget_remaining(0, 0, 99.9) == 1.0
    assert time_to_exhaustion(1.0, 0.0, THIRTY_DAYS) == math.inf
    assert time_to_exhaustion(-0.5, 3.0, THIRTY_DAYS) == 0.0


def test_breached_budget_goes_negative() -> None:
    assert budget_remaining(3, 1000, 99.9) == pytest.approx(-2.0)
    assert budget_remaining_minutes(3, 1000, 99.9, THIRTY_DAYS) == pytest.approx(-86.4)


@pytest.mark.parametrize(("bad", "total"), [(-1, 10), (11, 10), (1, math.inf), (math.nan, 3)])
def test_impossible_counts_are_rejected(bad: float, total: float) -> None:
    with pytest.raises(ValueError):
        error_ratio(bad, total)


@pytest.mark.parametrize("objective", [0, 100, -1, 150])
def test_objective_outside_0_100_is_rejected(objective: float) -> None:
    with pytest.raises(ValueError):
        error_budget(objective)


def test_window_bounds() -> None:
    now = datetime(2024, 2, 10, 12, tzinfo=timezone.utc).timestamp()
    rolling = Window("rolling", 28 * DAY, "28d")
    assert window_bounds(rolling, now) == (now - 28 * DAY, now)
    month = Window("calendar-month", 30 * DAY, "calendar-month")
    start, end = window_bounds(month, now)
    assert start == datetime(2024, 2, 1, tzinfo=timezone.utc).timestamp()
    assert end - start == 29 * DAY  # leap year February


# -- properties against independent formulas ------------------------------------------------------

objectives = st.floats(min_value=50.0, max_value=99.999)
counts = st.integers(min_value=1, max_value=10**9).flatmap(
    lambda total: st.tuples(st.integers(0, total), st.just(total))
)


@given(counts, objectives)
def test_sli_plus_error_ratio_is_one(pair: tuple[int, int], objective: float) -> None:
    bad, total = pair
    assert sli(bad, total) == pytest.approx((total - bad) / total)
    assert sli(bad, total) + error_ratio(bad, total) == pytest.approx(1.0)  # type: ignore[operator]


@given(counts, objectives)
def test_burn_rate_definition(pair: tuple[int, int], objective: float) -> None:
    bad, total = pair
    # Independent form: allowed bad events = total x (100 - objective) / 100.
    allowed = total * (100.0 - objective) / 100.0
    assert burn_rate(bad, total, objective) == pytest.approx(bad / allowed, rel=1e-9)
    assert budget_consumed(bad, total, objective) == pytest.approx(bad / allowed, rel=1e-9)
    assert budget_remaining(bad, total, objective) == pytest.approx(1 - bad / allowed, rel=1e-9)


@given(counts, objectives, st.sampled_from([7, 14, 28, 30]))
def test_remaining_minutes_are_the_unspent_outage_time(
    pair: tuple[int, int], objective: float, days: int
) -> None:
    bad, total = pair
    window = days * DAY
    outage_minutes = (100.0 - objective) / 100.0 * days * 24 * 60
    spent = bad / (total * (100.0 - objective) / 100.0)
    assert budget_remaining_minutes(bad, total, objective, window) == pytest.approx(
        outage_minutes * (1 - spent), rel=1e-9, abs=1e-6
    )


@given(
    st.floats(min_value=0.001, max_value=1.0),
    st.floats(min_value=0.01, max_value=10_000),
    st.sampled_from([7, 28, 30]),
)
def test_time_to_exhaustion_spends_exactly_the_remainder(
    remaining: float, rate: float, days: int
) -> None:
    window = days * DAY
    seconds = time_to_exhaustion(remaining, rate, window)
    # Burning at `rate` for `seconds` spends rate * seconds / window of the budget.
    assert rate * seconds / window == pytest.approx(remaining)


# -- ratios from cumulative counts ----------------------------------------------------------------


def test_long_window_ratio_is_from_counts_not_an_average_of_ratios() -> None:
    # Two 5-minute intervals: 1000 requests with 10 failures, then 10 requests with 5 failures.
    series = CountSeries([0, 300, 600], [0, 1000, 1010], [0, 10, 15])
    assert series.ratio(600) == pytest.approx(15 / 1010)
    average_of_ratios = (10 / 1000 + 5 / 10) / 2
    assert series.ratio(600) != pytest.approx(average_of_ratios)
    assert series.ratio(300) == pytest.approx(0.5)
    assert series.counts(300, now=300) == (10, 1000)


def test_counter_reset_is_bridged() -> None:
    # The process restarted between 60 and 120: counts start again from zero.
    series = CountSeries([0, 60, 120, 180], [100, 200, 50, 80], [0, 10, 5, 5])
    assert series.counts(180) == (15, 180)
    assert series.counts(60) == (0, 30)


def test_window_before_the_data_starts_at_the_first_sample() -> None:
    series = CountSeries([1000, 1060], [10, 20], [1, 3])
    assert series.counts(3600) == (2, 10)
    assert series.counts(60, now=10) == (0, 0)
    assert CountSeries([], [], []).ratio(60) is None


def test_mismatched_series_are_rejected() -> None:
    with pytest.raises(ValueError, match="lengths differ"):
        CountSeries([0, 1], [0], [0, 0])
    with pytest.raises(ValueError, match="ascending"):
        CountSeries([1, 0], [0, 0], [0, 0])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 500), st.integers(0, 500)).map(lambda t: (max(t), min(t))),
        min_size=1,
        max_size=60,
    ),
    st.integers(1, 60),
)
def test_window_counts_equal_the_sum_of_increments(
    increments: list[tuple[int, int]], window_steps: int
) -> None:
    # One sample per minute; increments[i] = (requests, failures) in minute i.
    timestamps, totals, bads = [0.0], [0], [0]
    for minute, (requests, failures) in enumerate(increments, start=1):
        timestamps.append(minute * 60.0)
        totals.append(totals[-1] + requests)
        bads.append(bads[-1] + failures)
    series = CountSeries(timestamps, totals, bads)
    last = increments[-window_steps:]
    expected_total = sum(r for r, _ in last)
    expected_bad = sum(f for _, f in last)
    assert series.counts(window_steps * 60.0) == (expected_bad, expected_total)
    ratio = series.ratio(window_steps * 60.0)
    if expected_total:
        assert ratio == pytest.approx(expected_bad / expected_total)
    else:
        assert ratio is None


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(0, 100), min_size=2, max_size=30),
    st.integers(1, 29),
)
def test_resets_never_lose_or_invent_events(increments: list[int], reset_at: int) -> None:
    assume(reset_at < len(increments))
    # Cumulative counts, with the counter starting again from zero after a restart at reset_at.
    totals, running = [], 0
    for index, step in enumerate(increments):
        if index == reset_at:
            running = 0
        running += step
        totals.append(running)
    # A reset is only visible when the count goes down (as in Prometheus).
    assume(reset_at == 0 or totals[reset_at] < totals[reset_at - 1])
    timestamps = [float(i) for i in range(len(increments))]
    series = CountSeries(timestamps, totals, [0] * len(totals))
    _, total = series.counts(len(increments))
    # Everything after the first sample; after a reset Prometheus counts the new value in full.
    assert total == sum(increments[1:])
