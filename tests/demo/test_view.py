"""The demo's terminal text: the table, narrow terminals, colours only when asked, the frame."""

from __future__ import annotations

import re

import pytest

from sli_instrument.demo import view
from sli_instrument.report.timeline import analyse
from tests.support.report_data import report, series
from tests.support.slo_specs import journey

pytestmark = pytest.mark.core


def _timelines():
    return analyse(
        report(
            series(
                "checkout",
                journey("checkout", 99.0),
                incident=(12, 30),
                incident_ratio=0.6,
            ),
            series("search", journey("search", 99.5)),
        )
    )


def test_table_has_a_row_per_journey_with_alert_state():
    lines = view.table(_timelines(), width=200)
    assert lines[0].split()[:3] == ["journey", "SLO", "requests"]
    assert "burn 5m" in lines[0] and "burn 3d" in lines[0]
    checkout = lines[1].split()
    assert checkout[0] == "checkout" and checkout[1] == "99%" and checkout[-1] == "PAGE"
    assert lines[2].split()[-1] == "OK"
    assert all("\x1b" not in line for line in lines)


def test_narrow_terminals_drop_the_least_important_columns():
    wide = view.table(_timelines(), width=200)[0]
    narrow = view.table(_timelines(), width=80)
    assert all(len(line) <= 80 for line in narrow)
    header = narrow[0]
    for kept in ("journey", "requests", "good", "alert"):
        assert kept in header
    assert len(header.split()) < len(wide.split())


def test_colour_marks_the_alert_state():
    lines = view.table(_timelines(), width=200, color=True)
    assert "\x1b[1;97;41m" in lines[1]  # PAGE: white on red


def test_frame_and_legend():
    status = view.Status(
        title="sli-instrument demo: test",
        elapsed=12.0,
        duration=30.0,
        requests=1234,
        phase_line="INCIDENT: testing",
        scale_line="time is compressed",
    )
    text = view.frame(status, _timelines(), width=160, color=False)
    assert "[##########" in text and "12.0 s of 30 s" in text and "1,234 requests" in text
    assert "PAGE when 1h and 5m > 13.4x or 6h and 30m > 5.6x" in text
    assert "TICKET when 3d and 6h > 0.933x" in text
    assert re.search(r"^checkout .*PAGE$", text, re.M)


def test_progress_bar_and_worst_states():
    assert view.progress_bar(0.5, 10) == "[#####.....]"
    assert view.progress_bar(2.0, 4) == "[####]"
    assert view.worst_states(_timelines()) == {"checkout": "page", "search": "ok"}
