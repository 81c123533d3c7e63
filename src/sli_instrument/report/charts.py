"""The HTML report's charts, one builder per chart and one plain sentence to read each.

Each builder turns a :class:`~sli_instrument.report.timeline.JourneyTimeline` into a
:class:`~sli_instrument.report.svg.Chart`; the captions are written for someone who has never
heard of burn rates.
"""

from __future__ import annotations

import math
import time
from html import escape
from typing import Callable, Optional

from .._duration import format_duration
from ..slo.model import LatencyObjective
from ._format import human_seconds, pct, seconds_tick
from .model import ReportData
from .svg import Band, Chart, Line, Threshold
from .timeline import PAGE, TICKET, JourneyTimeline

WINDOW_COLORS = ("#d62728", "#ff7f0e", "#9467bd", "#1f77b4", "#2ca02c", "#8c564b", "#17becf")
PERCENTILE_COLORS = {"p50": "#2ca02c", "p90": "#17becf", "p95": "#ff7f0e", "p99": "#d62728"}
STATE_COLORS = {PAGE: "#d62728", TICKET: "#e6a700"}
CLOCK_LABEL = "time (UTC)"

XFormat = Callable[[float], str]


def x_axis(t: JourneyTimeline, data: ReportData) -> tuple[XFormat, str]:
    """Tick labels and axis title: seconds into the run when time is compressed, else UTC."""
    if data.time_scale != 1:
        return (
            lambda v: f"{v:g}s",
            f"seconds since the first sample (1 s = {human_seconds(data.time_scale)} of SLO time)",
        )
    origin = t.series.timestamps[0] if t.series.timestamps else 0.0
    span = t.elapsed[-1] if t.elapsed else 0.0
    fmt = "%H:%M:%S" if span < 600 else "%H:%M" if span < 2 * 86400 else "%m-%d %H:%M"
    return (lambda v: time.strftime(fmt, time.gmtime(origin + v))), CLOCK_LABEL


def recent_label(t: JourneyTimeline) -> str:
    """The span of the "recent" availability: the shortest alert window, or one sample step when
    samples are further apart than that (a window never holds less than one step)."""
    span = t.recent_window
    if len(t.elapsed) >= 2:
        step = (t.elapsed[-1] - t.elapsed[0]) / (len(t.elapsed) - 1) * t.time_scale
        span = max(span, step)
    return format_duration(span)


def _origin(t: JourneyTimeline, x_label: str) -> Optional[float]:
    if x_label != CLOCK_LABEL or not t.series.timestamps:
        return None
    return t.series.timestamps[0]


def _points(
    t: JourneyTimeline, values: list[Optional[float]]
) -> list[tuple[float, Optional[float]]]:
    return list(zip(t.elapsed, values))


def _state_bands(t: JourneyTimeline, states: Optional[list[str]] = None) -> list[Band]:
    """Shaded spans where ``states`` (default: the availability alert) paged or ticketed."""
    alert = t.availability_alert if states is None else states
    bands: list[Band] = []
    start: Optional[int] = None
    for index, state in enumerate([*alert, ""]):
        previous = alert[index - 1] if index > 0 else ""
        if start is not None and state != previous:
            end_x = t.elapsed[min(index, len(t.elapsed) - 1)]
            bands.append(
                Band(
                    t.elapsed[start],
                    end_x,
                    STATE_COLORS[previous],
                    "paging" if previous == PAGE else "ticket open",
                )
            )
            start = None
        if start is None and state in STATE_COLORS and state != previous:
            start = index
    return bands


def sli_chart(t: JourneyTimeline, x_format: XFormat, x_label: str) -> Chart:
    chart = Chart(
        key="sli",
        x_origin=_origin(t, x_label),
        title=f"{t.name}: availability over time",
        y_label="good requests (%)",
        y_format=lambda v: f"{v:g}%",
        x_format=x_format,
        x_label=x_label,
        y_max=100.0,
        bands=_state_bands(t),
    )
    chart.lines.append(
        Line(
            "recent",
            f"last {recent_label(t)}",
            _points(t, t.availability_recent),
            "#1f77b4",
        )
    )
    chart.lines.append(
        Line("total", "since the start", _points(t, t.availability_total), "#6e7781", width=1.5)
    )
    values = [v for v in t.availability_recent + t.availability_total if v is not None]
    floor = min(values) if values else 99.0
    if t.objective is not None:
        chart.thresholds.append(
            Threshold(
                f"objective {pct(t.objective.availability)}", t.objective.availability, "#116329"
            )
        )
        floor = min(floor, t.objective.availability - (100 - t.objective.availability))
    chart.y_min = max(0.0, math.floor(floor - (100 - floor) * 0.1))
    return chart


def sli_caption(t: JourneyTimeline) -> str:
    recent = recent_label(t)
    if t.objective is None:
        return (
            f"<b>Availability:</b> the share of {escape(t.name)} requests that succeeded, over the "
            f"last {recent} (blue) and since the start (grey)."
        )
    return (
        f"<b>Availability:</b> the share of {escape(t.name)} requests that succeeded over the last "
        f"{recent} (blue) and since the start (grey); below the green dashed line of the objective "
        f"({pct(t.objective.availability)}), users get worse service than promised."
    )


def budget_chart(t: JourneyTimeline, x_format: XFormat, x_label: str) -> Chart:
    values = [None if v is None else v * 100 for v in t.budget_remaining]
    present = [v for v in values if v is not None]
    low = min(present) if present else 0.0
    chart = Chart(
        key="budget",
        x_origin=_origin(t, x_label),
        title=f"{t.name}: error budget remaining",
        y_label="budget left (%)",
        y_format=lambda v: f"{v:g}%",
        x_format=x_format,
        x_label=x_label,
        y_max=100.0,
        y_min=min(0.0, math.floor(low)) if low < 50 else math.floor(low - (100 - low) * 0.5 - 0.5),
        bands=_state_bands(t),
    )
    chart.lines.append(Line("budget", "budget remaining", _points(t, values), "#8250df"))
    if low <= 0:
        chart.thresholds.append(Threshold("budget exhausted", 0.0, "#a40e26"))
    return chart


