"""``sli-instrument report``: each journey's SLI, budget, burn rates and alert state from a backend.

    sli-instrument report --slo slo.yaml --prometheus http://localhost:9090 [--json] [--html FILE]
    sli-instrument report --slo slo.yaml --cloudwatch [--region R] [--namespace NS] [--endpoint-url]

Exit codes: 0 all objectives within budget and no page alert firing; 1 an objective's error budget
is exhausted (SLO breached) or a page alert fires; 2 usage error, bad SLO file or unreadable
backend. See docs/report.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from .common import EXIT_USAGE, add_json_option, add_slo_option, fail


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="SLI, error budget, burn rates and alert state per journey (Prometheus, CloudWatch)",
        description=(
            "Read the journeys' counts from Prometheus or CloudWatch and report, per journey and "
            "SLI: the SLI over the SLO window, the objective, the error budget remaining, the burn "
            "rates over the alert policy's windows and the alert state."
        ),
        epilog=(
            "exit codes: 0 ok; 1 an SLO is breached (budget exhausted) or a page alert fires; "
            "2 usage error, bad SLO file or unreadable backend"
        ),
    )
    add_slo_option(parser, required=False)
    backend = parser.add_mutually_exclusive_group(required=True)
    backend.add_argument("--prometheus", metavar="URL", help="Prometheus HTTP API base URL")
    backend.add_argument(
        "--cloudwatch", action="store_true", help="read CloudWatch with GetMetricData (boto3)"
    )
    parser.add_argument(
        "--selector",
        metavar="MATCHERS",
        help='--prometheus: label matchers for the service\'s series (default: job="SERVICE")',
    )
    parser.add_argument("--endpoint-url", help="--cloudwatch: API endpoint (e.g. a local emulator)")
    parser.add_argument("--region", help="--cloudwatch: AWS region (default: the AWS config's)")
    parser.add_argument(
        "--namespace",
        help="--cloudwatch: namespace of the metrics (default SLI)",
    )
    add_json_option(parser)
    parser.add_argument("--html", metavar="FILE", help="also write an HTML report to FILE")
    parser.add_argument(
        "--range",
        dest="span",
        default="1d",
        metavar="DURATION",
        help="--html: how far back the charts go (default 1d)",
    )
    parser.add_argument(
        "--step", metavar="DURATION", help="--html: sample step (default: about 600 samples)"
    )
    parser.add_argument(
        "--at",
        type=float,
        metavar="EPOCH",
        help="report as of this time (epoch seconds; default now)",
    )


def run(args: argparse.Namespace) -> int:
    from .._duration import parse_duration
    from ..report.sources import SourceError, read_summary, step_for
    from ..report.summary import format_table, to_json
    from .generate import load_spec

    if args.prometheus is None and (args.selector is not None):
        fail("--selector applies to --prometheus only")
    if not args.cloudwatch and (args.endpoint_url or args.region or args.namespace):
        fail("--endpoint-url, --region and --namespace apply to --cloudwatch only")
    spec = load_spec(args)
    now = time.time() if args.at is None else args.at
    try:
        source = _source(args)
        summary = read_summary(source, spec, now)
        html_text = None
        if args.html:
            span = parse_duration(args.span, what="--range", source="--range")
            step = (
                parse_duration(args.step, what="--step", source="--step")
                if args.step
                else step_for(span)
            )
            html_text = _html(source.report_data(spec, now - span, now, step))
    except SourceError as exc:
        fail(str(exc), EXIT_USAGE)
    if args.json:
        sys.stdout.write(json.dumps(to_json(summary), indent=2) + "\n")
    else:
        sys.stdout.write(format_table(summary))
    if args.html and html_text is not None:
        try:
            with open(args.html, "w", encoding="utf-8") as handle:
                handle.write(html_text)
        except OSError as exc:
            fail(f"cannot write {args.html!r}: {exc.strerror or exc}")
    return summary.exit_code


def _source(args: argparse.Namespace) -> Any:
    if args.prometheus is not None:
        from ..report.prometheus import PrometheusSource

        return PrometheusSource(args.prometheus, selector=args.selector)
    from ..generate import DEFAULT_NAMESPACE
    from ..report.cloudwatch import CloudWatchSource

    return CloudWatchSource(
        namespace=args.namespace or DEFAULT_NAMESPACE,
        region=args.region,
        endpoint_url=args.endpoint_url,
    )


def _html(data: Any) -> str:
    try:
        from ..report import html
    except ImportError:  # pragma: no cover - shipped with the package
        fail("the HTML report is not available in this installation")
    text: str = html.render(data)
    return text
