"""The multi-window, multi-burn-rate policy: factors, evaluation and the warnings it gives."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sli_instrument._duration import format_duration
from sli_instrument.slo import parse_slo
from sli_instrument.slo.budget import CountSeries
from sli_instrument.slo.model import JourneyObjective, Window
from sli_instrument.slo.policy import (
    burn_rate_factor,
    default_alerts,
    evaluate_alerts,
    evaluate_alerts_from_counts,
    low_traffic_warnings,
    never_fires_warnings,
    policy_windows,
)

pytestmark = pytest.mark.core

DAY = 86400.0
HOUR = 3600.0


def window(days: int) -> Window:
    return Window("rolling", days * DAY, f"{days}d")


def objective(availability: float = 99.9, days: int = 30) -> JourneyObjective:
    w = window(days)
    return JourneyObjective("checkout", availability, None, w, default_alerts(w))


@pytest.mark.parametrize(
    ("days", "factors"),
    [(30, (14.4, 6.0, 1.0)), (28, (13.44, 5.6, 0.93333)), (7, (3.36, 1.4, 0.23333))],
)
def test_workbook_factors_follow_the_window(days: int, factors: tuple[float, ...]) -> None:
    alerts = default_alerts(window(days))
    assert [a.severity for a in alerts] == ["page", "page", "ticket"]
    assert [(a.long_window, a.short_window) for a in alerts] == [
        (HOUR, 300.0),
        (6 * HOUR, 1800.0),
        (3 * DAY, 6 * HOUR),
    ]
    assert [a.budget_fraction for a in alerts] == [0.02, 0.05, 0.10]
    assert [a.burn_rate for a in alerts] == pytest.approx(factors, rel=1e-4)


def test_calendar_month_uses_30_days() -> None:
    alerts = default_alerts(Window("calendar-month", 30 * DAY, "calendar-month"))
    assert [a.burn_rate for a in alerts] == pytest.approx([14.4, 6.0, 1.0])


@given(
    st.floats(0.001, 1.0),
    st.sampled_from([300.0, HOUR, 6 * HOUR, DAY, 3 * DAY]),
    st.integers(7, 30),
)
def test_factor_burns_the_budget_fraction_in_the_long_window(
    fraction: float, long: float, days: int
) -> None:
    factor = burn_rate_factor(fraction, long, days * DAY)
    # Burning at `factor` for `long` seconds spends factor x long / window of the budget.
    assert factor * long / (days * DAY) == pytest.approx(fraction)


def test_policy_windows() -> None:
    assert policy_windows(default_alerts(window(28))) == (
        300.0,
        1800.0,
        HOUR,
        6 * HOUR,
        3 * DAY,
    )


def test_page_fires_only_when_both_windows_burn() -> None:
    goal = objective(99.9, 30)
    threshold = 14.4 * 0.001
    ratios = {300.0: 0.02, HOUR: 0.02, 1800.0: 0.0, 6 * HOUR: 0.0, 3 * DAY: 0.0}
    result = evaluate_alerts(goal.alerts, goal.error_budget, ratios.get)
    assert result.state == "page"
    (fired,) = result.firing
    assert fired.alert.long_window == HOUR
    assert fired.threshold == pytest.approx(threshold)
    assert fired.long_burn_rate == pytest.approx(20.0)
    # The long window burns but the short one recovered: the alert resets.
    ratios[300.0] = 0.0
    assert evaluate_alerts(goal.alerts, goal.error_budget, ratios.get).state == "ok"
    # Just under the threshold on both windows: silent.
    just_under = dict.fromkeys(policy_windows(goal.alerts), 0.0)
    just_under.update({300.0: threshold * 0.99, HOUR: threshold * 0.99})
    assert evaluate_alerts(goal.alerts, goal.error_budget, just_under.get).state == "ok"
    just_under.update({300.0: threshold * 1.01, HOUR: threshold * 1.01})
    assert evaluate_alerts(goal.alerts, goal.error_budget, just_under.get).state == "page"
    quiet = dict.fromkeys(policy_windows(goal.alerts), 0.0009)
    assert evaluate_alerts(goal.alerts, goal.error_budget, quiet.get).state == "ok"


def test_ticket_from_a_slow_burn() -> None:
    goal = objective(99.9, 30)
    counts = dict.fromkeys(policy_windows(goal.alerts), (15.0, 10000.0))  # burn rate 1.5
    result = evaluate_alerts_from_counts(goal.alerts, goal.error_budget, counts)
    assert result.state == "ticket"
    assert [c.alert.severity for c in result.firing] == ["ticket"]


def test_no_traffic_never_fires() -> None:
    goal = objective(99.9, 30)
    counts = dict.fromkeys(policy_windows(goal.alerts), (0.0, 0.0))
    result = evaluate_alerts_from_counts(goal.alerts, goal.error_budget, counts)
    assert result.state == "ok"
    assert all(c.long_ratio is None for c in result.conditions)


def test_evaluation_from_a_cumulative_series() -> None:
    # 1000 requests a minute for 7 hours; the last 10 minutes 5% fail: burn rate 50 on 5m/1h?
    goal = objective(99.9, 30)
    timestamps, totals, bads = [], [], []
    for minute in range(7 * 60 + 1):
        timestamps.append(minute * 60.0)
        totals.append(minute * 1000)
        failing = max(0, minute - (7 * 60 - 10))
        bads.append(failing * 50)
    series = CountSeries(timestamps, totals, bads)
    result = evaluate_alerts(goal.alerts, goal.error_budget, series.ratio)
    by_window = {c.alert.long_window: c for c in result.conditions}
    # 1h: 500 of 60000 = 0.833% -> burn 8.33 < 14.4: the fast page stays silent...
    assert by_window[HOUR].long_ratio == pytest.approx(500 / 60000)
    assert not by_window[HOUR].firing
    # ...6h: 500 of 360000 -> burn 1.39 < 6: silent; 3d (all 7h of data): 500/420000 -> 1.19 > 1.
    assert not by_window[6 * HOUR].firing
    assert by_window[3 * DAY].long_ratio == pytest.approx(500 / 420000)
    assert result.state == "ticket"


@settings(max_examples=200, deadline=None)
@given(
    st.floats(90.0, 99.99),
    st.dictionaries(
        st.sampled_from([300.0, 1800.0, HOUR, 6 * HOUR, 3 * DAY]), st.floats(0.0, 1.0), min_size=5
    ),
)
def test_evaluation_matches_the_definition(availability: float, ratios: dict) -> None:
    goal = objective(availability, 28)
    budget = 1 - availability / 100
    result = evaluate_alerts(goal.alerts, goal.error_budget, ratios.get)
    expected = []
    for severity, long, short, fraction in (
        ("page", HOUR, 300.0, 0.02),
        ("page", 6 * HOUR, 1800.0, 0.05),
        ("ticket", 3 * DAY, 6 * HOUR, 0.10),
    ):
        factor = fraction * 28 * DAY / long
        if ratios[long] / budget > factor and ratios[short] / budget > factor:
            expected.append(severity)
    state = "page" if "page" in expected else "ticket" if expected else "ok"
    assert result.state == state


def test_never_fires_for_a_90_percent_goal() -> None:
    warnings = never_fires_warnings(objective(90.0, 30), "slo.yaml:3")
    assert len(warnings) == 1
    assert warnings[0].startswith("slo.yaml:3: journey 'checkout': the page alert '2% of the")
    assert "error ratio above 1.44" in warnings[0]
    assert never_fires_warnings(objective(99.0, 30)) == []


def test_never_fires_for_a_latency_target() -> None:
    spec = parse_slo(
        "service: a\njourneys:\n  x:\n    availability: 99.9\n"
        "    latency: {threshold: 1s, target: 90}\n    window: 30d\n"
    )
    (warning,) = spec.warnings
    assert "latency target 90%" in warning


def test_low_traffic_warning_threshold() -> None:
    goal = objective(99.9, 30)
    # 2%/1h needs a ratio above 1.44%: one failure in 1h at r req/s is 1/(3600 r).
    # At 0.01 req/s: 36 requests an hour, one failure = 2.8% -> pages.
    low = low_traffic_warnings(goal, 0.01)
    assert any("2% of the budget in 1h" in w for w in low)
    # At 1 req/s: 3600 requests an hour (0.028%), 21600 in 6h, 259200 in 3d: all fine.
    assert low_traffic_warnings(goal, 1.0) == []
    assert low_traffic_warnings(goal, 0.0) == []


@given(st.floats(0.0001, 100.0), st.floats(90.0, 99.999))
def test_low_traffic_warning_matches_single_failure_arithmetic(rate: float, goal: float) -> None:
    target = objective(goal, 30)
    warned = {w.split("alert '")[1].split("'")[0] for w in low_traffic_warnings(target, rate)}
    expected = set()
    for alert in target.alerts:
        ratio_of_one_failure = 1 / (rate * alert.long_window)
        threshold = alert.burn_rate * target.error_budget
        if threshold < 1 and ratio_of_one_failure > threshold:
            long = format_duration(alert.long_window)
            expected.add(f"{alert.budget_fraction * 100:g}% of the budget in {long}")
    assert warned == expected
