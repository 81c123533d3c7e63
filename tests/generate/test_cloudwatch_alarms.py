"""cloudwatch-alarms: CloudFormation that cfn-lint accepts, one composite per burn-rate pair."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from sli_instrument.errors import ConfigurationError
from sli_instrument.generate.cloudwatch_alarms import AlarmOptions, build, render
from sli_instrument.slo.model import AlertWindow, SLOSpec
from tests.support.slo_specs import DAY, HOUR, MINUTE, journey, shop_spec
from tests.support.tools import assert_cfn_lint_clean


def test_templates_pass_cfn_lint(tmp_path: Path) -> None:
    odd = SLOSpec(
        "shop.v2",
        (
            journey("checkout-v2.pay_now", 99.95, latency=(0.25, 99.5)),
            journey("checkout_v2_pay_now", 99.0, window_days=7),  # same logical-ID words
            journey("browse", 99.5, calendar=True),
        ),
    )
    paths = []
    # One template per format (cfn-lint takes about a second per dozen resources).
    for index, (spec, fmt) in enumerate(((shop_spec(), "yaml"), (odd, "json"))):
        path = tmp_path / f"alarms{index}.{fmt}"
        path.write_text(render(spec, AlarmOptions(namespace="Shop/SLI"), fmt=fmt))
        paths.append(path)
    assert_cfn_lint_clean(paths)
    # Logical IDs that flatten alike get a suffix instead of overwriting each other:
    # 4 SLIs x 3 conditions x (2 window alarms + 1 composite).
    assert len(build(odd)["Resources"]) == 36


def test_one_composite_per_pair_joining_long_and_short_window_alarms() -> None:
    template = build(shop_spec())
    resources = template["Resources"]
    composite = "AWS::CloudWatch::CompositeAlarm"
    composites = {k: v for k, v in resources.items() if v["Type"] == composite}
    alarms = {k: v for k, v in resources.items() if v["Type"] == "AWS::CloudWatch::Alarm"}
    # checkout: availability + latency, search: availability; 3 pairs each.
    assert len(composites) == 9 and len(alarms) == 18
    page = composites["CheckoutAvailabilityPage1h5mBurn"]["Properties"]
    assert page["AlarmRule"] == {
        "Fn::Sub": 'ALARM("${CheckoutAvailabilityPage1h5mLong}") AND '
        'ALARM("${CheckoutAvailabilityPage1h5mShort}")'
    }
    assert page["AlarmActions"] == [{"Ref": "PageTopicArn"}]
    ticket = composites["SearchAvailabilityTicket3d6hBurn"]["Properties"]
    assert ticket["AlarmActions"] == [{"Ref": "TicketTopicArn"}]
    # Window alarms never notify on their own.
    assert all(a["Properties"]["ActionsEnabled"] is False for a in alarms.values())


def test_window_alarm_is_the_burn_rate_over_its_window() -> None:
    resources = build(shop_spec())["Resources"]
    long = resources["CheckoutLatencyPage6h30mLong"]["Properties"]
    short = resources["CheckoutLatencyPage6h30mShort"]["Properties"]
    assert long["Threshold"] == short["Threshold"] == 5.6
    assert long["ComparisonOperator"] == "GreaterThanThreshold"
    assert long["TreatMissingData"] == "notBreaching"
    by_id = {m["Id"]: m for m in long["Metrics"]}
    assert by_id["burn"]["Expression"] == "(FILL(slow, 0) / FILL(requests, 1)) / 0.01"
    assert by_id["burn"]["ReturnData"] is True
    stat = by_id["slow"]["MetricStat"]
    assert stat["Period"] == 6 * 3600 and stat["Stat"] == "Sum"
    assert stat["Metric"]["MetricName"] == "sli.journey.slow"
    assert stat["Metric"]["Dimensions"] == [
        {"Name": "service.name", "Value": "shop"},
        {"Name": "sli.journey", "Value": "checkout"},
    ]
    assert {m["Id"]: m for m in short["Metrics"]}["requests"]["MetricStat"]["Period"] == 1800


def test_namespace_is_a_parameter_with_the_option_as_default() -> None:
    template = build(shop_spec(), AlarmOptions(namespace="Shop/SLI"))
    assert template["Parameters"]["MetricNamespace"]["Default"] == "Shop/SLI"
    assert set(template["Parameters"]) == {"MetricNamespace", "PageTopicArn", "TicketTopicArn"}


def test_output_is_deterministic_and_parses() -> None:
    text = render(shop_spec())
    assert text == render(shop_spec())
    assert yaml.safe_load(text) == build(shop_spec())
    assert json.loads(render(shop_spec(), fmt="json")) == build(shop_spec())


def test_alert_window_longer_than_cloudwatch_allows_is_a_configuration_error() -> None:
    alerts = (AlertWindow("ticket", 8 * DAY, 6 * HOUR, 0.3, 0.3 * 28 / 8),)
    spec = SLOSpec("shop", (journey("checkout", alerts=alerts),), source="slo.yaml")
    with pytest.raises(ConfigurationError, match=r"'8d' of journey 'checkout' \(from slo.yaml\)"):
        build(spec)


def test_sub_minute_window_is_a_configuration_error() -> None:
    alerts = (AlertWindow("page", HOUR, 0.5 * MINUTE, 0.02, 13.44),)
    spec = SLOSpec("shop", (journey("checkout", alerts=alerts),), source="slo.yaml")
    with pytest.raises(ConfigurationError, match="whole number of minutes"):
        build(spec)
