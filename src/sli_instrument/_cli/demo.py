"""``sli-instrument demo``: the example shop under realistic traffic, live SLOs, an HTML report."""

from __future__ import annotations

import argparse
import math

from .common import (
    EXIT_OK,
    add_json_option,
    add_otlp_option,
    add_output_option,
    add_slo_option,
    fail,
)

#: Like a shell's 128 + SIGINT: stopped with Ctrl-C (the report of what ran is still written).
EXIT_INTERRUPTED = 130

DESCRIPTION = """\
Start the example shop (Flask, or Django with --app django) on loopback, drive realistic
traffic at it (browse, search, cart, checkout, a streamed export; a few percent of 4xx, some
slow requests) and run an incident half-way: checkout's payment provider turns flaky. A live
view refreshes every second with each journey's requests, availability, p50/p95/p99 latency,
slow share, error budget remaining, burn rates over the alert windows and the alert state,
which turns to PAGE during the incident. Time is compressed: the run stands for one hour of SLO
time. Needs no collector and no AWS account; needs a source checkout (the examples/ folder).
When standard output is not a terminal, a final table is printed instead of the live view.
"""

EPILOG = """\
examples:
  sli-instrument demo
  sli-instrument demo --duration 10 --out report.html
  sli-instrument demo --app django --otlp-endpoint http://localhost:4318

The demo exits 0 when it ran (the incident breaching the SLO is part of the show), and 130
when stopped with Ctrl-C (after writing the report of what ran).
"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the example shop with traffic, an incident and a live SLO view",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--app",
        choices=("flask", "django"),
        default="flask",
        help="which example shop to run (default: flask)",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long the demo runs, 3 to 3600 (default: 30)",
    )
    add_output_option(
        parser, help="where to write the HTML report (default: ./sli-demo-report.html)"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the traffic and incident (default: 0)"
    )
    add_otlp_option(parser)
    add_slo_option(
        parser,
        required=False,
        help="objectives to judge the run by (default: the demo's own; the journeys are browse, "
        "search, cart, checkout, export)",
    )
    add_json_option(parser)
    parser.add_argument(
        "--threads",
        type=int,
        default=12,
        metavar="N",
        help="concurrent clients driving traffic, 1 to 64 (default: 12)",
    )
    view = parser.add_mutually_exclusive_group()
    view.add_argument(
        "--live",
        dest="live",
        action="store_true",
        default=None,
        help="force the live view (default: only when standard output is a terminal)",
    )
    view.add_argument(
        "--no-live",
        dest="live",
        action="store_false",
        help="print only the final table",
    )


def run(args: argparse.Namespace) -> int:
    from ..demo.apps import DemoSetupError
    from ..demo.runner import DEFAULT_OUT, DemoOptions, run_demo

    duration = float(args.duration)
    if not math.isfinite(duration) or not 3 <= duration <= 3600:
        fail(f"invalid --duration {args.duration:g}: use 3 to 3600 seconds")
    if not 1 <= args.threads <= 64:
        fail(f"invalid --threads {args.threads!r}: use 1 to 64")
    endpoint = args.otlp_endpoint
    if endpoint is not None and "://" not in endpoint:
        fail(f"invalid --otlp-endpoint {endpoint!r}: use a URL such as http://localhost:4318")
    options = DemoOptions(
        framework=args.app,
        duration=duration,
        out=args.out or DEFAULT_OUT,
        seed=args.seed,
        otlp_endpoint=endpoint,
        live=args.live,
        threads=args.threads,
        slo=args.slo,
        json=args.json,
    )
    try:
        result = run_demo(options)
    except DemoSetupError as exc:
        fail(str(exc))
    return EXIT_INTERRUPTED if result.interrupted else EXIT_OK
