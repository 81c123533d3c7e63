"""``sli-instrument demo`` end to end: a real shop on loopback, real traffic, the printed table,
the HTML report, the live view under a pseudo-terminal (tmux), OTLP to a real receiver, errors."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sli_instrument.report.html import render  # noqa: F401 - the report module must import
from tests.support.otlp_receiver import series_key, totals
from tests.support.tools import require_tool

pytestmark = pytest.mark.slow

JOURNEYS = ("browse", "search", "cart", "checkout", "export")
CLI = [sys.executable, "-m", "sli_instrument"]
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|@import""", re.I)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SLI_"))}
    env.update(PYTHONUNBUFFERED="1", **extra)
    return env


def _demo(tmp_path: Path, *args: str, timeout: float = 60, **env: str):
    return subprocess.run(
        [*CLI, "demo", *args],
        cwd=tmp_path,
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _table_rows(stdout: str) -> dict[str, list[str]]:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("journey"))
    rows = {}
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        cells = line.split()
        rows[cells[0]] = cells
    return rows


def test_demo_in_a_pipe_prints_the_table_and_writes_a_self_contained_report(
    tmp_path, otlp_receiver
):
    started = time.monotonic()
    result = _demo(
        tmp_path,
        *("--duration", "6", "--out", "out/report.html", "--seed", "3"),
        *("--otlp-endpoint", otlp_receiver.http_endpoint),
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert elapsed < 20
    out = result.stdout
    assert "\x1b[" not in out  # no live view, no colours in a pipe
    assert "Final state after 6 s" in out
    header = next(line for line in out.splitlines() if line.startswith("journey"))
    for title in ("requests", "good", "p50", "p95", "p99", "slow", "budget", "burn 5m", "alert"):
        assert title in header
    rows = _table_rows(out)
    assert tuple(rows) == JOURNEYS
    # Every journey got traffic. Not a larger floor: export is 1.6 % of the calls, so a 6 s run
    # on a slow machine sends it about ten times, sometimes fewer (CI once counted 9).
    for name, cells in rows.items():
        assert int(cells[2].replace(",", "")) > 0, (name, cells)
    assert "Alert: checkout reached PAGE from" in out
    # What the clients saw is what the metrics counted.
    match = re.search(
        r"Clients sent ([\d,]+) requests and saw ([\d,]+) server errors \(5xx\); "
        r"the SLI metrics counted ([\d,]+) failures",
        out,
    )
    sent, seen, counted = (int(s.replace(",", "")) for s in match.groups())
    assert sent > 300 and seen == counted > 0
    # Progress went to stderr while it ran.
    assert "demo: starting the Flask example shop" in result.stderr
    report = tmp_path / "out" / "report.html"
    assert f"HTML report: {report}" in out
    html = report.read_text(encoding="utf-8")
    assert not EXTERNAL.search(html) and "<script" not in html and "<link" not in html
    for name in JOURNEYS:
        section = re.search(rf'<section[^>]*data-journey="{name}".*?</section>', html, re.S)
        assert section is not None, name
        charts = re.findall(r'data-chart="(\w+)"', section.group(0))
        assert charts == ["sli", "budget", "burn", "speed", "latency"], (name, charts)
    assert 'data-band="paging"' in html
    _check_otlp(result, otlp_receiver)


def _check_otlp(result, otlp_receiver):
    """--otlp-endpoint: a real receiver got the same numbers."""
    otlp_receiver.wait_for_metric("sli.journey.requests", timeout=10)
    values = totals(otlp_receiver.metrics)
    exported = {
        name: values[series_key("sli.journey.requests", **{"sli.journey": name})]
        for name in JOURNEYS
    }
    table = {
        name: int(cells[2].replace(",", "")) for name, cells in _table_rows(result.stdout).items()
    }
    sent = re.search(r"Clients sent ([\d,]+) requests", result.stdout).group(1)
    sent = int(sent.replace(",", ""))
    # The final export at shutdown carries every request the clients completed; the table shows
    # the state at the end of the run, before the requests in flight finished.
    assert sum(exported.values()) == sent
    for name in JOURNEYS:
        assert table[name] <= exported[name] <= table[name] + 12, name


def test_live_view_refreshes_and_pages_under_a_terminal(tmp_path):
    tmux = require_tool("tmux")
    socket = str(tmp_path / "tmux.sock")
    log = tmp_path / "final.txt"
    command = " ".join(
        [*map(str, CLI), "demo", "--duration", "10", "--out", str(tmp_path / "r.html")]
    )
    base = [tmux, "-S", socket]
    subprocess.run(
        [
            *base,
            "new-session",
            "-d",
            "-x",
            "170",
            "-y",
            "45",
            "-s",
            "demo",
            f"cd {tmp_path} && {command} > /dev/tty 2>&1; echo EXIT=$? > {log}; sleep 30",
        ],
        check=True,
        env=_env(TERM="xterm-256color"),
        timeout=10,
    )
    frames = []
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and not log.exists():
            screen = subprocess.run(
                [*base, "capture-pane", "-p", "-t", "demo"],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            ).stdout
            frames.append(screen)
            time.sleep(0.4)
    finally:
        subprocess.run([*base, "kill-server"], timeout=10, check=False)
    assert log.exists() and log.read_text().strip() == "EXIT=0", frames[-1:]
    clock = {m for f in frames for m in re.findall(r"\]\s+([\d.]+) s of 10 s", f)}
    assert len(clock) >= 5, clock  # redrawn in place, about every second
    live = [f for f in frames if " s of 10 s" in f]
    assert all(f.count("sli-instrument demo:") == 1 for f in live)  # in place, not scrolled
    paging = [f for f in live if re.search(r"^checkout .*PAGE\s*$", f, re.M)]
    assert paging, "the live table never showed checkout in PAGE"
    assert any("INCIDENT:" in f for f in live)
    assert any("checkout: OK -> PAGE" in f for f in frames)
    assert (tmp_path / "r.html").exists()


def test_usage_errors_are_one_line_with_exit_code_2(tmp_path):
    for args, message in (
        (("--duration", "1"), "invalid --duration 1: use 3 to 3600 seconds"),
        (
            ("--otlp-endpoint", "localhost:4318"),
            "invalid --otlp-endpoint 'localhost:4318': use a URL such as http://localhost:4318",
        ),
    ):
        result = _demo(tmp_path, *args, timeout=30)
        assert result.returncode == 2
        assert result.stderr.splitlines() == [f"sli-instrument: error: {message}"]
    result = _demo(tmp_path, "--app", "rails", timeout=30)
    assert result.returncode == 2 and "invalid choice: 'rails'" in result.stderr


def test_without_a_checkout_the_demo_says_so_in_one_line(tmp_path):
    result = _demo(tmp_path, "--duration", "3", SLI_DEMO_EXAMPLES=str(tmp_path), timeout=30)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("sli-instrument: error: SLI_DEMO_EXAMPLES=")
    assert "Traceback" not in result.stderr


DJANGO_SLO = """\
service: django-shop
journeys:
  browse: {availability: 99.9, latency: {threshold: 200ms, target: 99}}
  search: {availability: 99.5, latency: {threshold: 250ms, target: 95}}
  cart: {availability: 99.9, latency: {threshold: 200ms, target: 99}}
  checkout: {availability: 99.95, latency: {threshold: 300ms, target: 99}}
  export: {availability: 99, latency: {threshold: 2s, target: 95}}
"""


def test_django_example_with_its_own_slo_file_as_json(tmp_path):
    (tmp_path / "slo.yaml").write_text(DJANGO_SLO)
    result = _demo(tmp_path, "--app", "django", "--duration", "3", "--slo", "slo.yaml", "--json")
    assert result.returncode == 0, result.stderr
    assert "Django example shop" in result.stderr
    assert "Traceback" not in result.stderr  # induced 500s are not logged as news
    document = json.loads(result.stdout)
    assert document["service"] == "django-shop"
    assert [j["journey"] for j in document["journeys"]] == list(JOURNEYS)
    checkout = document["journeys"][3]
    assert checkout["objective"] == 99.95
    assert set(checkout["burn_rates"]) == {"5m", "30m", "1h", "6h", "3d"}
    assert checkout["failures"] > 0 and checkout["worst_state"] == "page"
    assert document["clients"]["server_errors"] == document["counted_failures"] > 0
    assert Path(document["report"]).exists()


def test_a_collector_that_is_not_there_is_one_line_before_anything_starts(tmp_path):
    with socket.socket() as probe:  # a free port, closed again: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    result = _demo(tmp_path, "--duration", "3", "--otlp-endpoint", url, timeout=30)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"sli-instrument: error: cannot reach the collector at {url} (Connection refused): "
        "start it, or run the demo without --otlp-endpoint"
    ]


def test_ctrl_c_stops_early_and_still_writes_the_report(tmp_path):
    process = subprocess.Popen(
        [*CLI, "demo", "--duration", "60", "--out", "r.html"],
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(3)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert re.search(r"Final state after \d+ s \(interrupted\)", out)
    assert tuple(_table_rows(out)) == JOURNEYS
    assert (tmp_path / "r.html").exists() and "Traceback" not in err