def budget_caption(t: JourneyTimeline) -> str:
    assert t.objective is not None
    window = escape(t.objective.window.label)
    return (
        f"<b>Error budget:</b> the {pct(100 - t.objective.availability)} of requests that may "
        f"fail over {window} without breaking the objective; the line falls each time requests "
        "fail, and faster when they fail faster (this report assumes the part of the window before "
        "its first sample had no failures)."
    )


def burn_chart(t: JourneyTimeline, x_format: XFormat, x_label: str) -> Chart:
    chart = Chart(
        key="burn",
        x_origin=_origin(t, x_label),
        title=f"{t.name}: burn rates",
        y_label="burn rate (x budget pace)",
        y_format=lambda v: f"{v:g}x",
        x_format=x_format,
        x_label=x_label,
        y_min=0.0,
        bands=_state_bands(t),
    )
    for index, (seconds, window) in enumerate(sorted(t.burn.items())):
        chart.lines.append(
            Line(
                f"burn-{window.label}",
                f"{window.label}",
                _points(t, window.values),
                WINDOW_COLORS[index % len(WINDOW_COLORS)],
                width=1.5 if seconds < max(t.burn) else 2.0,
            )
        )
    seen: dict[tuple[str, float], list[str]] = {}
    for alert in t.alerts:
        pair = f"{format_duration(alert.long_window)}+{format_duration(alert.short_window)}"
        seen.setdefault((alert.severity, alert.burn_rate), []).append(pair)
    for (severity, rate), pairs in sorted(seen.items(), key=lambda item: -item[0][1]):
        chart.thresholds.append(
            Threshold(
                f"{severity} {rate:.3g}x ({', '.join(pairs)})",
                rate,
                STATE_COLORS.get(severity, "#57606a"),
            )
        )
    return chart


def burn_caption(t: JourneyTimeline) -> str:
    assert t.objective is not None
    window = escape(t.objective.window.label)
    return (
        "<b>Burn rate:</b> how many times faster than the sustainable pace the budget is being "
        f"spent, measured over several windows (1x spends exactly the budget in {window}); an "
        "alert fires when both the long and the short window of a pair cross its dashed line "
        "(red bands: page someone now, yellow: open a ticket)."
    )


def speed_chart(
    t: JourneyTimeline,
    latency: LatencyObjective,
    x_format: XFormat,
    x_label: str,
) -> Chart:
    chart = Chart(
        key="speed",
        title=f"{t.name}: fast enough",
        y_label="fast requests (%)",
        y_format=lambda v: f"{v:g}%",
        x_format=x_format,
        x_label=x_label,
        x_origin=_origin(t, x_label),
        y_max=100.0,
        bands=_state_bands(t, t.latency_alert),
    )
    recent = f"last {recent_label(t)}"
    chart.lines.append(Line("recent", recent, _points(t, t.fast_recent), "#1f77b4"))
    chart.lines.append(
        Line("total", "since the start", _points(t, t.fast_share), "#6e7781", width=1.5)
    )
    chart.thresholds.append(
        Threshold(f"objective {pct(latency.target)}", latency.target, "#116329")
    )
    values = [v for v in t.fast_recent + t.fast_share if v is not None]
    floor = min([*values, latency.target - (100 - latency.target)])
    chart.y_min = max(0.0, math.floor(floor - (100 - floor) * 0.1))
    return chart


def speed_caption(t: JourneyTimeline, latency: LatencyObjective) -> str:
    return (
        f"<b>Latency SLI:</b> the share of {escape(t.name)} requests that took at most "
        f"{format_duration(latency.threshold)}, over the last {recent_label(t)} (blue) and since "
        f"the start (grey); the objective is at least {pct(latency.target)}, and its own burn-rate "
        "alerts (same policy as availability) shade the chart when they fire."
    )


def latency_chart(t: JourneyTimeline, x_format: XFormat, x_label: str) -> Optional[Chart]:
    latency = t.series.latency
    if not latency or not any(v is not None for values in latency.values() for v in values):
        return None
    chart = Chart(
        key="latency",
        x_origin=_origin(t, x_label),
        title=f"{t.name}: latency percentiles",
        y_label="seconds",
        y_format=seconds_tick,
        x_format=x_format,
        x_label=x_label,
        y_min=0.0,
    )
    for key in sorted(latency, key=lambda k: float(k.lstrip("p") or 0)):
        color = PERCENTILE_COLORS.get(key, "#57606a")
        chart.lines.append(Line(key, key, _points(t, latency[key]), color))
    threshold = _threshold(t)
    if threshold is not None:
        chart.thresholds.append(
            Threshold(f"slow above {format_duration(threshold)}", threshold, "#a40e26")
        )
    return chart


def _threshold(t: JourneyTimeline) -> Optional[float]:
    if t.objective is not None and t.objective.latency is not None:
        return t.objective.latency.threshold
    return None


def latency_caption(t: JourneyTimeline) -> str:
    text = (
        "<b>Latency:</b> how long requests took, body included: half were faster than p50, 95% "
        "faster than p95 and 99% faster than p99"
    )
    threshold = _threshold(t)
    if threshold is not None and t.objective is not None and t.objective.latency is not None:
        text += (
            f"; requests above the red dashed line ({format_duration(threshold)}) count as slow, "
            f"and at least {pct(t.objective.latency.target)} must be faster than it"
        )
    return text + "."
