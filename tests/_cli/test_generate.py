"""``sli-instrument generate``: every target from a real SLO file; errors in one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sli_instrument.cli import main

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


@pytest.fixture
def slo_file(tmp_path: Path) -> Path:
    path = tmp_path / "slo.yaml"
    path.write_text(SLO)
    return path


@pytest.mark.parametrize(
    "target",
    [
        "cloudwatch-alarms",
        "application-signals",
        "cloudwatch-dashboard",
        "prometheus-rules",
        "collector-config",
        "openslo",
    ],
)
def test_every_target_writes_the_same_bytes_twice(
    target: str, slo_file: Path, tmp_path: Path
) -> None:
    first, second = tmp_path / "a.out", tmp_path / "b.out"
    assert main(["generate", target, "--slo", str(slo_file), "-o", str(first)]) == 0
    assert main(["generate", target, "--slo", str(slo_file), "-o", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes()
    assert list(yaml.safe_load_all(first.read_text()))


def test_stdout_json_and_options(slo_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["generate", "cloudwatch-alarms", "--slo", str(slo_file), "--format", "json"]
    assert main([*args, "--namespace", "Shop/SLI"]) == 0
    template = json.loads(capsys.readouterr().out)
    assert template["Parameters"]["MetricNamespace"]["Default"] == "Shop/SLI"

    args = ["generate", "cloudwatch-dashboard", "--slo", str(slo_file), "--body-only"]
    assert main([*args, "--region", "eu-west-1"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["widgets"][1]["properties"]["region"] == "eu-west-1"

    args = ["generate", "prometheus-rules", "--slo", str(slo_file)]
    assert main([*args, "--selector", 'service_name="shop"']) == 0
    assert 'sli_journey_requests_total{service_name="shop"}' in capsys.readouterr().out


def test_slo_file_from_environment(
    slo_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLI_SLO_FILE", str(slo_file))
    assert main(["generate", "prometheus-rules"]) == 0
    assert "groups:" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["generate", "nagios"], "unknown target 'nagios'; choose one of: cloudwatch-alarms"),
        (["generate", "prometheus-rules", "--format", "json"], "written as yaml only"),
        (["generate", "prometheus-rules", "--body-only"], "--body-only applies to"),
        (["generate", "cloudwatch-dashboard", "--body-only"], "--body-only needs --region"),
    ],
)
def test_usage_errors_are_one_line(
    argv: list[str], message: str, slo_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--slo", str(slo_file)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_bad_slo_file_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("service: shop\njourneys:\n  checkout:\n    availability: 120\n")
    assert main(["generate", "prometheus-rules", "--slo", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml:4" in err and "Traceback" not in err
    assert main(["generate", "prometheus-rules", "--slo", str(tmp_path / "missing.yaml")]) == 2
    assert "not found" in capsys.readouterr().err


def test_missing_slo_file_option(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLI_SLO_FILE", raising=False)
    assert main(["generate", "prometheus-rules"]) == 2
    assert "no SLO file" in capsys.readouterr().err


def test_console_script_runs(slo_file: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sli_instrument",
            "generate",
            "collector-config",
            "--slo",
            str(slo_file),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(result.stdout)["exporters"]["awsemf/sli"]["namespace"] == "SLI"
