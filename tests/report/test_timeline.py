"""Windowed SLIs, burn rates, budget remaining and alert states from cumulative counts."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sli_instrument.report.model import JourneySeries
from sli_instrument.report.timeline import NO_DATA, OK, PAGE, TICKET, analyse_series
from tests.support.report_data import T0, series
from tests.support.slo_specs import journey

pytestmark = pytest.mark.core

DAY = 86400.0


def test_full_windows_use_count_differences():
    # time_scale 1 and windows that fit in the data: a plain range query.
    objective = journey("checkout", 99.0)
    data = JourneySeries("checkout", objective)
    # 4 h of 5-minute samples: 100 requests per step; 30 failures in the last step only.
    for i in range(49):
        data.timestamps.append(T0 + 300 * i)
        data.requests.append(100.0 * i)
        data.failures.append(30.0 if i == 48 else 0.0)
        data.slow.append(0.0)
    timeline = analyse_series(data, time_scale=1.0)
    budget = 0.01
    assert timeline.burn[300].values[-1] == pytest.approx((30 / 100) / budget)
    assert timeline.burn[1800].values[-1] == pytest.approx((30 / 600) / budget)
    assert timeline.burn[3600].values[-1] == pytest.approx((30 / 1200) / budget)
    assert timeline.burn[3600].partial[-1] is False
    # 1h: 30 / 1200 = 2.5% > 13.44 * 1% ? no (0.1344); 5m: 30% yes -> the 1h/5m page needs both.
    assert timeline.alert[-1] == OK
    assert timeline.availability_recent[-1] == pytest.approx(70.0)
    assert timeline.availability_total[-1] == pytest.approx(100 * (1 - 30 / 4800))


def test_page_needs_long_and_short_windows_above_the_rate():
    objective = journey("checkout", 99.0)
    data = JourneySeries("checkout", objective)
    for i in range(13):  # one hour of 5-minute samples, every request failing in the last 10 min
        data.timestamps.append(T0 + 300 * i)
        data.requests.append(100.0 * i)
        data.failures.append(max(0.0, 100.0 * (i - 10)))
        data.slow.append(0.0)
    timeline = analyse_series(data)
    # 1h window: 200 / 1200 = 16.7% > 13.44%; 5m window: 100% -> page.
    assert timeline.burn[3600].values[-1] == pytest.approx((200 / 1200) / 0.01)
    assert timeline.alert[-1] == PAGE
    assert timeline.alert[-2] == OK  # 100 / 1100 = 9.1% over the hour: not yet
    assert timeline.ever(PAGE) and timeline.state == PAGE


def test_windows_longer_than_the_data_assume_a_clean_history():
    objective = journey("search", 99.0)
    data = series("search", objective, seconds=30, rate=100, error_ratio=0.05)
    timeline = analyse_series(data, time_scale=120.0)  # 30 s of data = 1 h of SLO time
    # 6h window: the data cover 1h of it; the other 5h count as clean traffic at the same pace.
    observed = 0.05
    assert timeline.burn[6 * 3600].partial[-1] is True
    assert timeline.burn[6 * 3600].values[-1] == pytest.approx(observed / 6 / 0.01)
    assert timeline.burn[3 * DAY].values[-1] == pytest.approx(observed / 72 / 0.01)
    # 1h is exactly covered: the plain ratio.
    assert timeline.burn[3600].values[-1] == pytest.approx(observed / 0.01)
    # 5% errors against a 1% budget for 1 hour of a 28-day window: 5 * (1/672) of the budget.
    assert timeline.budget_remaining[-1] == pytest.approx(1 - 5 / 672)


def test_budget_remaining_with_a_whole_window_of_data_is_the_usual_formula():
    objective = journey("cart", 99.5, window_days=7)
    # 8 samples a day apart = 7 days: time_scale 1, the window is covered exactly.
    data = JourneySeries("cart", objective)
    for i in range(8):
        data.timestamps.append(T0 + DAY * i)
        data.requests.append(1000.0 * i)
        data.failures.append(3.0 * i)
        data.slow.append(0.0)
    timeline = analyse_series(data, time_scale=1.0)
    sli = 1 - 21 / 7000
    assert timeline.budget_remaining[-1] == pytest.approx(1 - (1 - sli) / 0.005)


def test_ticket_when_only_the_ticket_condition_holds():
    objective = journey("export", 99.0)
    data = JourneySeries("export", objective)
    # 3 days of 6-hour samples at 1.2% errors: burn 1.2 > 0.933 on 3d and 6h, < 5.6 and 13.44.
    for i in range(13):
        data.timestamps.append(T0 + 6 * 3600 * i)
        data.requests.append(10000.0 * i)
        data.failures.append(120.0 * i)
        data.slow.append(0.0)
    timeline = analyse_series(data, time_scale=1.0)
    assert timeline.alert[-1] == TICKET


def test_no_objective_and_no_data():
    empty = analyse_series(JourneySeries("browse", None))
    assert empty.elapsed == [] and empty.state == NO_DATA
    plain = analyse_series(series("browse", None, seconds=3))
    assert plain.budget_remaining == [None] * 4
    assert plain.burn == {}
    assert plain.availability_total[-1] == 100.0
    assert plain.alert[0] == NO_DATA and plain.alert[-1] == OK


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(st.tuples(st.integers(0, 500), st.floats(0, 1)), min_size=2, max_size=40),
    scale=st.sampled_from([1.0, 60.0, 120.0, 600.0]),
)
def test_burn_rate_is_window_errors_over_window_requests(steps, scale):
    """Independent recomputation: for each window, differences against the right sample."""
    objective = journey("search", 99.0)
    data = JourneySeries("search", objective)
    requests = failures = 0.0
    for i, (count, ratio) in enumerate(steps):
        data.timestamps.append(T0 + 60.0 * i)
        data.requests.append(requests)
        data.failures.append(failures)
        data.slow.append(0.0)
        requests += count
        failures += int(count * ratio)
    timeline = analyse_series(data, time_scale=scale)
    times = data.timestamps
    for seconds, window in timeline.burn.items():
        span = seconds / scale
        for i, value in enumerate(window.values):
            earlier = [j for j in range(i + 1) if times[j] <= times[i] - span + 1e-9]
            j = earlier[-1] if earlier else 0
            total = data.requests[i] - data.requests[j]
            bad = data.failures[i] - data.failures[j]
            if not earlier and times[i] > times[0]:
                total *= span / (times[i] - times[0])
            if total <= 0:
                assert value is None
            else:
                assert value == pytest.approx((bad / total) / 0.01)


def test_latency_sli_has_its_own_burn_rates_and_can_page():
    objective = journey("search", 99.9, latency=(0.25, 99.0))
    data = JourneySeries("search", objective)
    for i in range(13):  # one hour of 5-minute samples; the last 20 minutes: half slow, no failure
        data.timestamps.append(T0 + 300 * i)
        data.requests.append(100.0 * i)
        data.failures.append(0.0)
        data.slow.append(max(0.0, 50.0 * (i - 8)))
    timeline = analyse_series(data, time_scale=1.0)
    # Latency budget: 1% may be slow. 1h window: 200 slow of 1200 = 16.7% -> burn 16.7 > 13.44;
    # 5m window: 50% -> burn 50: the 1h/5m page fires on the latency SLI alone.
    assert timeline.latency_burn[3600].values[-1] == pytest.approx((200 / 1200) / 0.01)
    assert timeline.latency_burn[300].values[-1] == pytest.approx(0.5 / 0.01)
    assert timeline.latency_alert[-1] == PAGE
    assert timeline.availability_alert[-1] == OK
    assert timeline.alert[-1] == PAGE  # the journey's state is the worse of its two SLIs
    # The sample before: 150 slow in 55 minutes; with 5 clean minutes before the data, 150 / 1200
    # = 12.5% over the hour -> burn 12.5, not yet.
    assert timeline.latency_alert[-2] == OK
    assert timeline.fast_share[-1] == pytest.approx(100 * (1 - 200 / 1200))
    assert timeline.fast_recent[-1] == pytest.approx(50.0)
