"""The HTML report's chart builders: what each chart holds for a known story."""

from __future__ import annotations

import pytest

from sli_instrument.report import charts
from sli_instrument.report.timeline import analyse
from tests.support.report_data import report, series
from tests.support.slo_specs import journey

pytestmark = pytest.mark.core


def _checkout():
    data = report(
        series(
            "checkout",
            journey("checkout", 99.0, latency=(0.3, 95.0)),
            incident=(12, 20),
            incident_ratio=0.6,
        )
    )
    return data, analyse(data)[0]


def test_burn_chart_has_a_line_per_window_and_the_policy_thresholds():
    data, t = _checkout()
    x_format, x_label = charts.x_axis(t, data)
    chart = charts.burn_chart(t, x_format, x_label)
    assert [line.key for line in chart.lines] == [
        "burn-5m",
        "burn-30m",
        "burn-1h",
        "burn-6h",
        "burn-3d",
    ]
    assert [(th.label, th.y) for th in chart.thresholds] == [
        ("page 13.4x (1h+5m)", 13.44),
        ("page 5.6x (6h+30m)", 5.6),
        ("ticket 0.933x (3d+6h)", pytest.approx(0.9333, abs=1e-3)),
    ]
    assert {band.label for band in chart.bands} == {"paging"}
    assert "1 s = 2 min of SLO time" in x_label and x_format(10) == "10s"


def test_recent_label_never_claims_less_than_one_sample_step():
    data, t = _checkout()
    assert charts.recent_label(t) == "5m"  # 1 s samples at 2 min per second: 2 min < 5 min
    slow = analyse(report(series("checkout", journey("checkout"), step=1.0), time_scale=600))[0]
    assert charts.recent_label(slow) == "10m"  # samples 10 min apart


def test_captions_are_one_sentence_with_the_numbers():
    _, t = _checkout()
    assert charts.budget_caption(t).count(". ") == 0
    assert "28d" in charts.burn_caption(t)
    assert "300ms" in charts.latency_caption(t) and "95.0%" in charts.latency_caption(t)
