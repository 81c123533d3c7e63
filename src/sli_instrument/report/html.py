"""The HTML report: one self-contained file (inline CSS and SVG, no script, no network).

Per journey: the SLI over time against its objective, the error budget burning down, burn rates
against the page and ticket thresholds, and latency percentiles, each with one plain sentence that
says how to read it. ``render(data)`` is used by ``sli-instrument report --html`` and by the demo.
"""

from __future__ import annotations

import time
from html import escape

from . import charts
from ._format import human_seconds, pct, share
from .model import ReportData
from .svg import Chart, render_chart
from .timeline import PAGE, TICKET, JourneyTimeline, analyse

__all__ = ["render"]


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
    return f" &middot; {escape(human_seconds(max(spans)))} of samples"


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
            f"{escape(human_seconds(data.time_scale))} of SLO time, so burn-rate windows of "
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
            f"<td>{pct(t.last(t.availability_total))}</td>"
            f"<td>{'&mdash;' if objective is None else pct(objective.availability)}</td>"
            f"<td>{pct(share(t.slow, t.requests))}</td>"
            f"<td>{_budget_text(t)}</td>"
            f"<td>{_state_badge(worst)}</td><td>{_state_badge(t.state)}</td></tr>"
        )
    rows.append("</tbody></table>")
    return "".join(rows)


def _journey_section(t: JourneyTimeline, data: ReportData) -> str:
    objective = t.objective
    x_format, x_label = charts.x_axis(t, data)
    out = [
        f'<section class="journey" id="journey-{escape(t.name)}" data-journey="{escape(t.name)}">',
        f"<h2>{escape(t.name)} {_state_badge(t.state)}</h2>",
        f'<p class="headline">{_headline(t)}</p>',
        '<div class="grid">',
        _figure(charts.sli_chart(t, x_format, x_label), charts.sli_caption(t)),
    ]
    if objective is not None:
        out.append(_figure(charts.budget_chart(t, x_format, x_label), charts.budget_caption(t)))
        out.append(_figure(charts.burn_chart(t, x_format, x_label), charts.burn_caption(t)))
    else:
        out.append(
            '<p class="note">This journey has no objective in the SLO file, so it has no error '
            "budget and no burn rate.</p>"
        )
    if objective is not None and objective.latency is not None and t.fast_share:
        speed = charts.speed_chart(t, objective.latency, x_format, x_label)
        out.append(_figure(speed, charts.speed_caption(t, objective.latency)))
    latency = charts.latency_chart(t, x_format, x_label)
    if latency is not None:
        out.append(_figure(latency, charts.latency_caption(t)))
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
        return f"{pct(remaining * 100)} left"
    return f"{pct((1 - remaining) * 100)} of {escape(t.objective.window.label)} burned"


def _headline(t: JourneyTimeline) -> str:
    parts = [f"{t.requests:,.0f} requests, {t.failures:,.0f} failed"]
    availability = t.last(t.availability_total)
    if availability is not None:
        parts.append(f"availability {pct(availability)}")
    if t.objective is not None:
        parts.append(
            f"objective {pct(t.objective.availability)} over {escape(t.objective.window.label)}"
        )
        if t.last(t.budget_remaining) is not None:
            parts.append(f"error budget: {_budget_text(t)}")
    return "; ".join(parts) + "."
