"""Live: a real Prometheus scrapes an app instrumented by us, evaluates the generated rules, and
``sli-instrument report --prometheus`` reads the SLIs back; the report agrees with the alerts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from sli_instrument.cli import main
from sli_instrument.report.prometheus import PrometheusSource
from sli_instrument.report.sources import SourceError
from sli_instrument.slo.loader import load_slo_file
from tests.support.prometheus import query, run_prometheus, wait_until
from tests.support.servers import free_port, serve

pytestmark = pytest.mark.slow

SLO = """\
service: shop
journeys:
  checkout:
    availability: 99.9
    latency:
      threshold: 250ms
      target: 99
  search:
    availability: 99.5
"""
APP = Path(__file__).resolve().parents[1] / "support" / "prometheus_app.py"


def _value(url: str, promql: str) -> float | None:
    result = query(url, promql)
    return float(result[0]["value"][1]) if len(result) == 1 else None


def test_report_reads_the_slis_prometheus_scraped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    slo = tmp_path / "slo.yaml"
    slo.write_text(SLO)
    rules = tmp_path / "rules.yaml"
    assert main(["generate", "prometheus-rules", "--slo", str(slo), "-o", str(rules)]) == 0

    app_port = free_port()
    argv = [sys.executable, str(APP), str(slo), str(app_port), "{port}"]
    with serve(argv, ready_path="/metrics") as metrics_url:
        target = metrics_url.removeprefix("http://")
        with run_prometheus(tmp_path, targets={"shop": target}, rule_files=[rules]) as prom:
            # Scraped at zero first (journeys exist from configure()), so increase() sees it all.
            wait_until(
                "the first scrape",
                lambda: _value(prom, 'sli_journey_requests_total{sli_journey="checkout"}') == 0,
            )
            with httpx.Client(base_url=f"http://127.0.0.1:{app_port}", timeout=10) as client:
                for i in range(200):
                    params = {"fail": "1"} if i % 20 == 0 else {"slow": "1"} if i % 40 == 1 else {}
                    client.get("/checkout", params=params)
                for _ in range(100):
                    client.get("/search")
            wait_until(
                "the counts in Prometheus",
                lambda: _value(prom, 'sum(sli_journey_requests_total{job="shop"})') == 300,
            )
            # The generated rules: ratio 10/200, and the page alert fires (burn rate 50).
            # (Rules evaluate on their own clock: wait for an evaluation after the last scrape.)
            wait_until(
                "the recorded 5m error ratio to reach 10/200",
                lambda: (
                    _value(
                        prom, 'journey:sli_journey_failures:ratio_rate5m{sli_journey="checkout"}'
                    )
                    == pytest.approx(0.05, rel=1e-9)
                ),
            )
            firing = wait_until(
                "the page alert",
                lambda: query(
                    prom,
                    'ALERTS{alertname="JourneyAvailabilityBudgetBurn",alertstate="firing",'
                    'severity="page"}',
                ),
            )
            assert {a["metric"]["sli_journey"] for a in firing} == {"checkout"}

            code = main(["report", "--slo", str(slo), "--prometheus", prom, "--json"])
            report = json.loads(capsys.readouterr().out)

            # The console script, table form, and the HTML report.
            html = tmp_path / "report.html"
            table = subprocess.run(
                [sys.executable, "-m", "sli_instrument", "report", "--slo", str(slo)]
                + ["--prometheus", prom, "--html", str(html), "--range", "5m", "--step", "5s"],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )

    assert code == 1 and report["paging"] and report["breached"]
    journeys = {j["name"]: j for j in report["journeys"]}
    checkout = {o["sli"]: o for o in journeys["checkout"]["objectives"]}
    availability, latency = checkout["availability"], checkout["latency"]
    assert availability["sli_value"] == pytest.approx(0.95, rel=1e-9)
    assert latency["sli_value"] == pytest.approx(1 - 5 / 200, rel=1e-9)
    # Counts are increase() estimates: extrapolated towards the window's ends, so a few seconds of
    # history read high; the ratios are exact (both counters extrapolate alike).
    assert 200 <= availability["requests"] <= 200 * 2.2
    assert availability["burn_rates"]["5m"] == pytest.approx(50, rel=1e-6)
    assert availability["state"] == "page" and journeys["checkout"]["state"] == "page"
    assert latency["burn_rates"]["1h"] == pytest.approx(2.5, rel=1e-6)
    search = journeys["search"]["objectives"][0]
    assert search["sli_value"] == 1.0 and search["state"] == "ok" and not search["exhausted"]

    assert table.returncode == 1, table.stderr
    assert "shop: SLO breached" in table.stdout
    line = next(line for line in table.stdout.splitlines() if line.startswith("checkout  avail"))
    assert "95.000%" in line and line.endswith("BREACHED PAGE")
    assert "checkout" in html.read_text()


def test_unreachable_prometheus_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    slo = tmp_path / "slo.yaml"
    slo.write_text(SLO)
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["report", "--slo", str(slo), "--prometheus", url]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sli-instrument: error: cannot reach prometheus") and err.count("\n") == 1
    with pytest.raises(SourceError, match="not an http"):
        PrometheusSource("localhost:9090")
    spec = load_slo_file(slo)
    with pytest.raises(SourceError, match="cannot reach"):
        PrometheusSource(url, timeout=1).window_counts(spec, [300.0], 0.0)
