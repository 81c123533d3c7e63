"""The inline-SVG line chart: scales, gaps, thresholds, bands, clock ticks, escaping."""

from __future__ import annotations

import re

import pytest

from sli_instrument.report.svg import Band, Chart, Line, Threshold, nice_step, render_chart

pytestmark = pytest.mark.core


def _points(svg):
    return [
        [tuple(map(float, p.split(","))) for p in points.split()]
        for points in re.findall(r'<polyline[^>]*points="([^"]*)"', svg)
    ]


def test_nice_steps():
    assert [nice_step(span) for span in (1, 7, 30, 86400)] == [0.2, 2.0, 10.0, 20000.0]


def test_lines_scale_into_the_plot_and_gaps_split_them():
    chart = Chart(
        key="k",
        title="t",
        y_label="y",
        lines=[Line("a", "a", [(0, 0.0), (1, 10.0), (2, None), (3, 5.0), (4, 5.0)], "#123456")],
        y_min=0.0,
        y_max=10.0,
    )
    svg = render_chart(chart)
    first, second = _points(svg)
    assert len(first) == 2 and len(second) == 2  # the None split the line in two
    (x0, y0), (x1, y1) = first
    assert x0 < x1 and y0 > y1  # y grows downwards: 10 is above 0
    assert y1 == pytest.approx(14.0)  # the top of the plot area (y_max)
    assert second[0][1] == pytest.approx((y0 + y1) / 2)  # 5 is half-way


def test_single_points_get_a_dot_thresholds_and_bands():
    chart = Chart(
        key="k",
        title="a <b> & c",
        y_label="y",
        lines=[Line("solo", "solo", [(0, 1.0), (1, None)], "#000")],
        thresholds=[Threshold("page 13.4x", 13.44, "#d62728")],
        bands=[Band(0.2, 0.8, "#d62728", "paging"), Band(0.9, 1.0, "#d62728", "paging")],
    )
    svg = render_chart(chart)
    assert '<circle class="series-dot" data-series="solo"' in svg
    assert 'data-threshold="page 13.4x"' in svg
    assert svg.count('data-band="paging"') == 2
    assert svg.count(">paging</text>") == 1  # one legend entry per kind of band
    assert "a &lt;b&gt; &amp; c" in svg and "<b>" not in svg


def test_clock_ticks_fall_on_round_utc_times():
    origin = 1_750_000_000.0 + 123  # not a round time
    chart = Chart(
        key="k",
        title="t",
        y_label="y",
        lines=[Line("a", "a", [(0, 1.0), (86400, 2.0)], "#000")],
        x_origin=origin,
        x_format=lambda v: str(int(origin + v)),
    )
    svg = render_chart(chart)
    labels = [int(v) for v in re.findall(r'text-anchor="middle">(\d+)</text>', svg)]
    assert labels and all(v % 21600 == 0 for v in labels)  # every 6 hours on the clock
    assert 3 <= len(labels) <= 6
