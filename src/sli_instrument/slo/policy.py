"""The alert policy: the SRE Workbook's multi-window, multi-burn-rate alerts (chapter 5).

Definitions (Workbook, "Alerting on SLOs"):

- *error budget* = 1 - objective (0.001 for 99.9%);
- *burn rate* = observed error ratio / error budget: how fast, relative to the SLO, the budget is
  spent. Burn rate 1 spends exactly the whole budget in the SLO window;
- a condition "``budget`` of the budget burns within ``long``" fires at burn rate
  ``budget * window / long``. The Workbook's defaults for a 30-day window:

  ========  ======  =====  ==================  =========
  severity  long    short  budget consumed     burn rate
  ========  ======  =====  ==================  =========
  page      1h      5m     2%                  14.4
  page      6h      30m    5%                  6
  ticket    3d      6h     10%                 1
  ========  ======  =====  ==================  =========

  The *fractions* are the policy; the factors follow from the window: 28 days gives 13.44, 5.6 and
  0.9333; 7 days gives 3.36, 1.4 and 0.2333.
- a condition fires when the burn rate over the long window AND over the short window are both
  strictly above its factor, i.e. when both windows' error ratios are above
  ``factor * error_budget``. The short window (1/12 of the long one by default) makes the alert
  reset soon after the problem stops. Page conditions are OR'ed, then ticket conditions.
- a condition whose ratio threshold is 1 or more can never fire (the error ratio is at most 1):
  e.g. a 90% objective with "2% in 1h" over 30 days needs an error ratio of 14.4 * 0.1 = 1.44.
- with little traffic one failure can be a large ratio: at ``r`` requests per second, a single
  failure alone is an error ratio of ``1 / (r * long)`` over the long window (and more over the
  short one), so it fires the condition when ``1 / (r * long) > factor * error_budget``.

Ratios over a window are computed from counts (``slo.budget.CountSeries``), never by averaging the
ratios of shorter windows: an average of ratios weighs a quiet minute as much as a busy one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Callable, Literal, Optional

from .._duration import format_duration
from .model import AlertWindow, JourneyObjective, Window

__all__ = [
    "DEFAULT_POLICY",
    "AlertEvaluation",
    "ConditionResult",
    "alert_window",
    "burn_rate_factor",
    "default_alerts",
    "evaluate_alerts",
    "evaluate_alerts_from_counts",
    "low_traffic_warnings",
    "never_fires_warnings",
    "policy_windows",
]

HOUR = 3600.0
DAY = 86400.0

#: (severity, long window s, short window s, budget fraction): the Workbook's recommended policy.
DEFAULT_POLICY: tuple[tuple[Literal["page", "ticket"], float, float, float], ...] = (
    ("page", 1 * HOUR, 5 * 60.0, 0.02),
    ("page", 6 * HOUR, 30 * 60.0, 0.05),
    ("ticket", 3 * DAY, 6 * HOUR, 0.10),
)

State = Literal["page", "ticket", "ok"]


def burn_rate_factor(budget_fraction: float, long_window: float, slo_window: float) -> float:
    """The burn rate at which ``budget_fraction`` of the budget burns in ``long_window`` seconds."""
    return budget_fraction * slo_window / long_window


def alert_window(
    severity: Literal["page", "ticket"],
    long_window: float,
    short_window: float,
    budget_fraction: float,
    window: Window,
) -> AlertWindow:
    return AlertWindow(
        severity=severity,
        long_window=long_window,
        short_window=short_window,
        budget_fraction=budget_fraction,
        burn_rate=burn_rate_factor(budget_fraction, long_window, window.seconds),
    )


def default_alerts(window: Window) -> tuple[AlertWindow, ...]:
    """The Workbook policy with its burn-rate factors derived from ``window``."""
    return tuple(
        alert_window(severity, long, short, fraction, window)
        for severity, long, short, fraction in DEFAULT_POLICY
    )


def policy_windows(alerts: Sequence[AlertWindow]) -> tuple[float, ...]:
    """Every distinct window (seconds) the conditions look at, ascending."""
    return tuple(sorted({w for a in alerts for w in (a.long_window, a.short_window)}))


@dataclass(frozen=True)
class ConditionResult:
    alert: AlertWindow
    long_ratio: Optional[float]
    short_ratio: Optional[float]
    #: Ratio both windows must exceed.
    threshold: float
    firing: bool
    error_budget: float

    @property
    def long_burn_rate(self) -> Optional[float]:
        return None if self.long_ratio is None else self.long_ratio / self.error_budget

    @property
    def short_burn_rate(self) -> Optional[float]:
        return None if self.short_ratio is None else self.short_ratio / self.error_budget


@dataclass(frozen=True)
class AlertEvaluation:
    #: ``page`` if any page condition fires, else ``ticket`` if any ticket condition fires, else ok.
    state: State
    conditions: tuple[ConditionResult, ...]

    @property
    def firing(self) -> tuple[ConditionResult, ...]:
        return tuple(c for c in self.conditions if c.firing)


def evaluate_alerts(
    alerts: Sequence[AlertWindow],
    error_budget: float,
    error_ratio: Callable[[float], Optional[float]],
) -> AlertEvaluation:
    """Evaluate the conditions; ``error_ratio(window_seconds)`` is bad/total over that window.

    A window without events (``None``) never fires: no traffic burns no budget.
    """
    results = []
    for alert in alerts:
        threshold = alert.error_ratio_threshold(error_budget)
        long_ratio = error_ratio(alert.long_window)
        short_ratio = error_ratio(alert.short_window)
        firing = (
            long_ratio is not None
            and short_ratio is not None
            and long_ratio > threshold
            and short_ratio > threshold
        )
        results.append(
            ConditionResult(alert, long_ratio, short_ratio, threshold, firing, error_budget)
        )
    state: State = "ok"
    if any(r.firing and r.alert.severity == "page" for r in results):
        state = "page"
    elif any(r.firing for r in results):
        state = "ticket"
    return AlertEvaluation(state, tuple(results))


def evaluate_alerts_from_counts(
    alerts: Sequence[AlertWindow],
    error_budget: float,
    counts: Mapping[float, tuple[float, float]],
) -> AlertEvaluation:
    """Like :func:`evaluate_alerts`, from ``{window_seconds: (bad, total)}`` over each window."""

    def ratio(window: float) -> Optional[float]:
        bad, total = counts[window]
        return None if total <= 0 else bad / total

    return evaluate_alerts(alerts, error_budget, ratio)


def _what(objective: JourneyObjective, alert: AlertWindow) -> str:
    return (
        f"{alert.severity} alert '{alert.budget_fraction * 100:g}% of the budget in "
        f"{format_duration(alert.long_window)}' (burn rate {alert.burn_rate:.4g})"
    )


def _objectives(objective: JourneyObjective) -> list[tuple[str, float]]:
    found = [(f"availability {objective.availability:g}%", objective.error_budget)]
    if objective.latency is not None:
        found.append(
            (f"latency target {objective.latency.target:g}%", objective.latency.error_budget)
        )
    return found


def never_fires_warnings(objective: JourneyObjective, where: str = "") -> list[str]:
    """Sentences for every condition that needs an error ratio of 1 or more, so can never fire."""
    prefix = f"{where}: " if where else ""
    found = []
    for label, budget in _objectives(objective):
        for alert in objective.alerts:
            threshold = alert.error_ratio_threshold(budget)
            if threshold >= 1.0:
                found.append(
                    f"{prefix}journey {objective.name!r}: the {_what(objective, alert)} can never "
                    f"fire for {label}: it needs an error ratio above {threshold:.4g}, and a ratio "
                    "is at most 1; lower the budget fraction or raise the objective"
                )
    return found


def low_traffic_warnings(
    objective: JourneyObjective, requests_per_second: float, where: str = ""
) -> list[str]:
    """Sentences for every condition that a single failure would fire at this request rate."""
    if requests_per_second <= 0:
        return []
    prefix = f"{where}: " if where else ""
    found = []
    for label, budget in _objectives(objective):
        for alert in objective.alerts:
            threshold = alert.error_ratio_threshold(budget)
            expected = requests_per_second * alert.long_window
            if threshold < 1.0 and 1.0 / expected > threshold:
                found.append(
                    f"{prefix}journey {objective.name!r}: at {requests_per_second:g} requests/s a "
                    f"single failure fires the {_what(objective, alert)} for {label}: about "
                    f"{expected:.3g} requests in {format_duration(alert.long_window)}, so one "
                    f"failure is an error ratio of {1.0 / expected:.3g} > {threshold:.3g}; "
                    "consider a longer window, a lower objective or synthetic traffic"
                )
    return found
