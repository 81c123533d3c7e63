"""The HTML report: one self-contained file (inline CSS and SVG, no script, no network).

Per journey: the SLI over time against its objective, the error budget burning down, burn rates
against the page and ticket thresholds, and latency percentiles, each with one plain sentence that
says how to read it. ``render(data)`` is used by ``sli-instrument report --html`` and by the demo.
"""

from __future__ import annotations

import math
import time
from html import escape
from typing import Callable, Optional

from .._duration import format_duration
from ..slo.model import LatencyObjective
from .model import ReportData
from .svg import Band, Chart, Line, Threshold, render_chart
from .timeline import PAGE, TICKET, JourneyTimeline, analyse

__all__ = ["render"]

_WINDOW_COLORS = ("#d62728", "#ff7f0e", "#9467bd", "#1f77b4", "#2ca02c", "#8c564b", "#17becf")
_PERCENTILE_COLORS = {"p50": "#2ca02c", "p90": "#17becf", "p95": "#ff7f0e", "p99": "#d62728"}
_STATE_COLORS = {PAGE: "#d62728", TICKET: "#e6a700"}
_CLOCK_LABEL = "time (UTC)"

_CSS = """
body{font:15px/1.5 -apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1b1f23;
margin:0;background:#f6f8fa}
main{max-width:1360px;margin:0 auto;padding:24px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:21px;margin:0 0 8px}
.meta{color:#57606a;margin:0 0 16px}
.intro{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:12px 16px;
margin-bottom:20px}
table.summary{border-collapse:collapse;background:#fff;margin-bottom:24px;width:100%}
table.summary th,table.summary td{border:1px solid #d0d7de;padding:6px 10px;text-align:right}
table.summary th:first-child,table.summary td:first-child{text-align:left}
section.journey{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:16px;
margin-bottom:24px}
.headline{color:#24292f;margin:0 0 12px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:16px}
figure{margin:0}figcaption{color:#424a53;font-size:14px;max-width:640px}
figcaption b{color:#1b1f23}
svg.chart{max-width:100%;height:auto;font-size:11px;font-family:inherit}
svg .plot{fill:#fff;stroke:#d0d7de}
svg line.grid{stroke:#eaeef2}
svg .tick{fill:#57606a}
svg .axis-label,svg .legend-label{fill:#24292f}
svg line.threshold{stroke-width:1.5}
.state{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:600;font-size:13px}
.state-ok{background:#dafbe1;color:#116329}
.state-ticket{background:#fff8c5;color:#7d4e00}
.state-page{background:#ffebe9;color:#a40e26}
.state-nodata{background:#eaeef2;color:#57606a}
.note{color:#57606a;font-style:italic}
"""


def render(data: ReportData) -> str:
    """The whole report as one HTML document (UTF-8 text)."""
    # Most urgent first: journeys that paged, then those with a ticket, then the rest (stable).
    timelines = sorted(analyse(data), key=_urgency)
    generated = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(data.generated_at))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>SLO report: {escape(data.service)}</title>",
        f"<style>{_CSS}</style></head><body><main>",
        f"<h1>SLO report: {escape(data.service)}</h1>",
        f'<p class="meta">Source: {escape(data.source)} &middot; generated {generated}'
        f"{_span_text(timelines)}</p>",
        _intro(data),
        _summary(timelines),
    ]
    for timeline in timelines:
        parts.append(_journey_section(timeline, data))
    if not timelines:
        parts.append('<p class="note">No journey has data yet.</p>')
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"


def _urgency(timeline: JourneyTimeline) -> int:
    return 0 if timeline.ever(PAGE) else 1 if timeline.ever(TICKET) else 2


def _span_text(timelines: list[JourneyTimeline]) -> str:
    spans = [t.elapsed[-1] for t in timelines if t.elapsed]
    if not spans:
        return ""
    return f" &middot; {escape(_human_seconds(max(spans)))} of samples"


