"""``sli-instrument report``: options, exit codes, and the HTML report from CloudWatch data."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import boto3
import pytest

from sli_instrument.cli import main
from tests.support.moto_server import moto_server

SLO = "service: shop\njourneys:\n  checkout:\n    availability: 99.9\n"


@pytest.fixture
def slo_file(tmp_path: Path) -> Path:
    path = tmp_path / "slo.yaml"
    path.write_text(SLO)
    return path


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--cloudwatch", "--selector", 'job="x"'], "--selector applies to --prometheus only"),
        (["--prometheus", "http://127.0.0.1:9", "--region", "eu-west-1"], "apply to --cloudwatch"),
        (["--prometheus", "localhost:9090"], "is not an http(s) URL"),
    ],
)
def test_usage_errors(
    extra: list[str], message: str, slo_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--slo", str(slo_file), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_a_backend_is_required(slo_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["report", "--slo", str(slo_file)])
    assert exit_info.value.code == 2
    assert "one of the arguments --prometheus --cloudwatch is required" in capsys.readouterr().err


def test_html_report_from_cloudwatch(
    slo_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = time.time()
    with moto_server(monkeypatch) as endpoint:
        client = boto3.client("cloudwatch", endpoint_url=endpoint, region_name="us-east-1")
        dims = [
            {"Name": "service.name", "Value": "shop"},
            {"Name": "sli.journey", "Value": "checkout"},
        ]
        data = []
        for k in range(30):
            stamp = dt.datetime.fromtimestamp(now - 60 * k - 90, tz=dt.timezone.utc)
            for name, value in (("requests", 1000), ("failures", 0), ("slow", 0)):
                data.append(
                    {
                        "MetricName": f"sli.journey.{name}",
                        "Dimensions": dims,
                        "Timestamp": stamp,
                        "Value": value,
                    }
                )
        client.put_metric_data(Namespace="SLI", MetricData=data)
        html = tmp_path / "report.html"
        code = main(
            ["report", "--slo", str(slo_file), "--cloudwatch", "--endpoint-url", endpoint]
            + ["--region", "us-east-1", "--html", str(html), "--range", "30m", "--at", str(now)]
        )
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.startswith("shop: ok") and "100.000%" in out
    text = html.read_text()
    assert text.lstrip().lower().startswith("<!doctype html") and "checkout" in text

    with moto_server(monkeypatch) as endpoint:
        bad = ["report", "--slo", str(slo_file), "--cloudwatch", "--endpoint-url", endpoint]
        bad += ["--html", str(tmp_path / "missing-dir" / "r.html"), "--range", "10m"]
        assert main(bad) == 2
    assert "cannot write" in capsys.readouterr().err
