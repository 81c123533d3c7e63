"""The demo's last words: the final table (or JSON), the alerts that fired, the report's path."""

from __future__ import annotations

import json
import shutil
from typing import Optional, TextIO

from ..report.timeline import PAGE, TICKET, JourneyTimeline
from . import view
from .model import AlertEvent, DemoResult


def alert_events(timelines: list[JourneyTimeline]) -> list[AlertEvent]:
    """Every change of alert state: (seconds into the run, journey, from, to)."""
    events = []
    for t in timelines:
        previous = "ok"
        for elapsed, state in zip(t.elapsed, t.alert):
            state = state if state in (PAGE, TICKET) else "ok"
            if state != previous:
                events.append((elapsed, t.name, previous, state))
                previous = state
    return sorted(events)


def print_json(result: DemoResult, elapsed: float, scale: float, out: TextIO) -> None:
    def last(values: list[Optional[float]]) -> Optional[float]:
        return values[-1] if values else None

    journeys = []
    worst = view.worst_states(result.timelines)
    for t in result.timelines:
        journeys.append(
            {
                "journey": t.name,
                "objective": None if t.objective is None else t.objective.availability,
                "requests": int(t.requests),
                "failures": int(t.failures),
                "slow": int(t.slow),
                "availability": last(t.availability_total),
                "budget_remaining": last(t.budget_remaining),
                "burn_rates": {w.label: last(w.values) for _, w in sorted(t.burn.items())},
                "latency_seconds": {k: last(v) for k, v in t.series.latency.items()},
                "state": t.state,
                "worst_state": worst[t.name],
            }
        )
    document = {
        "service": result.data.service,
        "seconds": round(elapsed, 3),
        "time_scale": scale,
        "interrupted": result.interrupted,
        "journeys": journeys,
        "alerts": [
            {"seconds": round(e[0], 3), "journey": e[1], "from": e[2], "to": e[3]}
            for e in result.events
        ],
        "clients": {
            "sent": sum(t.sent for t in result.tally.values()),
            "server_errors": sum(t.server_errors for t in result.tally.values()),
        },
        "counted_failures": result.counted_failures,
        "report": str(result.report_path),
    }
    print(json.dumps(document, indent=2), file=out, flush=True)


def print_table(result: DemoResult, elapsed: float, scale: float, out: TextIO, live: bool) -> None:
    lines = []
    if live:
        lines.append("")
    simulated = elapsed * scale / 3600
    lines.append(
        f"Final state after {elapsed:.0f} s{' (interrupted)' if result.interrupted else ''} "
        f"(= {simulated:.2g} hour of SLO time at 1 s = {scale / 60:g} min):"
    )
    width = shutil.get_terminal_size((200, 40)).columns if live else 200
    lines += view.table(result.timelines, width=width, color=False)
    lines.append("")
    worst = view.worst_states(result.timelines)
    for name, state in worst.items():
        if state in (PAGE, TICKET):
            spans = _spans(result.events, name, state)
            lines.append(f"Alert: {name} reached {state.upper()} {spans}.")
    if not any(state in (PAGE, TICKET) for state in worst.values()):
        lines.append("Alerts: none fired.")
    sent = sum(t.sent for t in result.tally.values())
    server_errors = sum(t.server_errors for t in result.tally.values())
    failures = result.counted_failures
    lines.append(
        f"Clients sent {sent:,} requests and saw {server_errors:,} server errors (5xx); "
        f"the SLI metrics counted {failures:,.0f} failures."
    )
    lines.append(f"HTML report: {result.report_path}")
    print("\n".join(lines), file=out, flush=True)


def _spans(events: list[AlertEvent], journey: str, state: str) -> str:
    parts = []
    start: Optional[float] = None
    for elapsed, name, _, to in events:
        if name != journey:
            continue
        if to == state and start is None:
            start = elapsed
        elif to != state and start is not None:
            parts.append(f"from {start:.1f} s to {elapsed:.1f} s")
            start = None
    if start is not None:
        parts.append(f"from {start:.1f} s to the end")
    return ", ".join(parts)
