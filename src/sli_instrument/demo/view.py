"""The demo's terminal output: the live view (redrawn every second on a TTY) and the final table.

Pure functions from analysed timelines to text; the runner decides when and where to print.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from .._duration import format_duration
from ..report.timeline import NO_DATA, PAGE, TICKET, JourneyTimeline
from ..slo.model import AlertWindow

RESET = "\x1b[0m"
BOLD = "\x1b[1m"
DIM = "\x1b[2m"
_STATE_STYLE = {PAGE: "\x1b[1;97;41m", TICKET: "\x1b[1;30;43m", "ok": "\x1b[32m"}

#: Cursor home + erase below: redraw in place without scrolling or flicker.
HOME = "\x1b[H"
CLEAR_BELOW = "\x1b[J"
HIDE_CURSOR = "\x1b[?25l"
SHOW_CURSOR = "\x1b[?25h"


@dataclass
class Column:
    title: str
    width: int
    cell: Callable[[JourneyTimeline], str]
    #: Lower is dropped first when the terminal is too narrow.
    priority: int
    align: str = ">"


def _pct(value: Optional[float], digits: int = 2) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}%"


def _ms(value: Optional[float]) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.0f}ms" if value < 10 else f"{value:.0f}s"


def _rate(value: Optional[float]) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _last(values: list[Optional[float]]) -> Optional[float]:
    return values[-1] if values else None


def _latency(key: str) -> Callable[[JourneyTimeline], str]:
    return lambda t: _ms(_last(t.series.latency.get(key, [])))


def _burn(seconds: float) -> Callable[[JourneyTimeline], str]:
    def cell(t: JourneyTimeline) -> str:
        window = t.burn.get(seconds)
        return _rate(window.values[-1] if window is not None and window.values else None)

    return cell


def _slow_share(t: JourneyTimeline) -> str:
    return "-" if t.requests <= 0 else _pct(100.0 * t.slow / t.requests, 1)


def _budget(t: JourneyTimeline) -> str:
    remaining = _last(t.budget_remaining)
    return "-" if remaining is None else _pct(remaining * 100.0, 1)


def _objective(t: JourneyTimeline) -> str:
    return "-" if t.objective is None else f"{t.objective.availability:g}%"


#: Which burn-rate windows stay longest on a narrow terminal: the fast page pair first.
_BURN_PRIORITY = {300.0: 80, 3600.0: 78, 1800.0: 66, 21600.0: 64, 259200.0: 45}


def columns(windows: tuple[float, ...], recent: float) -> list[Column]:
    cols = [
        Column("journey", 14, lambda t: t.name, 100, "<"),
        Column("SLO", 6, _objective, 60),
        Column("requests", 8, lambda t: f"{t.requests:,.0f}", 90),
        Column(
            f"good {format_duration(recent)}",
            8,
            lambda t: _pct(_last(t.availability_recent)),
            68,
        ),
        Column("good", 8, lambda t: _pct(_last(t.availability_total)), 85),
        Column("p50", 6, _latency("p50"), 40),
        Column("p95", 6, _latency("p95"), 70),
        Column("p99", 6, _latency("p99"), 50),
        Column("slow", 6, _slow_share, 55),
        Column("budget", 7, _budget, 75),
    ]
    for seconds in windows:
        priority = _BURN_PRIORITY.get(seconds, 50)
        cols.append(Column(f"burn {format_duration(seconds)}", 8, _burn(seconds), priority))
    cols.append(Column("alert", 7, lambda t: t.state.upper(), 95, "<"))
    return cols


def table(timelines: list[JourneyTimeline], *, width: int = 200, color: bool = False) -> list[str]:
    """The per-journey table, as wide as fits in ``width`` columns."""
    windows = sorted({w for t in timelines for w in t.burn})
    recent = timelines[0].recent_window if timelines else 300.0
    cols = columns(tuple(windows), recent)
    while sum(c.width + 2 for c in cols) > width and len(cols) > 2:
        cols.remove(min(cols, key=lambda c: c.priority))
    header = "  ".join(f"{c.title:{c.align}{c.width}}" for c in cols).rstrip()
    lines = [f"{BOLD}{header}{RESET}" if color else header]
    for t in timelines:
        cells = []
        for column in cols:
            text = column.cell(t)
            cell = f"{text:{column.align}{column.width}}"
            if color and column.title == "alert":
                style = _STATE_STYLE.get(t.state)
                if style:
                    cell = f"{style}{cell}{RESET}"
            cells.append(cell)
        lines.append("  ".join(cells).rstrip())
    return lines


def policy_legend(alerts: tuple[AlertWindow, ...], window_label: str) -> list[str]:
    if not alerts:
        return []

    def pair(a: AlertWindow) -> str:
        long, short = format_duration(a.long_window), format_duration(a.short_window)
        return f"{long} and {short} > {a.burn_rate:.3g}x"

    pages = [pair(a) for a in alerts if a.severity == PAGE]
    tickets = [pair(a) for a in alerts if a.severity == TICKET]
    text = [
        "burn = error ratio / error budget over a window "
        f"(1x spends the budget in exactly {window_label})."
    ]
    rule = "PAGE when " + " or ".join(pages) if pages else ""
    if tickets:
        rule += ("; " if rule else "") + "TICKET when " + " or ".join(tickets)
    if rule:
        text.append(rule + ".")
    return text


def progress_bar(fraction: float, width: int = 24) -> str:
    fraction = min(max(fraction, 0.0), 1.0)
    filled = round(fraction * width)
    return "[" + "#" * filled + "." * (width - filled) + "]"


@dataclass
class Status:
    title: str
    elapsed: float
    duration: float
    requests: int
    phase_line: str
    scale_line: str


def frame(
    status: Status, timelines: list[JourneyTimeline], *, width: int = 120, color: bool = True
) -> str:
    """One screen of the live view."""
    lines = [
        f"{BOLD}{status.title}{RESET}" if color else status.title,
        f"{progress_bar(status.elapsed / status.duration if status.duration else 1.0)} "
        f"{status.elapsed:5.1f} s of {status.duration:g} s   {status.requests:,} requests sent",
        status.scale_line,
        status.phase_line,
        "",
        *table(timelines, width=width, color=color),
        "",
    ]
    first = next((t for t in timelines if t.objective is not None), None)
    if first is not None and first.objective is not None:
        lines += [
            f"{DIM}{_clip(line, width)}{RESET}" if color else line
            for line in policy_legend(first.alerts, first.objective.window.label)
        ]
    return "\n".join(_clip(line, width) for line in lines)


def _clip(line: str, width: int) -> str:
    # Only plain lines are clipped: escape sequences make visible width hard to count.
    if "\x1b" in line or len(line) <= width:
        return line
    return line[: max(0, width - 1)] + "~"


def worst_states(timelines: list[JourneyTimeline]) -> dict[str, str]:
    result = {}
    for t in timelines:
        result[t.name] = (
            PAGE
            if t.ever(PAGE)
            else TICKET
            if t.ever(TICKET)
            else (t.state if t.state != NO_DATA else NO_DATA)
        )
    return result
