"""A small line-chart drawer producing inline SVG text (no JavaScript, no fonts, no network).

Made for the HTML report: time on x, lines that may have gaps (``None``), horizontal threshold
lines and shaded time bands (alert states). Output is deterministic for the same input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape
from typing import Callable, Optional

Point = tuple[float, Optional[float]]


@dataclass
class Line:
    key: str
    label: str
    points: list[Point]
    color: str
    dash: Optional[str] = None
    width: float = 2.0


@dataclass
class Threshold:
    label: str
    y: float
    color: str
    dash: str = "6 4"


@dataclass
class Band:
    x0: float
    x1: float
    color: str
    label: str


@dataclass
class Chart:
    key: str
    title: str
    y_label: str
    lines: list[Line] = field(default_factory=list)
    thresholds: list[Threshold] = field(default_factory=list)
    bands: list[Band] = field(default_factory=list)
    y_min: Optional[float] = None
    y_max: Optional[float] = None
    y_format: Callable[[float], str] = lambda v: f"{v:g}"
    x_format: Callable[[float], str] = lambda v: f"{v:g}s"
    x_label: str = ""
    #: Epoch seconds at x = 0 when x is clock time: ticks then fall on round clock times.
    x_origin: Optional[float] = None
    width: int = 640
    height: int = 260


_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 16, 14, 66


def nice_step(span: float, target: int = 5) -> float:
    """A 1-2-5 step that cuts ``span`` into about ``target`` intervals."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / target
    magnitude = 10.0 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        step = float(factor * magnitude)
        if step >= raw:
            return step
    return 10 * magnitude


def _ticks(low: float, high: float, target: int = 5) -> list[float]:
    step = nice_step(high - low, target)
    first = math.ceil(low / step - 1e-9) * step
    ticks = []
    value = first
    while value <= high + step * 1e-6:
        ticks.append(round(value, 10))
        value += step
    return ticks


_CLOCK_STEPS = (
    60,
    120,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    10800,
    21600,
    43200,
    86400,
    172800,
    604800,
)


def _clock_ticks(low: float, high: float, origin: float, target: int = 6) -> list[float]:
    """Ticks on round UTC clock times (every 5 min, 1 h, 6 h, 1 d...), as offsets from origin."""
    span = high - low
    step = next((s for s in _CLOCK_STEPS if span / s <= target), _CLOCK_STEPS[-1])
    first = math.ceil((origin + low) / step) * step
    ticks = []
    value = first
    while value <= origin + high + 1e-6:
        ticks.append(value - origin)
        value += step
    return ticks


def _y_range(chart: Chart) -> tuple[float, float]:
    values = [y for line in chart.lines for _, y in line.points if y is not None]
    values += [t.y for t in chart.thresholds]
    low = chart.y_min if chart.y_min is not None else (min(values) if values else 0.0)
    high = chart.y_max if chart.y_max is not None else (max(values) if values else 1.0)
    if chart.y_min is None and values:
        low = min(low, min(values))
    if chart.y_max is None and values:
        high = max(high, max(values))
    if high <= low:
        high = low + 1.0
    if chart.y_max is None:
        high += (high - low) * 0.08
    return low, high


