"""The typed model of an SLO file. Pure data: no OpenTelemetry, no YAML.

The loader (``slo/loader.py``) builds these from ``slo.yaml``; the math (``slo/budget.py``,
``slo/policy.py``), the generators (``generate/``) and ``report`` read them.
Percentages are kept as written (99.9), durations in seconds, budgets as fractions (0.02 for 2%).

Every :class:`JourneyObjective` carries its *resolved* alert conditions (the file's overrides, else
``defaults.alerts``, else the SRE Workbook policy derived from the window), so consumers never have
to re-derive anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, Optional

Severity = Literal["page", "ticket"]


def budget_of(percent: float) -> float:
    """``1 - percent / 100`` without binary noise: 0.001 for 99.9, not 0.0009999999999998899.

    Computed in decimal from the percentage as written (its shortest repr), so thresholds printed
    in generated rules and alarms read as people wrote them.
    """
    return float((Decimal(100) - Decimal(repr(float(percent)))) / Decimal(100))


@dataclass(frozen=True)
class Window:
    """The compliance window: rolling (``7d``, ``28d``, ``30d``) or the calendar month."""

    kind: Literal["rolling", "calendar-month"]
    #: Length in seconds (for ``calendar-month``: 30 days, the length the burn-rate factors use).
    seconds: float
    #: As written in the file: ``"28d"`` or ``"calendar-month"``.
    label: str

    @property
    def days(self) -> float:
        return self.seconds / 86400.0

    @property
    def minutes(self) -> float:
        return self.seconds / 60.0


@dataclass(frozen=True)
class AlertWindow:
    """One multi-window burn-rate condition (SRE Workbook, chapter 5, approach 6).

    It fires when the burn rate over ``long_window`` AND over ``short_window`` both exceed
    ``burn_rate``; ``burn_rate = budget_fraction * window / long_window``.
    """

    severity: Severity
    long_window: float
    short_window: float
    #: Fraction of the whole error budget that this condition lets burn in ``long_window``.
    budget_fraction: float
    burn_rate: float

    def error_ratio_threshold(self, error_budget: float) -> float:
        """The bad/total ratio above which this condition fires for an SLO with ``error_budget``."""
        return self.burn_rate * error_budget


@dataclass(frozen=True)
class LatencyObjective:
    """``target`` percent of valid events must take at most ``threshold`` seconds."""

    threshold: float
    target: float

    @property
    def error_budget(self) -> float:
        """Allowed fraction of slow events: 1 - target (0.01 for 99)."""
        return budget_of(self.target)


@dataclass(frozen=True)
class JourneyObjective:
    name: str
    #: Availability objective in percent, 0 < x < 100 (e.g. 99.9).
    availability: float
    latency: Optional[LatencyObjective]
    window: Window
    alerts: tuple[AlertWindow, ...]
    #: Route templates that belong to this journey (the middleware maps them to it).
    routes: tuple[str, ...] = ()
    description: str = ""
    #: Line of the journey's entry in the file (for messages).
    line: Optional[int] = field(default=None, compare=False)
    #: Expected requests per second (``expected_rate``), only used to warn about low traffic.
    expected_rate: Optional[float] = None

    @property
    def pages(self) -> tuple[AlertWindow, ...]:
        return tuple(a for a in self.alerts if a.severity == "page")

    @property
    def tickets(self) -> tuple[AlertWindow, ...]:
        return tuple(a for a in self.alerts if a.severity == "ticket")

    @property
    def error_budget(self) -> float:
        """Allowed fraction of bad events: 1 - objective (0.001 for 99.9)."""
        return budget_of(self.availability)


@dataclass(frozen=True)
class SLOSpec:
    service: str
    journeys: tuple[JourneyObjective, ...]
    #: Where it came from (a path, or ``<string>``).
    source: str = field(default="<string>", compare=False)
    #: Warnings found while loading (alerts that can never fire, ...), as full sentences.
    warnings: tuple[str, ...] = field(default=(), compare=False)
    #: ``journey_cap`` from the file (None: the registry's cap applies).
    journey_cap: Optional[int] = None
    description: str = ""

    def journey(self, name: str) -> JourneyObjective:
        for objective in self.journeys:
            if objective.name == name:
                return objective
        raise KeyError(name)

    @property
    def journey_names(self) -> tuple[str, ...]:
        return tuple(objective.name for objective in self.journeys)

    def route_map(self) -> dict[str, str]:
        """Route template -> journey name, for the middleware."""
        return {route: j.name for j in self.journeys for route in j.routes}

    def apply_to_registry(self, registry: Any) -> None:
        """Register every journey, with the latency thresholds of this file (the source of truth).

        A ``journey_cap`` in the file raises the registry's cap (never lowers it) first.
        """
        if self.journey_cap is not None and self.journey_cap > registry.cap:
            registry.set_cap(self.journey_cap, source=f"SLO file {self.source}")
        for objective in self.journeys:
            where = f"{self.source}" + (f":{objective.line}" if objective.line else "")
            registry.register(objective.name, source=f"SLO file {where}")
            if objective.latency is not None:
                registry.override_threshold(
                    objective.name, objective.latency.threshold, source=f"SLO file {where}"
                )
