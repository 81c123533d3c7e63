"""Error-budget arithmetic: pure functions on counts, no OpenTelemetry.

Definitions (SRE Workbook, "Implementing SLOs" and "Alerting on SLOs"):

- **SLI** = good events / valid events = ``(total - bad) / total`` (availability: ``bad`` are
  ``sli.journey.failures``; latency: ``bad`` are ``sli.journey.slow``; ``total`` is
  ``sli.journey.requests``). No events: no SLI (``None``), never 100% or 0%.
- **error budget** = ``1 - objective``: the share of events allowed to be bad (0.001 for 99.9%).
  As time: ``error_budget * window`` (99.9% over 30 days = 43.2 minutes of total outage).
- **budget consumed** = error ratio / error budget over the SLO window; **budget remaining** =
  ``1 - consumed`` (negative once the SLO is breached); in minutes: ``remaining * budget minutes``.
- **burn rate** over a window = error ratio in that window / error budget. Burn rate 1 spends the
  budget exactly over the SLO window; 14.4 over 1h spends 2% of a 30-day budget.
- **time to exhaustion** at a burn rate ``b`` with ``r`` of the budget left =
  ``r * window / b`` (99.9% over 30 days at 1000x: 43200 min / 1000 = 43.2 minutes).

A window's ratio comes from count *differences* (:class:`CountSeries`), never from averaging the
ratios of shorter windows.
"""

from __future__ import annotations

import bisect
import calendar
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Optional

from .model import Window, budget_of

__all__ = [
    "BudgetStatus",
    "CountSeries",
    "budget_consumed",
    "budget_minutes",
    "budget_remaining",
    "budget_remaining_minutes",
    "budget_status",
    "burn_rate",
    "error_budget",
    "error_ratio",
    "sli",
    "time_to_exhaustion",
    "window_bounds",
]


def _check_counts(bad: float, total: float) -> None:
    if not (total >= 0 and bad >= 0) or math.isinf(total) or math.isinf(bad):
        raise ValueError(f"counts must be finite and >= 0: bad={bad!r}, total={total!r}")
    if bad > total:
        raise ValueError(f"bad events ({bad!r}) cannot exceed all events ({total!r})")


def error_ratio(bad: float, total: float) -> Optional[float]:
    """``bad / total``, or None when there were no events."""
    _check_counts(bad, total)
    return None if total == 0 else bad / total


def sli(bad: float, total: float) -> Optional[float]:
    """The good fraction ``(total - bad) / total``, or None when there were no events."""
    ratio = error_ratio(bad, total)
    return None if ratio is None else 1.0 - ratio


def error_budget(objective_percent: float) -> float:
    """``1 - objective``: 0.001 for 99.9."""
    if not 0.0 < objective_percent < 100.0:
        raise ValueError(f"objective {objective_percent!r} is not a percentage in (0, 100)")
    return budget_of(objective_percent)


def budget_minutes(objective_percent: float, window_seconds: float) -> float:
    """The error budget as minutes of total outage over the window (43.2 for 99.9% over 30d)."""
    return error_budget(objective_percent) * window_seconds / 60.0


def burn_rate(bad: float, total: float, objective_percent: float) -> Optional[float]:
    """Error ratio over error budget; None when there were no events."""
    ratio = error_ratio(bad, total)
    return None if ratio is None else ratio / error_budget(objective_percent)


def budget_consumed(bad: float, total: float, objective_percent: float) -> float:
    """Share of the window's budget spent by these counts (0 without events; may exceed 1)."""
    rate = burn_rate(bad, total, objective_percent)
    return 0.0 if rate is None else rate


def budget_remaining(bad: float, total: float, objective_percent: float) -> float:
    """``1 - consumed``: 1.0 untouched, 0.0 exactly spent, negative when the SLO is breached."""
    return 1.0 - budget_consumed(bad, total, objective_percent)


def budget_remaining_minutes(
    bad: float, total: float, objective_percent: float, window_seconds: float
) -> float:
    """The remaining budget as minutes of total outage still affordable in the window."""
    return budget_remaining(bad, total, objective_percent) * budget_minutes(
        objective_percent, window_seconds
    )


def time_to_exhaustion(remaining: float, rate: float, window_seconds: float) -> float:
    """Seconds until ``remaining`` (a fraction of the budget) is spent at burn rate ``rate``.

    ``inf`` when nothing burns; ``0`` when the budget is already spent.
    """
    if remaining <= 0:
        return 0.0
    if rate <= 0:
        return math.inf
    return remaining * window_seconds / rate


