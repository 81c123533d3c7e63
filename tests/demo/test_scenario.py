"""The demo's story: time compression, phases, the fault plan, and an incident sized to page."""

from __future__ import annotations

import time

import pytest

from sli_instrument.demo.runner import SLO_FILE
from sli_instrument.demo.scenario import SHOP, SIMULATED_SPAN, FaultPlan, time_scale
from sli_instrument.report.model import JourneySeries
from sli_instrument.report.timeline import OK, PAGE, analyse_series
from sli_instrument.slo.loader import load_slo_file
from tests.support.report_data import T0

pytestmark = pytest.mark.core


def test_the_run_always_stands_for_one_hour():
    assert SIMULATED_SPAN == 3600
    assert time_scale(30) == 120  # 1 s = 2 min: the 5-minute window spans 2.5 s
    assert time_scale(6) == 600
    assert 300 / time_scale(30) == pytest.approx(2.5)


def test_phases_and_paths():
    incident = SHOP.incident
    assert SHOP.phase(0.0) == "before"
    assert SHOP.phase(incident.start) == "incident"
    assert SHOP.phase(incident.end) == "after"
    assert SHOP.journeys == ("browse", "search", "cart", "checkout", "export")
    cart_post = next(c for c in SHOP.calls if c.journey == "cart" and c.method == "POST")
    assert cart_post.path_for("flask") == "/cart"
    assert cart_post.path_for("django") == "/cart/{product}/"
    search = next(c for c in SHOP.calls if c.journey == "search")
    assert search.path_for("django") == "/search/?q={term}"
    assert any(c.streaming for c in SHOP.calls)
    assert {c.expect for c in SHOP.calls} >= {200, 201, 402, 404}


def test_fault_plan_follows_the_story_and_is_seeded():
    plan = FaultPlan(SHOP, seed=5)
    before = [plan.decide("checkout") for _ in range(4000)]
    rate = sum(f.fail for f in before) / len(before)
    assert rate < 0.01  # normal day: 0.2%
    assert all(0 <= f.delay <= 5.0 for f in before)
    assert [plan.decide("browse").fail for _ in range(1000)].count(True) == 0
    plan.begin(duration=1.0)
    time.sleep(SHOP.incident.start + 0.05)
    during = [plan.decide("checkout") for _ in range(2000)]
    assert plan.progress < SHOP.incident.end
    assert 0.40 < sum(f.fail for f in during) / len(during) < 0.50
    again = FaultPlan(SHOP, seed=5)
    assert [again.decide("checkout") for _ in range(4000)] == before
    assert FaultPlan(SHOP).decide("no-such-journey").fail is False


def _story_series(objective, rate=30, samples=240):
    """Checkout under SHOP's story: `rate` requests per sample, samples spread over one hour."""
    data = JourneySeries("checkout", objective)
    requests = failures = 0.0
    incident = SHOP.incident
    for i in range(samples + 1):
        progress = i / samples
        data.timestamps.append(T0 + i * 30.0 / samples)
        data.requests.append(requests)
        data.failures.append(failures)
        data.slow.append(0.0)
        ratio = incident.error_rate if incident.start <= progress < incident.end else 0.002
        requests += rate
        failures += rate * ratio
    return data


def test_the_incident_pages_on_the_1h_pair_only_and_recovers():
    """The demo's SLO file and incident: the 1h/5m page fires during the incident, the 6h/30m
    one does not, and the page clears about 5 minutes (SLO time) after the incident ends."""
    spec = load_slo_file(SLO_FILE)
    assert spec.warnings == ()
    objective = spec.journey("checkout")
    timeline = analyse_series(_story_series(objective), time_scale=time_scale(30))
    pages = [t for t, state in zip(timeline.elapsed, timeline.alert) if state == PAGE]
    assert pages, "the incident must page"
    start, end = SHOP.incident.start * 30, SHOP.incident.end * 30
    assert start < pages[0] < end
    assert end < pages[-1] <= end + 2.5 + 0.5  # the 5m short window spans 2.5 s
    assert timeline.alert[-1] == OK
    six_hours = timeline.burn[6 * 3600].values
    assert max(v for v in six_hours if v is not None) < objective.alerts[1].burn_rate
    remaining = timeline.budget_remaining[-1]
    assert 0.9 < remaining < 0.99  # a visible bite out of the month's budget
