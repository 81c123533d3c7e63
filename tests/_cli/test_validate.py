"""``sli-instrument validate``: the report of a valid file, one-line errors and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sli_instrument.cli import main
from sli_instrument.slo import parse_slo, to_openslo

pytestmark = pytest.mark.core

SLO = """\
service: shop
journeys:
  checkout:
    availability: 99.9
    latency: {threshold: 300ms, target: 99}
    routes: ["/checkout"]
  legacy:
    availability: 90
    window: 30d
"""


def write(tmp_path: Path, text: str, name: str = "slo.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, SLO)
    assert main(["validate", "--slo", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"{path}: valid: service 'shop', 2 journey(s)" in out
    assert "checkout: availability 99.9% over 28d (error budget 0.1% = 40.3 min)" in out
    assert "latency 99% within 300ms" in out
    assert "routes: /checkout" in out
    # 28-day factors for checkout, 30-day factors for legacy.
    assert "burn rate 13.44" in out and "fires above error ratio 1.344% (slow ratio 13.44%)" in out
    assert "burn rate 14.4" in out and "fires above error ratio 144%" in out
    assert "warnings (1):" in out
    assert f"{path}:7: journey 'legacy': the page alert '2% of the budget in 1h'" in out


def test_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, SLO)
    assert main(["validate", "--slo", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is True
    assert report["service"] == "shop"
    checkout, legacy = report["journeys"]
    assert checkout["error_budget"] == 0.001
    assert checkout["latency"] == {
        "threshold_seconds": 0.3,
        "threshold": "300ms",
        "target": 99.0,
        "error_budget": 0.01,
    }
    assert [a["burn_rate"] for a in legacy["alerts"]] == pytest.approx([14.4, 6.0, 1.0])
    assert [a["long"] for a in legacy["alerts"]] == ["1h", "6h", "3d"]
    assert legacy["alerts"][0]["availability_error_ratio_threshold"] == pytest.approx(1.44)
    assert len(report["warnings"]) == 1


def test_strict_fails_on_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, SLO)
    assert main(["validate", "--slo", str(path), "--strict"]) == 1
    assert "1 warning(s) and --strict" in capsys.readouterr().err


def test_invalid_file_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, SLO.replace("availability: 99.9", "availability: 100"))
    assert main(["validate", "--slo", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"sli-instrument: error: {path}:4: journeys.checkout.availability: availability 100 is "
        "outside (0, 100): write the percentage of good events, e.g. 99.9 (100 would leave no "
        "error budget at all)\n"
    )


def test_invalid_file_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "service: shop\njourneys:\n  a: {availability: 99}\n  a: {}\n")
    assert main(["validate", "--slo", str(path), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report == {
        "valid": False,
        "error": f"{path}:4: journeys.a: duplicate key 'a' (first written on line 3); YAML would "
        "silently keep only the last one",
    }


def test_openslo_autodetected_and_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, to_openslo(parse_slo(SLO)), "openslo.yaml")
    assert main(["validate", "--slo", str(path)]) == 0
    auto = capsys.readouterr().out
    assert main(["validate", "--slo", str(path), "--openslo"]) == 0
    assert capsys.readouterr().out == auto
    assert "checkout: availability 99.9% over 28d" in auto
    # --openslo on a plain SLO file: not OpenSLO, so it fails with the reason.
    plain = write(tmp_path, SLO)
    assert main(["validate", "--slo", str(plain), "--openslo"]) == 1
    assert "apiVersion None is not supported; use openslo/v1" in capsys.readouterr().err


def test_slo_file_from_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLI_SLO_FILE", str(write(tmp_path, SLO)))
    assert main(["validate"]) == 0
    assert "valid: service 'shop'" in capsys.readouterr().out
    monkeypatch.delenv("SLI_SLO_FILE")
    assert main(["validate"]) == 2
    assert "no SLO file: pass --slo FILE or set SLI_SLO_FILE" in capsys.readouterr().err


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--slo", str(tmp_path / "nope.yaml")]) == 1
    assert "not found" in capsys.readouterr().err


def test_entry_point_prints_no_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, "service: shop\njourneys:\n  x: {availability: [}\n")
    result = subprocess.run(
        [sys.executable, "-m", "sli_instrument", "validate", "--slo", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"sli-instrument: error: {path}:3:")
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