def _intro(data: ReportData) -> str:
    text = (
        "<b>How to read this report.</b> A <i>journey</i> is something a user does (check out, "
        "search); its <i>SLI</i> is the share of its requests that went well, and its <i>SLO</i> "
        "(objective) is the share you promise, such as 99.9%. The remaining 0.1% is the "
        "<i>error budget</i>: failures you can afford over the SLO window. The <i>burn rate</i> "
        "says how fast that budget is being spent: 1 means it lasts exactly the window, 14.4 means "
        "2% of a 30-day budget is gone in one hour, which is worth waking someone up for."
    )
    if data.time_scale != 1:
        text += (
            f" <b>Time is compressed</b> in this report: one second of samples stands for "
            f"{escape(_human_seconds(data.time_scale))} of SLO time, so burn-rate windows of "
            "minutes and hours span seconds here."
        )
    return f'<div class="intro">{text}</div>'


def _state_badge(state: str) -> str:
    css = state.replace(" ", "")
    return f'<span class="state state-{css}">{escape(state.upper())}</span>'


def _summary(timelines: list[JourneyTimeline]) -> str:
    rows = [
        '<table class="summary"><thead><tr><th>Journey</th><th>Requests</th><th>Failures</th>'
        "<th>Availability</th><th>Objective</th><th>Slow</th><th>Error budget</th>"
        "<th>Worst state</th><th>State now</th></tr></thead><tbody>"
    ]
    for t in timelines:
        objective = t.objective
        worst = PAGE if t.ever(PAGE) else TICKET if t.ever(TICKET) else t.state
        rows.append(
            f'<tr data-journey="{escape(t.name)}"><td><a href="#journey-{escape(t.name)}">'
            f"{escape(t.name)}</a></td><td>{t.requests:,.0f}</td><td>{t.failures:,.0f}</td>"
            f"<td>{_pct(t.last(t.availability_total))}</td>"
            f"<td>{'&mdash;' if objective is None else _pct(objective.availability)}</td>"
            f"<td>{_pct(_share(t.slow, t.requests))}</td>"
            f"<td>{_budget_text(t)}</td>"
            f"<td>{_state_badge(worst)}</td><td>{_state_badge(t.state)}</td></tr>"
        )
    rows.append("</tbody></table>")
    return "".join(rows)


def _journey_section(t: JourneyTimeline, data: ReportData) -> str:
    objective = t.objective
    x_format, x_label = _x_axis(t, data)
    out = [
        f'<section class="journey" id="journey-{escape(t.name)}" data-journey="{escape(t.name)}">',
        f"<h2>{escape(t.name)} {_state_badge(t.state)}</h2>",
        f'<p class="headline">{_headline(t)}</p>',
        '<div class="grid">',
        _figure(_sli_chart(t, x_format, x_label), _sli_caption(t)),
    ]
    if objective is not None:
        out.append(_figure(_budget_chart(t, x_format, x_label), _budget_caption(t)))
        out.append(_figure(_burn_chart(t, x_format, x_label), _burn_caption(t)))
    else:
        out.append(
            '<p class="note">This journey has no objective in the SLO file, so it has no error '
            "budget and no burn rate.</p>"
        )
    if objective is not None and objective.latency is not None and t.fast_share:
        speed = _speed_chart(t, objective.latency, x_format, x_label)
        out.append(_figure(speed, _speed_caption(t, objective.latency)))
    latency = _latency_chart(t, x_format, x_label)
    if latency is not None:
        out.append(_figure(latency, _latency_caption(t)))
    out.append("</div></section>")
    return "\n".join(out)


def _figure(chart: Chart, caption: str) -> str:
    return f"<figure>{render_chart(chart)}<figcaption>{caption}</figcaption></figure>"


def _covers_window(t: JourneyTimeline) -> bool:
    """True when the samples span the whole SLO window (else the budget is only partly seen)."""
    if t.objective is None or not t.elapsed:
        return False
    return t.elapsed[-1] * t.time_scale >= t.objective.window.seconds - 1


