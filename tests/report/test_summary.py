"""The report summary: budget, burn rates and alert state from window counts."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sli_instrument.report.summary import (
    Counts,
    format_table,
    slo_window_seconds,
    summarize,
    to_json,
    windows_needed,
)
from sli_instrument.slo.model import SLOSpec
from tests.support.slo_specs import DAY, HOUR, MINUTE, journey, shop_spec

pytestmark = pytest.mark.core

NOW = 1_800_000_000.0
WINDOWS = (5 * MINUTE, 30 * MINUTE, HOUR, 6 * HOUR, 3 * DAY, 28 * DAY)


def uniform(requests: float, failures: float, slow: float = 0.0) -> dict[float, Counts]:
    """The same error ratio in every window (traffic proportional to the window)."""
    return {w: Counts(requests * w / HOUR, failures * w / HOUR, slow * w / HOUR) for w in WINDOWS}


def test_healthy_service_exits_zero() -> None:
    counts = {"checkout": uniform(10_000, 0, 10), "search": uniform(5_000, 1)}
    summary = summarize(shop_spec(), counts, now=NOW, source="test")
    assert summary.exit_code == 0 and not summary.breached and not summary.paging
    checkout = summary.journeys[0]
    availability, latency = checkout.objectives
    assert availability.status.sli == 1.0 and availability.status.remaining == 1.0
    assert latency.status.sli == pytest.approx(0.999)
    # Latency budget 1%: 0.1% slow is a burn rate of 0.1 everywhere.
    assert all(rate == pytest.approx(0.1) for rate in latency.burn_rates.values())
    assert checkout.state == "ok"


def test_fast_burn_pages_and_exits_one() -> None:
    # Last hour: 2% errors (burn 20 on a 0.1% budget); before: clean.
    counts = {
        "checkout": {
            5 * MINUTE: Counts(1000, 20),
            30 * MINUTE: Counts(6000, 120),
            HOUR: Counts(12000, 240),
            6 * HOUR: Counts(72000, 240),
            3 * DAY: Counts(864000, 240),
            28 * DAY: Counts(8064000, 240),
        }
    }
    summary = summarize(shop_spec(), counts, now=NOW, source="test")
    availability = summary.journeys[0].objectives[0]
    assert availability.burn_rates[HOUR] == pytest.approx(20)
    assert availability.burn_rates[6 * HOUR] == pytest.approx(240 / 72000 / 0.001)
    assert availability.state == "page"
    firing = [c.alert.long_window for c in availability.alerts.firing]
    assert firing == [HOUR]  # 6h: 3.3 < 5.6; 3d: 0.28 < 0.93
    assert not availability.exhausted
    assert summary.paging and summary.exit_code == 1
    # search has no data at all: no SLI, nothing firing, not breached.
    search = summary.journeys[1].objectives[0]
    assert search.status.sli is None and search.state == "ok" and not search.exhausted


def test_exhausted_budget_is_a_breach_even_without_alerts() -> None:
    # 0.2% errors all month on 99.9%: 200% of the budget, a steady burn rate of 2 (ticket only).
    counts = {"checkout": uniform(1000, 2), "search": uniform(1000, 0)}
    summary = summarize(shop_spec(), counts, now=NOW, source="test")
    availability = summary.journeys[0].objectives[0]
    assert availability.status.remaining == pytest.approx(-1.0)
    assert availability.exhausted and availability.state == "ticket"
    assert summary.breached and not summary.paging and summary.exit_code == 1


def test_calendar_month_window_is_the_month_so_far() -> None:
    spec = SLOSpec("shop", (journey("checkout", calendar=True),))
    now = datetime(2026, 3, 11, 12, tzinfo=timezone.utc).timestamp()
    assert slo_window_seconds(spec.journeys[0], now) == 10.5 * DAY
    assert 10.5 * DAY in windows_needed(spec.journeys[0], now)


def test_json_and_table() -> None:
    counts = {"checkout": uniform(10_000, 100, 5), "search": uniform(100, 0)}
    summary = summarize(shop_spec(), counts, now=NOW, source="prometheus http://x")
    data = json.loads(json.dumps(to_json(summary)))
    assert data["exit_code"] == 1 and data["paging"] is True
    availability = data["journeys"][0]["objectives"][0]
    assert availability["burn_rates"]["1h"] == pytest.approx(10)
    assert availability["alerts"][0] == {
        "severity": "page",
        "long_window": "1h",
        "short_window": "5m",
        "threshold": pytest.approx(13.44),
        "long_burn_rate": pytest.approx(10),
        "short_burn_rate": pytest.approx(10),
        "firing": False,
    }
    table = format_table(summary)
    lines = table.splitlines()
    assert lines[0] == "shop: SLO breached (from prometheus http://x)"
    assert lines[1].split()[:6] == ["journey", "sli", "objective", "window", "SLI", "budget"]
    assert lines[2].split()[-2:] == ["BREACHED", "PAGE"]
    assert "99.000%" in lines[2]


ratios = st.floats(min_value=0, max_value=1, allow_nan=False)
totals = st.integers(min_value=0, max_value=10**7)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(totals, ratios), min_size=len(WINDOWS), max_size=len(WINDOWS)))
def test_alert_state_matches_the_workbook_rule(samples: list[tuple[int, float]]) -> None:
    counts = {w: Counts(total, round(total * ratio)) for w, (total, ratio) in zip(WINDOWS, samples)}
    spec = SLOSpec("shop", (journey("checkout", 99.9),))
    objective = summarize(spec, {"checkout": counts}, now=NOW, source="t").journeys[0].objectives[0]

    def over(window: float, burn: float) -> bool:
        c = counts[window]
        return c.requests > 0 and c.failures / c.requests > burn * 0.001

    expected = "ok"
    for alert in spec.journeys[0].alerts:
        if over(alert.long_window, alert.burn_rate) and over(alert.short_window, alert.burn_rate):
            expected = "page" if alert.severity == "page" or expected == "page" else "ticket"
    assert objective.state == expected
    for window, rate in objective.burn_rates.items():
        c = counts[window]
        assert rate == (None if c.requests == 0 else pytest.approx(c.failures / c.requests / 0.001))
