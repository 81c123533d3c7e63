"""What a report shows at every sample time: windowed SLIs, budget remaining, burn rates, alerts.

Everything is computed from the cumulative counts of a ``JourneySeries`` by differences between
two samples, so a window's ratio is ``bad events / valid events`` inside that window (never an
average of shorter ratios). Windows are SLO-time durations (``1h``); with a ``time_scale`` above 1
(the demo compresses time) a window spans ``window / time_scale`` seconds of sample time.

Data rarely reach back a whole window (the demo covers one hour of a 28-day window; a report read
from Prometheus may cover a day of a 3-day alert window). The time before the first sample is
taken as *clean history*: as much traffic as the samples show, and no failures. So

* a burn rate over a window longer than the data is ``(bad / (valid * window / covered)) / budget``
  where ``covered`` is the SLO time the samples span (marked ``partial``);
* error budget remaining is ``1 - (bad / valid) / budget * min(1, covered / window)``; with a whole
  window of data it is the usual ``1 - (1 - SLI) / (1 - objective)``, and with one hour of data an
  incident shows the share of the month's budget it burned (``burn rate x duration / window``).

Without this, a short run would read as if its first minutes were the whole window, and a single
early failure would open a ticket.

Both SLIs of a journey are evaluated with the same alert policy: availability (bad = failures,
against the availability objective) and, when the journey has a latency objective, latency (bad =
slow events, against the latency target). A journey's alert state is the worse of the two.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Optional

from .._duration import format_duration
from ..slo.budget import budget_consumed, burn_rate, error_budget
from ..slo.model import AlertWindow, JourneyObjective
from ..slo.policy import evaluate_alerts_from_counts, policy_windows
from .model import JourneySeries, ReportData

OK = "ok"
TICKET = "ticket"
PAGE = "page"
NO_DATA = "no data"


@dataclass
class WindowSeries:
    """Burn rate over one window (SLO time) at every sample; None where the window saw no event."""

    seconds: float
    values: list[Optional[float]] = field(default_factory=list)
    #: True at samples where the data do not yet cover the whole window.
    partial: list[bool] = field(default_factory=list)

    @property
    def label(self) -> str:
        return format_duration(self.seconds)


@dataclass
class JourneyTimeline:
    series: JourneySeries
    time_scale: float
    #: Sample times in seconds since the first sample (sample time, not SLO time).
    elapsed: list[float] = field(default_factory=list)
    #: Availability in percent over the shortest alert window and over all the data.
    availability_recent: list[Optional[float]] = field(default_factory=list)
    availability_total: list[Optional[float]] = field(default_factory=list)
    recent_window: float = 300.0
    #: Latency SLI: share of valid events no slower than the threshold, in percent, over all the
    #: data and over the shortest alert window.
    fast_share: list[Optional[float]] = field(default_factory=list)
    fast_recent: list[Optional[float]] = field(default_factory=list)
    #: Availability error budget remaining, as a fraction of the window's budget (may go below 0).
    budget_remaining: list[Optional[float]] = field(default_factory=list)
    #: Burn rates of the availability SLI and (with a latency objective) of the latency SLI.
    burn: dict[float, WindowSeries] = field(default_factory=dict)
    latency_burn: dict[float, WindowSeries] = field(default_factory=dict)
    #: Alert state per SLI, and the worst of the two (what the summary and the live view show).
    availability_alert: list[str] = field(default_factory=list)
    latency_alert: list[str] = field(default_factory=list)
    alert: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.series.name

    @property
    def objective(self) -> Optional[JourneyObjective]:
        return self.series.objective

    @property
    def alerts(self) -> tuple[AlertWindow, ...]:
        return () if self.objective is None else self.objective.alerts

    def last(self, values: list[Optional[float]]) -> Optional[float]:
        return values[-1] if values else None

    @property
    def requests(self) -> float:
        return _delta(self.series.requests, 0, len(self.series.requests) - 1)

    @property
    def failures(self) -> float:
        return _delta(self.series.failures, 0, len(self.series.failures) - 1)

    @property
    def slow(self) -> float:
        return _delta(self.series.slow, 0, len(self.series.slow) - 1)

    @property
    def state(self) -> str:
        return self.alert[-1] if self.alert else NO_DATA

    def ever(self, state: str) -> bool:
        return state in self.alert


def _delta(values: list[float], start: int, end: int) -> float:
    if not values or end < 0:
        return 0.0
    return max(0.0, values[end] - (values[start] if start >= 0 else 0.0))


def _window_start(times: list[float], index: int, span: float) -> tuple[int, bool]:
    """The sample to difference against for a window of ``span`` ending at sample ``index``.

    The latest sample at or before ``times[index] - span``; the first sample (partial) if none.
    """
    target = times[index] - span
    position = bisect.bisect_right(times, target + 1e-9) - 1
    if position < 0:
        return 0, True
    return position, False


def _percent(good: float, total: float) -> Optional[float]:
    return None if total <= 0 else 100.0 * good / total


def analyse_series(series: JourneySeries, time_scale: float = 1.0) -> JourneyTimeline:
    scale = time_scale if time_scale > 0 else 1.0
    times = list(series.timestamps)
    timeline = JourneyTimeline(series=series, time_scale=scale)
    if not times:
        return timeline
    origin = times[0]
    objective = series.objective
    windows = policy_windows(timeline.alerts)
    if windows:
        timeline.recent_window = windows[0]
    for seconds in windows:
        timeline.burn[seconds] = WindowSeries(seconds=seconds)
        if objective is not None and objective.latency is not None:
            timeline.latency_burn[seconds] = WindowSeries(seconds=seconds)
    requests, failures, slow = series.requests, series.failures, series.slow
    for index, now in enumerate(times):
        timeline.elapsed.append(now - origin)
        total = _delta(requests, 0, index)
        bad = min(_delta(failures, 0, index), total)
        slow_total = min(_delta(slow, 0, index), total)
        timeline.availability_total.append(_percent(total - bad, total))
        start, _ = _window_start(times, index, timeline.recent_window / scale)
        recent_total = _delta(requests, start, index)
        recent_bad = min(_delta(failures, start, index), recent_total)
        recent_slow = min(_delta(slow, start, index), recent_total)
        timeline.availability_recent.append(_percent(recent_total - recent_bad, recent_total))
        timeline.fast_share.append(_percent(total - slow_total, total) if slow else None)
        timeline.fast_recent.append(
            _percent(recent_total - recent_slow, recent_total) if slow else None
        )
        if objective is None:
            timeline.budget_remaining.append(None)
            timeline.alert.append(NO_DATA if total <= 0 else OK)
            continue
        covered = min(1.0, (now - origin) * scale / objective.window.seconds)
        consumed = budget_consumed(bad, total, objective.availability) * covered
        timeline.budget_remaining.append(1.0 - consumed)
        state = _burn_and_alert(
            timeline, timeline.burn, failures, objective.availability, index, scale
        )
        timeline.availability_alert.append(state)
        if objective.latency is not None:
            latency_state = _burn_and_alert(
                timeline, timeline.latency_burn, slow, objective.latency.target, index, scale
            )
            timeline.latency_alert.append(latency_state)
            state = _worst(state, latency_state)
        timeline.alert.append(state)
    return timeline


_SEVERITY = {NO_DATA: 0, OK: 1, TICKET: 2, PAGE: 3}


def _worst(a: str, b: str) -> str:
    return a if _SEVERITY.get(a, 0) >= _SEVERITY.get(b, 0) else b


def _burn_and_alert(
    timeline: JourneyTimeline,
    burn: dict[float, WindowSeries],
    bad_counts: list[float],
    objective_percent: float,
    index: int,
    scale: float,
) -> str:
    """Append each window's burn rate at sample ``index``; return the alert state there."""
    series = timeline.series
    times, requests = series.timestamps, series.requests
    origin, now = times[0], times[index]
    counts: dict[float, tuple[float, float]] = {}
    for seconds, window in burn.items():
        span = seconds / scale
        start, partial = _window_start(times, index, span)
        window_total = _delta(requests, start, index)
        window_bad = min(_delta(bad_counts, start, index), window_total)
        if partial and now > origin:
            # Clean history: the part of the window before the first sample had traffic at the
            # observed pace and no bad events.
            window_total *= span / (now - origin)
        counts[seconds] = (window_bad, window_total)
        window.values.append(burn_rate(window_bad, window_total, objective_percent))
        window.partial.append(partial)
    if _delta(requests, 0, index) <= 0:
        return NO_DATA
    return evaluate_alerts_from_counts(
        timeline.alerts, error_budget(objective_percent), counts
    ).state


def analyse(data: ReportData) -> list[JourneyTimeline]:
    return [analyse_series(series, data.time_scale) for series in data.journeys]