def _budget_text(t: JourneyTimeline) -> str:
    """Budget left over a whole window of data; else the share burned while sampled, which is
    what the samples can tell without guessing the rest of the window's failures."""
    remaining = t.last(t.budget_remaining)
    if remaining is None or t.objective is None:
        return "&mdash;"
    if _covers_window(t):
        return f"{_pct(remaining * 100)} left"
    return f"{_pct((1 - remaining) * 100)} of {escape(t.objective.window.label)} burned"


def _headline(t: JourneyTimeline) -> str:
    parts = [f"{t.requests:,.0f} requests, {t.failures:,.0f} failed"]
    availability = t.last(t.availability_total)
    if availability is not None:
        parts.append(f"availability {_pct(availability)}")
    if t.objective is not None:
        parts.append(
            f"objective {_pct(t.objective.availability)} over {escape(t.objective.window.label)}"
        )
        if t.last(t.budget_remaining) is not None:
            parts.append(f"error budget: {_budget_text(t)}")
    return "; ".join(parts) + "."


# -- charts -----------------------------------------------------------------------------------


def _x_axis(t: JourneyTimeline, data: ReportData) -> tuple[Callable[[float], str], str]:
    """Tick labels and axis title: seconds into the run when time is compressed, else UTC."""
    if data.time_scale != 1:
        return (
            lambda v: f"{v:g}s",
            f"seconds since the first sample (1 s = {_human_seconds(data.time_scale)} of SLO time)",
        )
    origin = t.series.timestamps[0] if t.series.timestamps else 0.0
    span = t.elapsed[-1] if t.elapsed else 0.0
    fmt = "%H:%M:%S" if span < 600 else "%H:%M" if span < 2 * 86400 else "%m-%d %H:%M"
    return (lambda v: time.strftime(fmt, time.gmtime(origin + v))), _CLOCK_LABEL


def _recent(t: JourneyTimeline) -> str:
    """The span of the "recent" availability: the shortest alert window, or one sample step when
    samples are further apart than that (a window never holds less than one step)."""
    span = t.recent_window
    if len(t.elapsed) >= 2:
        step = (t.elapsed[-1] - t.elapsed[0]) / (len(t.elapsed) - 1) * t.time_scale
        span = max(span, step)
    return format_duration(span)


def _origin(t: JourneyTimeline, x_label: str) -> Optional[float]:
    if x_label != _CLOCK_LABEL or not t.series.timestamps:
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
                    _STATE_COLORS[previous],
                    "paging" if previous == PAGE else "ticket open",
                )
            )
            start = None
        if start is None and state in _STATE_COLORS and state != previous:
            start = index
    return bands


def _sli_chart(t: JourneyTimeline, x_format: Callable[[float], str], x_label: str) -> Chart:
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
            f"last {_recent(t)}",
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
                f"objective {_pct(t.objective.availability)}", t.objective.availability, "#116329"
            )
        )
        floor = min(floor, t.objective.availability - (100 - t.objective.availability))
    chart.y_min = max(0.0, math.floor(floor - (100 - floor) * 0.1))
    return chart


def _sli_caption(t: JourneyTimeline) -> str:
    recent = _recent(t)
    if t.objective is None:
        return (
            f"<b>Availability:</b> the share of {escape(t.name)} requests that succeeded, over the "
            f"last {recent} (blue) and since the start (grey)."
        )
    return (
        f"<b>Availability:</b> the share of {escape(t.name)} requests that succeeded over the last "
        f"{recent} (blue) and since the start (grey); below the green dashed line of the objective "
        f"({_pct(t.objective.availability)}), users get worse service than promised."
    )


def _budget_chart(t: JourneyTimeline, x_format: Callable[[float], str], x_label: str) -> Chart:
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


def _budget_caption(t: JourneyTimeline) -> str:
    assert t.objective is not None
    window = escape(t.objective.window.label)
    return (
        f"<b>Error budget:</b> the {_pct(100 - t.objective.availability)} of requests that may "
        f"fail over {window} without breaking the objective; the line falls each time requests "
        "fail, and faster when they fail faster (this report assumes the part of the window before "
        "its first sample had no failures)."
    )


