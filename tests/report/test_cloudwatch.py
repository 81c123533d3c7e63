"""CloudWatch source: moto in server mode holds metric data put by the test; the report reads it
back with GetMetricData through ``--endpoint-url``."""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from sli_instrument.cli import main
from sli_instrument.report.cloudwatch import CloudWatchSource, period_for
from sli_instrument.report.sources import SourceError
from sli_instrument.slo.loader import parse_slo
from sli_instrument.slo.model import SLOSpec
from tests.support.moto_server import moto_server

SLO = """\
service: shop
journeys:
  checkout:
    availability: 99.9
    latency:
      threshold: 300ms
      target: 99
  search:
    availability: 99.5
"""
NAMESPACE = "Shop/SLI"


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with moto_server(monkeypatch) as url:
        yield url


def _put(endpoint: str, now: float) -> None:
    """Two hours of one-minute EMF-like sums: 100 requests a minute per journey; checkout has 1
    slow a minute, and 5 failures a minute in the last 10 minutes."""
    client = boto3.client("cloudwatch", endpoint_url=endpoint, region_name="us-east-1")
    end = math.floor(now / 60) * 60
    data = []
    for k in range(120):
        stamp = dt.datetime.fromtimestamp(end - 60 * k - 30, tz=dt.timezone.utc)
        for journey, failures, slow in (("checkout", 5 if k < 10 else 0, 1), ("search", 0, 0)):
            dims = [
                {"Name": "service.name", "Value": "shop"},
                {"Name": "sli.journey", "Value": journey},
            ]
            for name, value in (("requests", 100), ("failures", failures), ("slow", slow)):
                data.append(
                    {
                        "MetricName": f"sli.journey.{name}",
                        "Dimensions": dims,
                        "Timestamp": stamp,
                        "Value": value,
                        "Unit": "Count",
                    }
                )
    for offset in range(0, len(data), 1000):  # PutMetricData takes up to 1000 values a call
        client.put_metric_data(Namespace=NAMESPACE, MetricData=data[offset : offset + 1000])


def test_report_reads_window_counts_back(
    endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = time.time()
    _put(endpoint, now)
    slo = tmp_path / "slo.yaml"
    slo.write_text(SLO)
    argv = ["report", "--slo", str(slo), "--cloudwatch", "--endpoint-url", endpoint]
    argv += ["--region", "us-east-1", "--namespace", NAMESPACE, "--at", str(now), "--json"]
    code = main(argv)
    report = json.loads(capsys.readouterr().out)

    journeys = {j["name"]: j for j in report["journeys"]}
    availability, latency = journeys["checkout"]["objectives"]
    assert availability["requests"] == 12000 and availability["bad"] == 50
    rates = availability["burn_rates"]
    assert rates["5m"] == pytest.approx(25 / 500 / 0.001)
    assert rates["30m"] == pytest.approx(50 / 3000 / 0.001)
    assert rates["1h"] == pytest.approx(50 / 6000 / 0.001)
    assert rates["6h"] == rates["3d"] == pytest.approx(50 / 12000 / 0.001)
    # No page pair has both windows over its threshold (1h: 8.3 < 13.44; 6h: 4.2 < 5.6); the
    # ticket pair (3d and 6h over 0.93) fires.
    assert availability["state"] == "ticket"
    assert availability["sli_value"] == pytest.approx(1 - 50 / 12000)
    assert availability["budget_remaining"] == pytest.approx(1 - (50 / 12000) / 0.001)
    assert availability["exhausted"] is True
    assert latency["bad"] == 120 and latency["sli_value"] == pytest.approx(0.99)
    assert latency["budget_remaining"] == pytest.approx(0.0, abs=1e-9) and latency["exhausted"]
    search = journeys["search"]["objectives"][0]
    assert search["requests"] == 12000 and search["sli_value"] == 1.0 and search["state"] == "ok"
    # Breached (budget exhausted) but not paging: exit code 1 all the same.
    assert report["breached"] and not report["paging"] and code == 1

    # A file with only the healthy journey: exit 0, table output.
    healthy = tmp_path / "search.yaml"
    healthy.write_text("service: shop\njourneys:\n  search:\n    availability: 99.5\n")
    argv[2] = str(healthy)
    assert main(argv[:-1]) == 0
    out = capsys.readouterr().out
    assert out.startswith("shop: ok (from cloudwatch Shop/SLI at http://127.0.0.1:")
    assert "100.000%" in out


def test_report_data_is_cumulative_per_step(endpoint: str) -> None:
    now = time.time()
    _put(endpoint, now)
    source = CloudWatchSource(namespace=NAMESPACE, region="us-east-1", endpoint_url=endpoint)
    spec = load_slo_file_from_text(SLO)
    data = source.report_data(spec, now - 1800, now, 300)
    checkout = next(j for j in data.journeys if j.name == "checkout")
    assert checkout.timestamps == sorted(checkout.timestamps)
    assert all(b >= a for a, b in zip(checkout.requests, checkout.requests[1:]))
    assert checkout.requests[-1] - checkout.requests[0] >= 2500
    assert checkout.failures[-1] == 50


def test_periods_follow_retention() -> None:
    assert period_for(300) == 60 and period_for(86400) == 60
    assert period_for(3 * 86400) == 300 and period_for(28 * 86400) == 3600


def test_unreachable_endpoint_is_a_source_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.moto_server import AWS_ENV
    from tests.support.servers import free_port

    for key, value in AWS_ENV.items():
        monkeypatch.setenv(key, value)
    import botocore.config

    client = boto3.client(
        "cloudwatch",
        region_name="us-east-1",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        config=botocore.config.Config(retries={"max_attempts": 1}, connect_timeout=2),
    )
    source = CloudWatchSource(client=client)
    with pytest.raises(SourceError, match="GetMetricData failed"):
        source.window_counts(load_slo_file_from_text(SLO), [300.0], time.time())


def load_slo_file_from_text(text: str) -> SLOSpec:
    return parse_slo(text, "slo.yaml")