def _x_range(chart: Chart) -> tuple[float, float]:
    xs = [x for line in chart.lines for x, _ in line.points]
    xs += [b.x0 for b in chart.bands] + [b.x1 for b in chart.bands]
    if not xs:
        return 0.0, 1.0
    low, high = min(xs), max(xs)
    if high <= low:
        high = low + 1.0
    return low, high


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def render_chart(chart: Chart) -> str:
    legend = _legend_layout(chart)
    extra = 16 * (max(1, len({round(y) for *_, y in legend})) - 1)
    width, height = chart.width, chart.height + extra
    plot_w = width - _LEFT - _RIGHT
    plot_h = chart.height - _TOP - _BOTTOM
    x_low, x_high = _x_range(chart)
    y_low, y_high = _y_range(chart)

    def sx(x: float) -> float:
        return _LEFT + (x - x_low) / (x_high - x_low) * plot_w

    def sy(y: float) -> float:
        clamped = min(max(y, y_low), y_high)
        return _TOP + plot_h - (clamped - y_low) / (y_high - y_low) * plot_h

    out: list[str] = [
        f'<svg class="chart" data-chart="{escape(chart.key)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(chart.title)}">',
        f"<title>{escape(chart.title)}</title>",
        f'<rect x="{_LEFT}" y="{_TOP}" width="{plot_w}" height="{plot_h}" class="plot"/>',
    ]
    for band in chart.bands:
        x0, x1 = sx(band.x0), sx(band.x1)
        out.append(
            f'<rect class="band" data-band="{escape(band.label)}" x="{_fmt(x0)}" y="{_TOP}" '
            f'width="{_fmt(max(x1 - x0, 1.0))}" height="{plot_h}" fill="{band.color}" '
            f'fill-opacity="0.18"><title>{escape(band.label)}</title></rect>'
        )
    for tick in _ticks(y_low, y_high):
        y = sy(tick)
        out.append(
            f'<line class="grid" x1="{_LEFT}" y1="{_fmt(y)}" x2="{_LEFT + plot_w}" y2="{_fmt(y)}"/>'
        )
        out.append(
            f'<text class="tick" x="{_LEFT - 6}" y="{_fmt(y + 4)}" text-anchor="end">'
            f"{escape(chart.y_format(tick))}</text>"
        )
    x_ticks = (
        _ticks(x_low, x_high, 6)
        if chart.x_origin is None
        else _clock_ticks(x_low, x_high, chart.x_origin)
    )
    for tick in x_ticks:
        x = sx(tick)
        out.append(
            f'<line class="grid" x1="{_fmt(x)}" y1="{_TOP}" x2="{_fmt(x)}" y2="{_TOP + plot_h}"/>'
        )
        out.append(
            f'<text class="tick" x="{_fmt(x)}" y="{_TOP + plot_h + 16}" text-anchor="middle">'
            f"{escape(chart.x_format(tick))}</text>"
        )
    out.append(
        f'<text class="axis-label" x="14" y="{_TOP + plot_h / 2:.0f}" text-anchor="middle" '
        f'transform="rotate(-90 14 {_TOP + plot_h / 2:.0f})">{escape(chart.y_label)}</text>'
    )
    if chart.x_label:
        out.append(
            f'<text class="axis-label" x="{_LEFT + plot_w / 2:.0f}" y="{_TOP + plot_h + 33}" '
            f'text-anchor="middle">{escape(chart.x_label)}</text>'
        )
    for threshold in chart.thresholds:
        y = sy(threshold.y)
        out.append(
            f'<line class="threshold" data-threshold="{escape(threshold.label)}" x1="{_LEFT}" '
            f'y1="{_fmt(y)}" x2="{_LEFT + plot_w}" y2="{_fmt(y)}" stroke="{threshold.color}" '
            f'stroke-dasharray="{threshold.dash}"><title>{escape(threshold.label)}</title></line>'
        )
    for line in chart.lines:
        for segment in _segments(line.points):
            points = " ".join(f"{_fmt(sx(x))},{_fmt(sy(y))}" for x, y in segment)
            dash = f' stroke-dasharray="{line.dash}"' if line.dash else ""
            out.append(
                f'<polyline class="series" data-series="{escape(line.key)}" points="{points}" '
                f'fill="none" stroke="{line.color}" stroke-width="{line.width}"{dash}/>'
            )
            if len(segment) == 1:
                x, y = segment[0]
                out.append(
                    f'<circle class="series-dot" data-series="{escape(line.key)}" '
                    f'cx="{_fmt(sx(x))}" cy="{_fmt(sy(y))}" r="2.5" fill="{line.color}"/>'
                )
    out.append(_legend(legend, chart.height))
    out.append("</svg>")
    return "\n".join(out)


def _segments(points: list[Point]) -> list[list[tuple[float, float]]]:
    segments: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    for x, y in points:
        if y is None or not math.isfinite(y):
            if current:
                segments.append(current)
                current = []
            continue
        current.append((x, y))
    if current:
        segments.append(current)
    return segments


_LegendItem = tuple[str, str, Optional[str], str, float, float]


def _legend_layout(chart: Chart) -> list[_LegendItem]:
    """Legend entries with their positions (rows wrap; y is relative to the first row)."""
    items: list[tuple[str, str, Optional[str], str]] = [
        (line.label, line.color, line.dash, "line") for line in chart.lines
    ]
    items += [(t.label, t.color, t.dash, "threshold") for t in chart.thresholds]
    items += [(b.label, b.color, None, "band") for b in _unique_bands(chart.bands)]
    placed: list[_LegendItem] = []
    x, y = float(_LEFT), 0.0
    for label, color, dash, kind in items:
        size = 34 + 6.0 * len(label)
        if x + size > chart.width - _RIGHT and x > _LEFT:
            x, y = float(_LEFT), y + 16
        placed.append((label, color, dash, kind, x, y))
        x += size
    return placed


def _legend(items: list[_LegendItem], base_height: int) -> str:
    parts = ['<g class="legend">']
    for label, color, dash, kind, x, dy in items:
        y = base_height - 6 + dy
        if kind == "band":
            parts.append(
                f'<rect x="{_fmt(x)}" y="{_fmt(y - 8)}" width="20" height="10" fill="{color}" '
                'fill-opacity="0.3"/>'
            )
        else:
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            parts.append(
                f'<line x1="{_fmt(x)}" y1="{_fmt(y - 3)}" x2="{_fmt(x + 20)}" y2="{_fmt(y - 3)}" '
                f'stroke="{color}" stroke-width="2"{dash_attr}/>'
            )
        parts.append(
            f'<text class="legend-label" x="{_fmt(x + 25)}" y="{_fmt(y + 1)}">'
            f"{escape(label)}</text>"
        )
    parts.append("</g>")
    return "".join(parts)


def _unique_bands(bands: list[Band]) -> list[Band]:
    seen: dict[str, Band] = {}
    for band in bands:
        seen.setdefault(band.label, band)
    return list(seen.values())
