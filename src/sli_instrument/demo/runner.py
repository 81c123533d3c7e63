"""Runs the demo: configure, serve the shop, drive traffic, show the live view, write the report.

Time is compressed: the run, whatever its length, stands for one hour of SLO time
(:data:`~sli_instrument.demo.scenario.SIMULATED_SPAN`), so a 30-second run has a time scale of
120 (one second of the run is two minutes of SLO time) and the 5-minute alert window spans 2.5 s.
Burn rates are computed over those scaled windows from the real counts, with the SLO file's real
policy, so the page during the incident is the page production would see. See docs/cli.md.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional, TextIO

from ..report.html import render
from ..report.timeline import analyse
from . import view
from .apps import examples_dir, load_django_app, load_flask_app, serve
from .collector import check_collector
from .driver import TrafficDriver
from .logs import CapturedLogs
from .model import DEFAULT_OUT, DemoOptions, DemoResult
from .sampler import Sampler
from .scenario import SHOP, FaultPlan, Scenario, time_scale
from .summary import alert_events, print_json, print_table

__all__ = ["DEFAULT_OUT", "SLO_FILE", "DemoOptions", "DemoResult", "run_demo"]

SLO_FILE = Path(__file__).with_name("shop.slo.yaml")
SERVICE = "shop"
REFRESH = 1.0

AppLoader = Callable[[str], Any]


def _load_app(framework: str) -> Any:
    examples = examples_dir()
    return load_flask_app(examples) if framework == "flask" else load_django_app(examples)


def _configure(options: DemoOptions) -> Any:
    """Configure through the environment, as a deployment would.

    The Django example calls ``configure(service_name=...)`` itself when it starts; with the same
    environment both calls resolve to the same settings, so the second one returns the first
    configuration instead of conflicting with it.
    """
    import sli_instrument

    from ..slo.loader import load_slo_file

    for name in [n for n in os.environ if n.startswith(("OTEL_EXPORTER_OTLP_", "SLI_"))]:
        if name != "SLI_DEMO_EXAMPLES":
            del os.environ[name]
    slo_file = str(Path(options.slo).resolve() if options.slo else SLO_FILE)
    service = load_slo_file(slo_file).service  # a bad file fails here, in one line
    os.environ["OTEL_SERVICE_NAME"] = service
    os.environ["SLI_SLO_FILE"] = slo_file
    if options.otlp_endpoint:
        os.environ["SLI_EXPORTER"] = "otlp"
        os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = options.otlp_endpoint
        os.environ["OTEL_METRIC_EXPORT_INTERVAL"] = "2000"
    else:
        os.environ["SLI_EXPORTER"] = "memory"
    return sli_instrument.configure(service_name=service)


def run_demo(
    options: DemoOptions,
    *,
    stdout: Optional[TextIO] = None,
    stderr: Optional[TextIO] = None,
    app_loader: Optional[AppLoader] = None,
    scenario: Scenario = SHOP,
) -> DemoResult:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    live = not options.json and (options.live if options.live is not None else out.isatty())
    scale = time_scale(options.duration)
    label = "Flask" if options.framework == "flask" else "Django"
    if options.otlp_endpoint:
        check_collector(options.otlp_endpoint)
    print(f"demo: starting the {label} example shop on loopback ...", file=err, flush=True)
    config = _configure(options)
    spec = config.slo
    objectives = {j.name: j for j in spec.journeys} if spec is not None else {}
    plan = FaultPlan(scenario, seed=options.seed)
    app = (app_loader or _load_app)(options.framework)
    server = serve(options.framework, app)
    sampler = Sampler(
        spec.service if spec is not None else SERVICE,
        scenario.journeys,
        objectives,
        time_scale=scale,
        interval=min(0.25, options.duration / 40),
        source=f"sli-instrument demo ({label} example shop, in-process metrics)",
    )
    driver = TrafficDriver(
        server.host,
        server.port,
        scenario,
        plan,
        framework=options.framework,
        threads=options.threads,
        seed=options.seed,
    )
    title = f"sli-instrument demo: {label} example shop at {server.url}"
    scale_line = (
        f"time is compressed: 1 s = {scale / 60:g} min of SLO time, the run is one hour "
        "(see docs/cli.md)"
    )
    import sli_instrument

    started = time.monotonic()
    with CapturedLogs("opentelemetry", "sli_instrument") as logs:
        try:
            plan.begin(options.duration)
            sampler.start()
            driver.start()
            started = time.monotonic()
            interrupted = _loop(
                options, scenario, plan, sampler, driver, started, title, scale_line, live, out, err
            )
        finally:
            # The last sample is the state at the end of the run, traffic still flowing; then
            # the clients finish their requests in flight, and the totals include those too.
            elapsed = time.monotonic() - started
            sampler.stop()
            driver.stop()
            server.stop()
        data = sampler.report()
        timelines = analyse(data)
        events = alert_events(timelines)
        path = Path(options.out).expanduser().resolve()
        print("demo: writing the HTML report ...", file=err, flush=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(data), encoding="utf-8")
        result = DemoResult(data, timelines, dict(driver.tally), path, server.url, events)
        result.counted_failures = sampler.current_failures()
        result.interrupted = interrupted
        if options.json:
            print_json(result, min(elapsed, options.duration), scale, out)
        else:
            print_table(result, min(elapsed, options.duration), scale, out, live)
        if options.otlp_endpoint:
            print("demo: sending the last metrics to the collector ...", file=err, flush=True)
        sli_instrument.shutdown(timeout_millis=5_000)
    logs.summarize(err)
    return result


def _loop(
    options: DemoOptions,
    scenario: Scenario,
    plan: FaultPlan,
    sampler: Sampler,
    driver: TrafficDriver,
    started: float,
    title: str,
    scale_line: str,
    live: bool,
    out: TextIO,
    err: TextIO,
) -> bool:
    """Run until the deadline; True when interrupted (Ctrl-C) before it."""
    deadline = started + options.duration
    next_draw = started
    next_progress = started + 5.0
    if live:
        out.write(view.HIDE_CURSOR + "\x1b[2J")
    try:
        while True:
            now = time.monotonic()
            if now >= deadline:
                break
            if live and now >= next_draw:
                _draw(
                    options, scenario, plan, sampler, driver, now - started, title, scale_line, out
                )
                next_draw += REFRESH
            if not live and now >= next_progress:
                phase = scenario.phase(plan.progress)
                print(
                    f"demo: {now - started:4.0f} s of {options.duration:g} s, "
                    f"{driver.total_sent:,} requests sent, "
                    + ("incident under way" if phase == "incident" else f"phase: {phase}"),
                    file=err,
                    flush=True,
                )
                next_progress += 5.0
            time.sleep(max(0.0, min(deadline, next_draw if live else next_progress) - now))
        if live:
            _draw(
                options, scenario, plan, sampler, driver, options.duration, title, scale_line, out
            )
    except KeyboardInterrupt:
        # Stop early but still write the report of what ran.
        return True
    finally:
        if live:
            out.write(view.SHOW_CURSOR + "\n")
            out.flush()
    return False


def _phase_line(scenario: Scenario, progress: float, duration: float) -> str:
    incident = scenario.incident
    phase = scenario.phase(progress)
    if phase == "before":
        return (
            f"normal traffic; an incident starts at {incident.start * duration:.0f} s "
            f"({incident.journey})"
        )
    if phase == "incident":
        return f"INCIDENT: {incident.description}"
    return f"the incident ended at {incident.end * duration:.0f} s; {incident.journey} recovers"


def _draw(
    options: DemoOptions,
    scenario: Scenario,
    plan: FaultPlan,
    sampler: Sampler,
    driver: TrafficDriver,
    elapsed: float,
    title: str,
    scale_line: str,
    out: TextIO,
) -> None:
    timelines = analyse(sampler.report())
    width = shutil.get_terminal_size((120, 40)).columns
    status = view.Status(
        title=title,
        elapsed=min(elapsed, options.duration),
        duration=options.duration,
        requests=driver.total_sent,
        phase_line=_phase_line(scenario, plan.progress, options.duration),
        scale_line=scale_line,
    )
    text = view.frame(status, timelines, width=width, color=True)
    events = alert_events(timelines)[-4:]
    if events:
        text += "\n\nalerts:\n" + "\n".join(
            f"  {e[0]:5.1f} s  {e[1]}: {e[2].upper()} -> {e[3].upper()}" for e in events
        )
    out.write(view.HOME + text.replace("\n", "\x1b[K\n") + "\x1b[K" + view.CLEAR_BELOW)
    out.flush()
