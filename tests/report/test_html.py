"""The HTML report: self-contained, one section and one chart set per journey, readable captions,
and charts that really draw in a browser (headless Chromium: DOM after load and a screenshot)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from sli_instrument.report.html import render
from tests.support.browser import dump_dom, screenshot
from tests.support.png import read_png
from tests.support.report_data import report, series
from tests.support.slo_specs import journey

EXTERNAL = re.compile(
    r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import""", re.I
)


def _story():
    return report(
        series(
            "checkout",
            journey("checkout", 99.0, latency=(0.3, 95.0)),
            incident=(12, 20),
            incident_ratio=0.6,
            error_ratio=0.001,
        ),
        series("search", journey("search", 99.5), error_ratio=0.0),
        series("browse", None),
    )


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _tags(html):
    parser = _Collector()
    parser.feed(html)
    return parser.tags


def _charts(tags):
    """{journey: [chart kinds]} from the sections' svg elements, in document order."""
    found = {}
    current = None
    for tag, attrs in tags:
        if tag == "section":
            current = attrs.get("data-journey")
            found[current] = []
        elif tag == "svg" and current is not None:
            found[current].append(attrs["data-chart"])
    return found


@pytest.mark.core
def test_report_is_one_self_contained_document():
    html = render(_story())
    assert html.startswith("<!DOCTYPE html>")
    assert not EXTERNAL.search(html), EXTERNAL.search(html)
    assert "http://" not in html and "https://" not in html
    tags = _tags(html)
    kinds = {tag for tag, _ in tags}
    assert not kinds & {"script", "link", "img", "iframe", "object", "embed"}
    assert all(
        not attrs.get("href", "#").strip("#") or attrs["href"].startswith("#")
        for tag, attrs in tags
        if tag == "a"
    )


@pytest.mark.core
def test_a_chart_set_per_journey():
    html = render(_story())
    charts = _charts(_tags(html))
    assert charts == {
        # With a latency objective, the latency SLI ("fast enough") has its own chart.
        "checkout": ["sli", "budget", "burn", "speed", "latency"],
        "search": ["sli", "budget", "burn", "latency"],
        "browse": ["sli", "latency"],  # no objective: no budget, no burn rate
    }
    assert "no objective in the SLO file" in html


@pytest.mark.core
def test_every_chart_has_a_plain_sentence():
    html = render(_story())
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", html, re.S)
    assert len(captions) == 11
    for caption in captions:
        text = re.sub(r"<[^>]+>", "", caption)
        assert 60 < len(text) < 420, text
        assert text.rstrip().endswith(".")
    assert any("burn" in c.lower() and "1x" in c for c in captions)
    assert "How to read this report" in html


@pytest.mark.core
def test_incident_shows_as_page_in_summary_chart_and_thresholds():
    html = render(_story())
    row = re.search(r'<tr data-journey="checkout">(.*?)</tr>', html, re.S).group(1)
    assert "PAGE" in row  # worst state
    section = re.search(r'<section[^>]*data-journey="checkout".*?</section>', html, re.S).group(0)
    burn = re.search(r'<svg class="chart" data-chart="burn".*?</svg>', section, re.S).group(0)
    assert 'data-band="paging"' in burn
    assert 'data-threshold="page 13.4x (1h+5m)"' in burn
    assert 'data-threshold="ticket 0.933x (3d+6h)"' in burn
    for window in ("5m", "30m", "1h", "6h", "3d"):
        assert f'data-series="burn-{window}"' in burn
    search = re.search(r'<section[^>]*data-journey="search".*?</section>', html, re.S).group(0)
    assert 'data-band="paging"' not in search


@pytest.mark.core
def test_text_is_escaped():
    data = report(series("browse", None, seconds=2), service="<shop & co>")
    html = render(data)
    assert "<shop & co>" not in html
    assert "&lt;shop &amp; co&gt;" in html


@pytest.mark.core
def test_empty_and_sparse_data_render():
    assert "No journey has data yet" in render(report())
    one_sample = report(series("checkout", journey("checkout"), seconds=0))
    html = render(one_sample)
    assert 'data-journey="checkout"' in html


def _polylines(dom, journey_name, chart):
    section = re.search(
        rf'<section[^>]*data-journey="{journey_name}".*?</section>', dom, re.S
    ).group(0)
    svg = re.search(rf'<svg[^>]*data-chart="{chart}".*?</svg>', section, re.S).group(0)
    lines = {}
    for series_key, points in re.findall(
        r'<polyline[^>]*data-series="([^"]+)"[^>]*points="([^"]*)"', svg
    ):
        pairs = [tuple(map(float, p.split(","))) for p in points.split()]
        lines.setdefault(series_key, []).extend(pairs)
    return lines


@pytest.mark.slow
def test_charts_draw_in_headless_chromium(tmp_path):
    page = tmp_path / "report.html"
    page.write_text(render(_story()), encoding="utf-8")
    dom = dump_dom(page, tmp_path / "profile")
    for name in ("checkout", "search"):
        sli = _polylines(dom, name, "sli")
        assert set(sli) == {"recent", "total"}
        assert len(sli["recent"]) >= 25
        assert len({y for _, y in sli["recent"]}) >= 1
        burn = _polylines(dom, name, "burn")
        assert set(burn) == {"burn-5m", "burn-30m", "burn-1h", "burn-6h", "burn-3d"}
        latency = _polylines(dom, name, "latency")
        assert set(latency) == {"p50", "p95", "p99"}
        # p99 is drawn above p50 everywhere (smaller y is higher on screen).
        assert all(a[1] < b[1] for a, b in zip(latency["p99"], latency["p50"]))
    # The incident dips checkout's recent availability far below its start.
    recent = _polylines(dom, "checkout", "sli")["recent"]
    assert max(y for _, y in recent) - min(y for _, y in recent) > 50
    budget = _polylines(dom, "checkout", "budget")["budget"]
    assert budget[-1][1] > budget[0][1]  # the budget line went down (y grows downwards)

    png = screenshot(page, tmp_path / "report.png", tmp_path / "profile", size=(1280, 1200))
    image = read_png(png)
    assert (image.width, image.height) == (1280, 1200)
    colors = image.distinct_colors(step=6)
    assert len(colors) > 40  # not blank: text, lines, bands
    # The series colours are on screen: the availability blue, the budget purple, the p99 red.
    for color in ((0x1F, 0x77, 0xB4), (0x82, 0x50, 0xDF), (0xD6, 0x27, 0x28)):
        assert _near(colors, color), color


def _near(colors, target, tolerance=24):
    return any(all(abs(a - b) <= tolerance for a, b in zip(c, target)) for c in colors)


@pytest.mark.core
def test_budget_wording_depends_on_how_much_of_the_window_the_data_cover():
    partial = render(report(series("checkout", journey("checkout", 98.0), error_ratio=0.01)))
    # 30 s at a time scale of 120 is one hour of a 28-day window: only the share burned is known,
    # 1% errors against a 2% budget for 1 h of 672 h: 0.5 / 672 = 0.074%.
    assert "error budget: 0.07% of 28d burned" in partial
    whole = render(
        report(
            series("checkout", journey("checkout", 98.0), error_ratio=0.01),
            time_scale=28 * 86400 / 30,
        )
    )
    # A whole window of data: 1% errors against a 2% budget leaves half of it.
    assert "error budget: 50.0% left" in whole