def _burn_chart(t: JourneyTimeline, x_format: Callable[[float], str], x_label: str) -> Chart:
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
                _WINDOW_COLORS[index % len(_WINDOW_COLORS)],
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
                _STATE_COLORS.get(severity, "#57606a"),
            )
        )
    return chart


def _burn_caption(t: JourneyTimeline) -> str:
    assert t.objective is not None
    window = escape(t.objective.window.label)
    return (
        "<b>Burn rate:</b> how many times faster than the sustainable pace the budget is being "
        f"spent, measured over several windows (1x spends exactly the budget in {window}); an "
        "alert fires when both the long and the short window of a pair cross its dashed line "
        "(red bands: page someone now, yellow: open a ticket)."
    )


def _speed_chart(
    t: JourneyTimeline,
    latency: LatencyObjective,
    x_format: Callable[[float], str],
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
    chart.lines.append(Line("recent", f"last {_recent(t)}", _points(t, t.fast_recent), "#1f77b4"))
    chart.lines.append(
        Line("total", "since the start", _points(t, t.fast_share), "#6e7781", width=1.5)
    )
    chart.thresholds.append(
        Threshold(f"objective {_pct(latency.target)}", latency.target, "#116329")
    )
    values = [v for v in t.fast_recent + t.fast_share if v is not None]
    floor = min([*values, latency.target - (100 - latency.target)])
    chart.y_min = max(0.0, math.floor(floor - (100 - floor) * 0.1))
    return chart


def _speed_caption(t: JourneyTimeline, latency: LatencyObjective) -> str:
    return (
        f"<b>Latency SLI:</b> the share of {escape(t.name)} requests that took at most "
        f"{format_duration(latency.threshold)}, over the last {_recent(t)} (blue) and since the "
        f"start (grey); the objective is at least {_pct(latency.target)}, and its own burn-rate "
        "alerts (same policy as availability) shade the chart when they fire."
    )


def _latency_chart(
    t: JourneyTimeline, x_format: Callable[[float], str], x_label: str
) -> Optional[Chart]:
    latency = t.series.latency
    if not latency or not any(v is not None for values in latency.values() for v in values):
        return None
    chart = Chart(
        key="latency",
        x_origin=_origin(t, x_label),
        title=f"{t.name}: latency percentiles",
        y_label="seconds",
        y_format=_seconds_tick,
        x_format=x_format,
        x_label=x_label,
        y_min=0.0,
    )
    for key in sorted(latency, key=lambda k: float(k.lstrip("p") or 0)):
        color = _PERCENTILE_COLORS.get(key, "#57606a")
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


def _latency_caption(t: JourneyTimeline) -> str:
    text = (
        "<b>Latency:</b> how long requests took, body included: half were faster than p50, 95% "
        "faster than p95 and 99% faster than p99"
    )
    threshold = _threshold(t)
    if threshold is not None and t.objective is not None and t.objective.latency is not None:
        text += (
            f"; requests above the red dashed line ({format_duration(threshold)}) count as slow, "
            f"and at least {_pct(t.objective.latency.target)} must be faster than it"
        )
    return text + "."


# -- formatting -------------------------------------------------------------------------------


def _pct(value: Optional[float]) -> str:
    if value is None:
        return "&mdash;"
    if abs(value) >= 99.0 and abs(value) < 100:
        return f"{value:.3f}".rstrip("0").rstrip(".") + "%"
    if 0 < abs(value) < 1:
        return f"{value:.2f}%"
    return f"{value:.1f}%"


def _times100(value: Optional[float]) -> Optional[float]:
    return None if value is None else value * 100


def _share(part: float, whole: float) -> Optional[float]:
    return None if whole <= 0 else 100.0 * part / whole


def _seconds_tick(value: float) -> str:
    if value == 0:
        return "0"
    return f"{value * 1000:g}ms" if value < 1 else f"{value:g}s"


def _human_seconds(seconds: float) -> str:
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= size:
            value = seconds / size
            exact = abs(value - round(value)) < 0.05
            return f"{value:.0f} {unit}" if exact else f"{value:.1f} {unit}"
    return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
