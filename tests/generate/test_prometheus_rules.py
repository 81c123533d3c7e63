"""prometheus-rules: names from the real OTel Prometheus exporter, promtool check and unit tests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY, generate_latest

import sli_instrument as sli
from sli_instrument import _contract as c
from sli_instrument.generate import _common as common
from sli_instrument.generate.prometheus_rules import (
    BASE_WINDOWS,
    PrometheusOptions,
    build,
    ratio_record,
    render,
    windows,
)
from sli_instrument.slo.model import AlertWindow, SLOSpec
from tests.support.slo_specs import DAY, HOUR, MINUTE, journey, shop_spec
from tests.support.tools import require_tool

PROMTOOL_DIR = Path(__file__).parent / "promtool"


def _promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_tool("promtool"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.usefixtures("sli_reset")
def test_metric_names_match_the_opentelemetry_prometheus_exporter() -> None:
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from opentelemetry.sdk.metrics import MeterProvider

    reader = PrometheusMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    try:
        sli.configure(service_name="shop", meter_provider=provider)
        with sli.journey("checkout", latency_threshold="1ms"):
            pass
        try:
            with sli.journey("checkout"):
                raise RuntimeError("boom")
        except RuntimeError:
            pass
        text = generate_latest(REGISTRY).decode()
    finally:
        sli.shutdown()
        provider.shutdown()
    samples = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        series, _, value = line.rpartition(" ")
        samples[series] = float(value)

    def value_of(name: str) -> float:
        matches = [
            v
            for s, v in samples.items()
            if s.startswith(name + "{") and f'{common.PROM_JOURNEY_LABEL}="checkout"' in s
        ]
        assert len(matches) == 1, (name, sorted(samples)[:40])
        return matches[0]

    # The names the rules use are the exporter's names ({request} is dropped, _total added).
    assert value_of(common.PROM_REQUESTS) == 2
    assert value_of(common.PROM_FAILURES) == 1
    assert value_of(common.PROM_SLOW) >= 0
    assert any(s.startswith(common.PROM_DURATION_BUCKET + "{") for s in samples)


def test_recording_rules_cover_every_window_and_divide_counter_rates() -> None:
    spec = shop_spec()
    rules = build(spec)
    recording = rules["groups"][0]["rules"]
    recorded = {r["record"] for r in recording}
    for window in (*BASE_WINDOWS, 28 * DAY):
        assert ratio_record(c.FAILURES, window) in recorded
    # Slow ratios only exist because checkout has a latency objective.
    assert "journey:sli_journey_slow:ratio_rate28d" in recorded
    one = next(r for r in recording if r["record"] == "journey:sli_journey_failures:ratio_rate1h")
    assert one["expr"] == (
        'sum by (sli_journey) (rate(sli_journey_failures_total{job="shop"}[1h]))\n/\n'
        'sum by (sli_journey) (rate(sli_journey_requests_total{job="shop"}[1h]))'
    )
    assert one["labels"] == {"service": "shop"}


def test_alert_thresholds_are_burn_rate_times_budget() -> None:
    rules = build(shop_spec())
    alerts = rules["groups"][2]["rules"]
    page = next(
        a for a in alerts if a["labels"]["severity"] == "page" and a["labels"]["sli"] == "latency"
    )
    # 99% latency target: budget 0.01; 28d window: 13.44 and 5.6.
    match = '{service="shop",sli_journey="checkout"}'
    assert f"ratio_rate1h{match} > (13.44 * 0.01)" in page["expr"]
    assert f"ratio_rate5m{match} > (13.44 * 0.01)" in page["expr"]
    assert f"ratio_rate30m{match} > (5.6 * 0.01)" in page["expr"]
    names = [(a["alert"], a["labels"]["sli_journey"], a["labels"]["severity"]) for a in alerts]
    assert names == [
        ("JourneyAvailabilityBudgetBurn", "checkout", "page"),
        ("JourneyAvailabilityBudgetBurn", "checkout", "ticket"),
        ("JourneyLatencyBudgetBurn", "checkout", "page"),
        ("JourneyLatencyBudgetBurn", "checkout", "ticket"),
        ("JourneyAvailabilityBudgetBurn", "search", "page"),
        ("JourneyAvailabilityBudgetBurn", "search", "ticket"),
    ]


def test_custom_alert_windows_get_recording_rules() -> None:
    custom = (AlertWindow("page", 4 * HOUR, 20 * MINUTE, 0.05, 0.05 * 7 * DAY / (4 * HOUR)),)
    spec = SLOSpec("api", (journey("login", 99.0, window_days=7, alerts=custom),))
    assert 4 * HOUR in windows(spec) and 20 * MINUTE in windows(spec) and 7 * DAY in windows(spec)


def test_selector_option_and_output_is_deterministic() -> None:
    spec = shop_spec()
    text = render(spec, PrometheusOptions(selector='service_name="shop",env="prod"'))
    assert 'rate(sli_journey_requests_total{service_name="shop",env="prod"}[5m])' in text
    assert render(spec) == render(shop_spec())
    assert yaml.safe_load(render(spec)) == build(spec)


def test_promtool_check_rules(tmp_path: Path) -> None:
    spec = SLOSpec(
        "shop.v2",
        (
            journey("checkout-v2.pay_now", 99.95, latency=(0.25, 99.5)),
            journey("search", 99.0, window_days=7),
            journey("browse", 99.5, calendar=True),
        ),
    )
    rules = tmp_path / "rules.yaml"
    rules.write_text(render(spec))
    result = _promtool("check", "rules", str(rules), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_unit_tests_page_on_burst_and_stay_silent_just_under(tmp_path: Path) -> None:
    """tests/generate/promtool/burn_alerts.test.yaml against rules generated from its slo.yaml."""
    for name in ("burn_alerts.test.yaml",):
        shutil.copy(PROMTOOL_DIR / name, tmp_path / name)
    (tmp_path / "rules.yaml").write_text(render(_promtool_spec()))
    result = _promtool("test", "rules", "burn_alerts.test.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def _promtool_spec() -> SLOSpec:
    from sli_instrument.slo.loader import load_slo_file

    return load_slo_file(PROMTOOL_DIR / "slo.yaml")
