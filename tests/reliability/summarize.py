"""Print the numbers of the last reliability run (``out/reliability/*.json``) as Markdown tables.

    python tests/reliability/summarize.py [out/reliability]

docs/reliability.md quotes these tables; after a new run of scripts/load and scripts/faults, paste
the new ones there.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def _load(directory: Path, name: str) -> dict[str, Any]:
    path = directory / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 10 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def load_table(directory: Path) -> list[str]:
    rows = [
        "| | Flask shop, gunicorn (2 sync workers) | FastAPI shop, uvicorn (asyncio, h11) "
        "| Starlette, uvicorn (asyncio, h11) |",
        "|---|---:|---:|---:|",
    ]
    apps = [
        _load(directory, "load_flask_gunicorn"),
        _load(directory, "load_fastapi_uvicorn"),
        _load(directory, "load_starlette_uvicorn"),
    ]

    def row(label: str, key: Any) -> None:
        cells = []
        for app in apps:
            value = key(app) if callable(key) else app.get(key, "")
            cells.append(_fmt(value) if value != "" else "-")
        rows.append(f"| {label} | " + " | ".join(cells) + " |")

    row(
        "load on each variant (s): turns x seconds",
        lambda a: (
            f"{a.get('load_seconds_per_variant')}: {a.get('turns_per_variant')} x "
            f"{a.get('turn_seconds')}"
        ),
    )
    row("servers per variant (the turns go round them)", "replicas_per_variant")
    row("requests answered (instrumented)", "requests_answered_instrumented")
    row("requests recorded (OTLP, all workers)", "requests_recorded")
    row("of which readiness probes", "readiness_probes")
    row(
        "failures induced / recorded",
        lambda a: f"{a.get('failures_induced')} / {a.get('failures_recorded')}",
    )
    row("capacity bare (requests per server CPU-second)", "capacity_bare_requests_per_cpu_second")
    row(
        "capacity instrumented (requests per server CPU-second)",
        "capacity_instrumented_requests_per_cpu_second",
    )
    row(
        "capacity of each server, bare / instrumented (min - max)",
        lambda a: " / ".join(
            _spread(a.get("capacity_per_server", {}), part) for part in ("-bare-", "-instrumented-")
        ),
    )
    row("**capacity ratio, dedicated core**", "capacity_ratio")
    row(
        "the same ratio per window of 10 turns (min - max)",
        lambda a: _span(a.get("capacity_ratio_per_window", [])),
    )
    row(
        "server core busy while loaded (bare, instrumented)",
        lambda a: ", ".join(f"{v:.2f}" for v in a.get("server_busy_bare_instrumented", [])),
    )
    row(
        "capacity ratio, shared core (median; min - max)",
        lambda a: (
            f"{a.get('shared_core_capacity_ratio_median')}; "
            f"{_span(a.get('shared_core_capacity_ratio_per_slice', []))}"
        ),
    )
    row("wall-clock throughput ratio (medians of turns)", "throughput_ratio_of_medians")
    row(
        "p50 latency bare / instrumented (ms, median of slices)",
        lambda a: (
            f"{_median(a.get('p50_latency_ms_bare', [])):.2f} / "
            f"{_median(a.get('p50_latency_ms_instrumented', [])):.2f}"
        ),
    )
    row(
        "RSS slope after warm-up, instrumented (KiB/min)",
        lambda a: ", ".join(
            f"{v:+.0f}" for v in a.get("rss_slope_kib_per_min_instrumented", {}).values()
        ),
    )
    row(
        "RSS slope after warm-up, bare (KiB/min)",
        lambda a: ", ".join(f"{v:+.0f}" for v in a.get("rss_slope_kib_per_min_bare", {}).values()),
    )
    row("RSS growth after warm-up, instrumented (KiB)", "rss_growth_kib_instrumented")
    row(
        "threads per worker, instrumented / bare",
        lambda a: (
            f"{a.get('threads_per_worker_min_max')} / {a.get('threads_per_worker_min_max_bare')}"
        ),
    )
    return rows


def _span(values: list[float]) -> str:
    return f"{min(values):.3f} - {max(values):.3f}" if values else "-"


def _spread(per_server: dict[str, float], part: str) -> str:
    """Capacities of the servers whose name contains ``part``, as ``min - max``."""
    values = [v for name, v in per_server.items() if part in name]
    return f"{min(values):,.0f} - {max(values):,.0f}" if values else "-"


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


#: The reference run's variants, in the order of the report, with what each one is.
REFERENCES = (
    ("bare", "the app alone"),
    ("configured_only", "the app alone, sli_instrument configured but measuring nothing"),
    ("timing", "a minimal timing middleware (clock, status, two counters)"),
    ("sli_instrument", "sli_instrument, journeys named by decorators (OTLP export)"),
    ("sli_instrument_routes", "sli_instrument, journeys named by a route map (OTLP export)"),
    (
        "sli_instrument_no_propagation",
        "sli_instrument, decorators, `propagate=False` (OTLP export)",
    ),
    (
        "sli_instrument_context",
        'sli_instrument, decorators, `propagate="context"` (OTLP export)',
    ),
    ("prometheus", "a hand-written prometheus-client middleware"),
    ("opentelemetry", "OpenTelemetry's ASGI middleware, SDK meter provider, OTLP export"),
)


def reference_table(directory: Path) -> list[str]:
    run = _load(directory, "load_reference_starlette_uvicorn")
    capacity = run.get("capacity_requests_per_cpu_second", {})
    ratio = run.get("capacity_ratio_to_bare", {})
    answered = run.get("requests_answered", {})
    per_server = run.get("capacity_per_server", {})
    rows = [
        "| Starlette app under uvicorn, measured by | requests | capacity (per CPU-second) "
        "| its servers (min - max) | ratio to bare |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, label in REFERENCES:
        if name in capacity:
            rows.append(
                f"| {label} | {_fmt(answered.get(name))} | {_fmt(capacity[name])} "
                f"| {_spread(per_server, f'-{name}-')} | {ratio.get(name, 0):.3f} |"
            )
    return rows


def faults_table(directory: Path) -> list[str]:
    collector = _load(directory, "faults_collector")
    own = _load(directory, "faults_own_code")
    killed = _load(directory, "faults_worker_killed")
    rows = [
        "| phase | requests | mismatches | unanswered | p50 / p99 (ms) | max threads per worker "
        "| max RSS (MiB) | log lines | export attempts | exact again after (s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    phases: list[tuple[str, dict[str, Any]]] = []
    for name in (
        "healthy",
        "collector down since start",
        "collector answering 500",
        "collector answering 503",
        "collector refusing connections",
        "collector hanging",
    ):
        if name in collector:
            phases.append((name, collector[name]))
    for name in ("exporter raising", "recorder raising"):
        if name in own:
            phases.append((name, own[name]))
    if "while_respawning" in killed:
        phases.append(("worker SIGKILLed, respawning", killed["while_respawning"]))
    for name, p in phases:
        logs = p.get("new_log_lines")
        if "export_error_records" in p:
            logs = f"{logs} ({p['export_error_records']} records)"
        if "internal_error_records" in p:
            logs = f"{logs} ({p['internal_error_records']} internal-error records)"
        rows.append(
            f"| {name} | {_fmt(p.get('requests'))} | {p.get('mismatches')} | "
            f"{p.get('unanswered')} | {p.get('p50_ms')} / {p.get('p99_ms')} | "
            f"{p.get('max_threads_per_worker')} | {p.get('max_rss_mib')} | {logs} | "
            f"{p.get('export_attempts_seen_by_collector', '-')} | "
            f"{p.get('seconds_to_exact_counts_after_recovery', '-')} |"
        )
    return rows


def main(argv: list[str]) -> int:
    directory = Path(argv[1] if len(argv) > 1 else "out/reliability")
    print("## load\n")
    print("\n".join(load_table(directory)))
    print("\n## load, reference middlewares\n")
    print("\n".join(reference_table(directory)))
    print("\n## faults\n")
    print("\n".join(faults_table(directory)))
    for name in sorted(p.stem for p in directory.glob("*.json")):
        if name.startswith(("load_", "faults_collector", "faults_own")):
            continue
        print(f"\n## {name}\n")
        print(json.dumps(_load(directory, name), indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
