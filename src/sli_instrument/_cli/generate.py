"""``sli-instrument generate <target> --slo slo.yaml [-o FILE]``: artefacts from the SLO file.

Targets and how to deploy each: docs/generate.md. Output is deterministic (same file in, same bytes
out), so generated files can be committed and diffed in review.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ..errors import ConfigurationError
from .common import EXIT_OK, add_output_option, add_slo_option, fail


def add_parser(subparsers: Any) -> None:
    from ..generate import DEFAULT_NAMESPACE, TARGETS

    lines = "\n".join(f"  {name:<22} {target.summary}" for name, target in TARGETS.items())
    parser = subparsers.add_parser(
        "generate",
        help="generate alarms, SLOs, dashboards, Prometheus rules or collector config",
        description="Generate a backend artefact from the SLO file (deterministic output).",
        epilog=f"targets:\n{lines}\n\nSee docs/generate.md for how to deploy each.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("target", metavar="TARGET", help="what to generate (see below)")
    add_slo_option(parser, required=False)
    add_output_option(parser)
    parser.add_argument(
        "--format",
        dest="fmt",
        choices=("yaml", "json"),
        help="CloudFormation targets: YAML (default) or JSON",
    )
    parser.add_argument(
        "--namespace",
        default=DEFAULT_NAMESPACE,
        help=f"CloudWatch namespace of the metrics (default {DEFAULT_NAMESPACE})",
    )
    parser.add_argument(
        "--selector",
        metavar="MATCHERS",
        help='prometheus-rules: label matchers for the service\'s series (default: job="SERVICE")',
    )
    parser.add_argument("--region", help="AWS region (dashboard --body-only, collector-config)")
    parser.add_argument(
        "--body-only",
        action="store_true",
        help="cloudwatch-dashboard: print the dashboard body JSON instead of a template",
    )
    parser.add_argument(
        "--percentiles",
        action="store_true",
        help="cloudwatch-dashboard: add p50/p95/p99 of sli.journey.duration",
    )


def load_spec(args: argparse.Namespace) -> Any:
    """The SLO file named by ``--slo`` (or ``SLI_SLO_FILE``), loaded and validated."""
    path = getattr(args, "slo", None) or os.environ.get("SLI_SLO_FILE")
    if not path:
        fail("no SLO file: pass --slo FILE or set SLI_SLO_FILE")
    from ..slo.loader import load_slo_file

    return load_slo_file(path)


def run(args: argparse.Namespace) -> int:
    from ..generate import TARGETS, GenerateOptions, generate, target_names

    if args.target not in TARGETS or not TARGETS[args.target].available():
        fail(f"unknown target {args.target!r}; choose one of: {', '.join(target_names())}")
    target = TARGETS[args.target]
    if args.fmt is not None and args.fmt not in target.formats:
        fail(f"target {args.target!r} is written as {' or '.join(target.formats)} only")
    if args.body_only and args.target != "cloudwatch-dashboard":
        fail("--body-only applies to cloudwatch-dashboard only")
    if args.body_only and not args.region:
        fail("--body-only needs --region (the body names the region of every widget)")
    spec = load_spec(args)
    options = GenerateOptions(
        fmt=args.fmt,
        namespace=args.namespace,
        selector=args.selector,
        region=args.region,
        body_only=args.body_only,
        percentiles=args.percentiles,
    )
    try:
        text = generate(args.target, spec, options)
    except ValueError as exc:
        if isinstance(exc, ConfigurationError):
            raise
        fail(str(exc))
    if args.out:
        try:
            with open(args.out, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
        except OSError as exc:
            fail(f"cannot write {args.out!r}: {exc.strerror or exc}")
    else:
        sys.stdout.write(text)
    return EXIT_OK