def window_bounds(window: Window, now: float) -> tuple[float, float]:
    """``(start, end)`` epoch seconds of the compliance window that ends at ``now``.

    Rolling windows end at ``now``; a calendar month starts at 00:00 UTC on the 1st of ``now``'s
    month and ends at the start of the next month.
    """
    if window.kind != "calendar-month":
        return now - window.seconds, now
    moment = datetime.fromtimestamp(now, tz=timezone.utc)
    start = datetime(moment.year, moment.month, 1, tzinfo=timezone.utc)
    days = calendar.monthrange(moment.year, moment.month)[1]
    return start.timestamp(), start.timestamp() + days * 86400.0


@dataclass
class CountSeries:
    """Cumulative ``total`` and ``bad`` counts sampled at ``timestamps`` (ascending epoch seconds).

    A window's counts are the differences between the samples at its ends (the last sample at or
    before each end), with counter resets (a count that goes down: the process restarted) handled
    the way Prometheus does: the count after a reset is added on top of the count before it.
    """

    timestamps: Sequence[float]
    totals: Sequence[float]
    bads: Sequence[float]
    _times: list[float] = field(init=False, repr=False)
    _total_sums: list[float] = field(init=False, repr=False)
    _bad_sums: list[float] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not len(self.timestamps) == len(self.totals) == len(self.bads):
            raise ValueError(
                f"count series lengths differ: {len(self.timestamps)} timestamps, "
                f"{len(self.totals)} totals, {len(self.bads)} bad counts"
            )
        if any(b < a for a, b in zip(self.timestamps, self.timestamps[1:])):
            raise ValueError("count series timestamps must be ascending")
        self._times = list(self.timestamps)
        self._total_sums = _reset_corrected(self.totals)
        self._bad_sums = _reset_corrected(self.bads)

    def _index(self, moment: float) -> int:
        """Index of the last sample at or before ``moment`` (the first sample if none)."""
        return max(bisect.bisect_right(self._times, moment) - 1, 0)

    def counts(self, window: float, now: Optional[float] = None) -> tuple[float, float]:
        """``(bad, total)`` within ``window`` seconds ending at ``now`` (default: the last sample).

        Before the first sample there is no data: a window reaching further back starts there.
        """
        if not self.timestamps:
            return 0.0, 0.0
        end_time = self.timestamps[-1] if now is None else now
        end = self._index(end_time)
        start = self._index(end_time - window)
        if self.timestamps[end] > end_time:
            return 0.0, 0.0
        total = self._total_sums[end] - self._total_sums[start]
        bad = self._bad_sums[end] - self._bad_sums[start]
        return max(bad, 0.0), max(total, 0.0)

    def ratio(self, window: float, now: Optional[float] = None) -> Optional[float]:
        """bad/total over the window, from counts; None without events."""
        bad, total = self.counts(window, now)
        return None if total <= 0 else min(bad / total, 1.0)


def _reset_corrected(values: Sequence[float]) -> list[float]:
    corrected: list[float] = []
    offset = 0.0
    previous: Optional[float] = None
    for value in values:
        if previous is not None and value < previous:
            offset += previous
        corrected.append(value + offset)
        previous = value
    return corrected


@dataclass(frozen=True)
class BudgetStatus:
    """One objective's budget over its window, from counts."""

    objective: float
    bad: float
    total: float
    window_seconds: float
    sli: Optional[float]
    error_budget: float
    consumed: float
    remaining: float
    remaining_minutes: float
    #: Burn rate over the whole window so far (1.0: on track to spend exactly the budget).
    burn_rate: Optional[float]


def budget_status(
    bad: float, total: float, objective_percent: float, window_seconds: float
) -> BudgetStatus:
    """Everything a report shows about one objective, from the window's counts."""
    return BudgetStatus(
        objective=objective_percent,
        bad=bad,
        total=total,
        window_seconds=window_seconds,
        sli=sli(bad, total),
        error_budget=error_budget(objective_percent),
        consumed=budget_consumed(bad, total, objective_percent),
        remaining=budget_remaining(bad, total, objective_percent),
        remaining_minutes=budget_remaining_minutes(bad, total, objective_percent, window_seconds),
        burn_rate=burn_rate(bad, total, objective_percent),
    )
