"""The state of every journey now: SLI, objective, budget remaining, burn rates, alert state.

Input: for each journey, the counts (requests, failures, slow) over each window that matters (the
SLO window and every window of its alert policy), as a report source reads them from a backend.
The arithmetic is :mod:`sli_instrument.slo.budget` and :mod:`sli_instrument.slo.policy`, so the
report, the demo and the generated alerts agree on every number.

Over the SLO window the counts are what the backend holds: with less history than the window, the
SLI and budget are those of the data there is (as Prometheus' ``increase()`` and CloudWatch sums
give them), not extrapolated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Optional

from .._duration import format_duration
from ..slo.budget import BudgetStatus, budget_status, burn_rate, window_bounds
from ..slo.model import AlertWindow, JourneyObjective, SLOSpec
from ..slo.policy import AlertEvaluation, evaluate_alerts_from_counts

SLIKind = Literal["availability", "latency"]


@dataclass(frozen=True)
class Counts:
    """Events of one journey in one window."""

    requests: float = 0.0
    failures: float = 0.0
    slow: float = 0.0

    def bad(self, kind: SLIKind) -> float:
        bad = self.failures if kind == "availability" else self.slow
        # Counters read at slightly different instants can disagree by an event or two.
        return min(max(bad, 0.0), max(self.requests, 0.0))


#: counts[journey][window_seconds]
WindowCounts = Mapping[str, Mapping[float, Counts]]


@dataclass(frozen=True)
class ObjectiveSummary:
    kind: SLIKind
    #: Target in percent.
    objective: float
    window_label: str
    window_seconds: float
    status: BudgetStatus
    #: Burn rate over each policy window (None: no events in that window).
    burn_rates: dict[float, Optional[float]]
    alerts: AlertEvaluation

    @property
    def state(self) -> str:
        return self.alerts.state

    @property
    def exhausted(self) -> bool:
        """The window's budget is spent (the SLO is breached)."""
        return self.status.total > 0 and self.status.remaining <= 0


@dataclass(frozen=True)
class JourneySummary:
    name: str
    objectives: tuple[ObjectiveSummary, ...]

    @property
    def state(self) -> str:
        states = {o.state for o in self.objectives}
        return "page" if "page" in states else "ticket" if "ticket" in states else "ok"

    @property
    def breached(self) -> bool:
        return any(o.exhausted for o in self.objectives)


@dataclass(frozen=True)
class Summary:
    service: str
    source: str
    generated_at: float
    journeys: tuple[JourneySummary, ...] = field(default=())

    @property
    def breached(self) -> bool:
        return any(j.breached for j in self.journeys)

    @property
    def paging(self) -> bool:
        return any(j.state == "page" for j in self.journeys)

    @property
    def exit_code(self) -> int:
        """1 when an SLO is breached or a page alert fires, else 0 (the report command's code)."""
        return 1 if self.breached or self.paging else 0


def windows_needed(objective: JourneyObjective, now: float) -> list[float]:
    """The SLO window (for a calendar month: the month so far) and every policy window."""
    found = {slo_window_seconds(objective, now)}
    for alert in objective.alerts:
        found.update((alert.long_window, alert.short_window))
    return sorted(found)


def slo_window_seconds(objective: JourneyObjective, now: float) -> float:
    start, _end = window_bounds(objective.window, now)
    return max(now - start, 60.0)


def summarize(spec: SLOSpec, counts: WindowCounts, *, now: float, source: str) -> Summary:
    journeys = []
    for objective in spec.journeys:
        mine = counts.get(objective.name, {})
        kinds: list[tuple[SLIKind, float]] = [("availability", objective.availability)]
        if objective.latency is not None:
            kinds.append(("latency", objective.latency.target))
        journeys.append(
            JourneySummary(
                objective.name,
                tuple(_objective(objective, kind, target, mine, now) for kind, target in kinds),
            )
        )
    return Summary(spec.service, source, now, tuple(journeys))


