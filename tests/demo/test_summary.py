"""The demo's final output: alert transitions, the table, the JSON document."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from sli_instrument.demo.driver import Tally
from sli_instrument.demo.model import DemoResult
from sli_instrument.demo.summary import alert_events, print_json, print_table
from sli_instrument.report.timeline import analyse
from tests.support.report_data import report, series
from tests.support.slo_specs import journey

pytestmark = pytest.mark.core


def _result():
    data = report(
        series("checkout", journey("checkout", 99.0), incident=(12, 20), incident_ratio=0.6),
        series("search", journey("search", 99.5)),
    )
    timelines = analyse(data)
    tally = {"checkout": Tally(sent=3000, statuses={200: 2520, 503: 480}), "search": Tally(3000)}
    return DemoResult(
        data, timelines, tally, Path("/tmp/r.html"), "http://x", alert_events(timelines), 480
    )


def test_alert_events_are_the_transitions():
    events = alert_events(_result().timelines)
    assert [(name, a, b) for _, name, a, b in events] == [
        ("checkout", "ok", "page"),
        ("checkout", "page", "ok"),
    ]
    assert events[0][0] < events[1][0]


def test_table_names_the_page_and_checks_the_counts():
    out = io.StringIO()
    print_table(_result(), 30.0, 120.0, out, live=False)
    text = out.getvalue()
    assert text.startswith("Final state after 30 s (= 1 hour of SLO time at 1 s = 2 min):")
    assert "Alert: checkout reached PAGE from " in text
    assert (
        "Clients sent 6,000 requests and saw 480 server errors (5xx); the SLI metrics counted "
        "480 failures."
    ) in text
    assert "HTML report: /tmp/r.html" in text


def test_json_document():
    out = io.StringIO()
    print_json(_result(), 30.0, 120.0, out)
    document = json.loads(out.getvalue())
    assert document["clients"] == {"sent": 6000, "server_errors": 480}
    checkout = document["journeys"][0]
    assert checkout["journey"] == "checkout" and checkout["worst_state"] == "page"
    assert checkout["failures"] == 480 and checkout["objective"] == 99.0
    assert [a["to"] for a in document["alerts"]] == ["page", "ok"]
