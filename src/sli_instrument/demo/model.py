"""What a demo run is asked to do, and what it produced."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..report.model import ReportData
from ..report.timeline import JourneyTimeline
from .driver import Tally

DEFAULT_OUT = "sli-demo-report.html"

#: (seconds into the run, journey, state before, state after)
AlertEvent = tuple[float, str, str, str]


@dataclass
class DemoOptions:
    framework: str = "flask"
    duration: float = 30.0
    out: str = DEFAULT_OUT
    seed: int = 0
    otlp_endpoint: Optional[str] = None
    #: None: live view when standard output is a terminal.
    live: Optional[bool] = None
    #: The SLO file to evaluate the run against (default: the demo's own).
    slo: Optional[str] = None
    #: Print the final state as JSON instead of a table (no live view).
    json: bool = False
    threads: int = 12


@dataclass
class DemoResult:
    data: ReportData
    timelines: list[JourneyTimeline]
    tally: dict[str, Tally]
    report_path: Path
    url: str
    events: list[AlertEvent] = field(default_factory=list)
    #: Failures the metrics counted once every request in flight had finished.
    counted_failures: int = 0
    #: Stopped by Ctrl-C before the end (the report covers what ran).
    interrupted: bool = False