def _objective(
    objective: JourneyObjective,
    kind: SLIKind,
    target: float,
    counts: Mapping[float, Counts],
    now: float,
) -> ObjectiveSummary:
    window = slo_window_seconds(objective, now)
    whole = counts.get(window, Counts())
    status = budget_status(whole.bad(kind), max(whole.requests, 0.0), target, window)
    policy_counts = {}
    rates: dict[float, Optional[float]] = {}
    for alert in objective.alerts:
        for seconds in (alert.long_window, alert.short_window):
            c = counts.get(seconds, Counts())
            policy_counts[seconds] = (c.bad(kind), max(c.requests, 0.0))
            rates[seconds] = burn_rate(c.bad(kind), max(c.requests, 0.0), target)
    alerts = evaluate_alerts_from_counts(objective.alerts, status.error_budget, policy_counts)
    return ObjectiveSummary(
        kind=kind,
        objective=target,
        window_label=objective.window.label,
        window_seconds=window,
        status=status,
        burn_rates=dict(sorted(rates.items())),
        alerts=alerts,
    )


def to_json(summary: Summary) -> dict[str, Any]:
    """A JSON-ready dictionary (documented in docs/report.md)."""
    return {
        "service": summary.service,
        "source": summary.source,
        "generated_at": summary.generated_at,
        "breached": summary.breached,
        "paging": summary.paging,
        "exit_code": summary.exit_code,
        "journeys": [
            {
                "name": journey.name,
                "state": journey.state,
                "breached": journey.breached,
                "objectives": [_objective_json(o) for o in journey.objectives],
            }
            for journey in summary.journeys
        ],
    }


def _objective_json(o: ObjectiveSummary) -> dict[str, Any]:
    return {
        "sli": o.kind,
        "objective": o.objective,
        "window": o.window_label,
        "window_seconds": o.window_seconds,
        "requests": o.status.total,
        "bad": o.status.bad,
        "sli_value": o.status.sli,
        "error_budget": o.status.error_budget,
        "budget_remaining": o.status.remaining,
        "budget_remaining_minutes": o.status.remaining_minutes,
        "exhausted": o.exhausted,
        "burn_rates": {format_duration(w): rate for w, rate in o.burn_rates.items()},
        "state": o.state,
        "alerts": [
            _condition_json(c.alert, c.long_burn_rate, c.short_burn_rate, c.firing)
            for c in o.alerts.conditions
        ],
    }


def _condition_json(
    alert: AlertWindow, long_rate: Optional[float], short_rate: Optional[float], firing: bool
) -> dict[str, Any]:
    return {
        "severity": alert.severity,
        "long_window": format_duration(alert.long_window),
        "short_window": format_duration(alert.short_window),
        "threshold": alert.burn_rate,
        "long_burn_rate": long_rate,
        "short_burn_rate": short_rate,
        "firing": firing,
    }


def format_table(summary: Summary) -> str:
    """A plain-text table, one line per journey and SLI."""
    windows = sorted({w for j in summary.journeys for o in j.objectives for w in o.burn_rates})
    header = [
        "journey",
        "sli",
        "objective",
        "window",
        "SLI",
        "budget left",
        *(f"burn {format_duration(w)}" for w in windows),
        "state",
    ]
    rows = [header]
    for journey in summary.journeys:
        for o in journey.objectives:
            rows.append(
                [
                    journey.name,
                    o.kind,
                    f"{o.objective:g}%",
                    o.window_label,
                    _percent(o.status.sli),
                    "n/a" if o.status.total <= 0 else f"{o.status.remaining * 100:.1f}%",
                    *(_rate(o.burn_rates.get(w)) for w in windows),
                    ("BREACHED " if o.exhausted else "") + o.state.upper(),
                ]
            )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows
    ]
    verdict = (
        "SLO breached" if summary.breached else "page alert firing" if summary.paging else "ok"
    )
    title = f"{summary.service}: {verdict} (from {summary.source})"
    return "\n".join([title, *lines]) + "\n"


def _percent(value: Optional[float]) -> str:
    if value is None:
        return "no data"
    return f"{value * 100:.3f}%"


def _rate(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.2f}"
