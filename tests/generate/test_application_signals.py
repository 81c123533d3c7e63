"""application-signals: request-based SLOs on our counters, accepted by cfn-lint."""

from __future__ import annotations

from pathlib import Path

from sli_instrument.generate.application_signals import build, render, slo_name
from sli_instrument.slo.model import AlertWindow, SLOSpec
from tests.support.slo_specs import DAY, HOUR, journey, shop_spec
from tests.support.tools import assert_cfn_lint_clean


def test_templates_pass_cfn_lint(tmp_path: Path) -> None:
    odd = SLOSpec(
        "shop.v2",
        (
            journey("checkout-v2.pay_now", 99.95, latency=(0.25, 99.5)),
            journey("search", 99.0, window_days=7),
            journey("browse", 99.5, calendar=True),
        ),
    )
    paths = []
    # One template per format (cfn-lint takes about a second per dozen resources).
    for index, (spec, fmt) in enumerate(((shop_spec(), "yaml"), (odd, "json"))):
        path = tmp_path / f"slos{index}.{fmt}"
        path.write_text(render(spec, fmt=fmt))
        paths.append(path)
    assert_cfn_lint_clean(paths)


def test_request_based_sli_counts_failures_or_slow_against_requests() -> None:
    resources = build(shop_spec())["Resources"]
    assert list(resources) == [
        "CheckoutAvailabilitySlo",
        "CheckoutLatencySlo",
        "SearchAvailabilitySlo",
    ]
    latency = resources["CheckoutLatencySlo"]["Properties"]
    metric = latency["RequestBasedSli"]["RequestBasedSliMetric"]
    total = metric["TotalRequestCountMetric"][0]["MetricStat"]
    bad = metric["MonitoredRequestCountMetric"]["BadCountMetric"][0]["MetricStat"]
    assert total["Metric"]["MetricName"] == "sli.journey.requests"
    assert bad["Metric"]["MetricName"] == "sli.journey.slow"
    assert bad["Stat"] == "Sum" and bad["Period"] == 60
    assert bad["Metric"]["Dimensions"] == [
        {"Name": "service.name", "Value": "shop"},
        {"Name": "sli.journey", "Value": "checkout"},
    ]
    assert latency["Goal"]["AttainmentGoal"] == 99.0
    rolling = {"RollingInterval": {"DurationUnit": "DAY", "Duration": 28}}
    assert latency["Goal"]["Interval"] == rolling
    availability = resources["SearchAvailabilitySlo"]["Properties"]
    bad = availability["RequestBasedSli"]["RequestBasedSliMetric"]["MonitoredRequestCountMetric"]
    assert bad["BadCountMetric"][0]["MetricStat"]["Metric"]["MetricName"] == "sli.journey.failures"
    assert availability["Goal"]["AttainmentGoal"] == 99.5


def test_burn_rate_configurations_are_the_policy_windows() -> None:
    properties = build(shop_spec())["Resources"]["CheckoutAvailabilitySlo"]["Properties"]
    minutes = [c["LookBackWindowMinutes"] for c in properties["BurnRateConfigurations"]]
    assert minutes == [5, 30, 60, 360, 4320]


def test_windows_over_seven_days_are_left_out_and_said_so() -> None:
    alerts = (AlertWindow("ticket", 8 * DAY, 6 * HOUR, 0.3, 1.05),)
    spec = SLOSpec("shop", (journey("checkout", alerts=alerts),))
    properties = build(spec)["Resources"]["CheckoutAvailabilitySlo"]["Properties"]
    assert properties["BurnRateConfigurations"] == [{"LookBackWindowMinutes": 360}]
    assert "left out: 8d" in properties["Description"]


def test_calendar_month_window() -> None:
    spec = SLOSpec("shop", (journey("checkout", calendar=True),))
    goal = build(spec)["Resources"]["CheckoutAvailabilitySlo"]["Properties"]["Goal"]
    interval = goal["Interval"]["CalendarInterval"]
    assert interval["DurationUnit"] == "MONTH" and interval["Duration"] == 1


def test_slo_names_fit_the_pattern() -> None:
    import re

    pattern = re.compile(r"^[0-9A-Za-z][-._0-9A-Za-z ]{0,126}[0-9A-Za-z]$")
    for service, name in (("shop", "checkout"), ("a", "b.-"), ("x" * 80, "y" * 64)):
        assert pattern.match(slo_name(service, name, "availability"))
