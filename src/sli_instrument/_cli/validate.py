"""``sli-instrument validate --slo slo.yaml [--json] [--openslo] [--strict]``.

Reads the SLO file (or OpenSLO documents, recognised by their ``apiVersion``, or forced with
``--openslo``), and prints the journeys, their objectives, the alert conditions with the burn
rates derived from each window, and the warnings. Exit 0 when valid (warnings included, unless
``--strict``), 1 when invalid, with the one-line error ``file:line: field: problem``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from .._duration import format_duration
from ..errors import ConfigurationError
from .common import EXIT_BREACH, EXIT_OK, add_json_option, add_slo_option, fail, print_error


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check an SLO file and show the alert policy derived from it",
        description=(
            "Validate an SLO file (or OpenSLO documents) and print its journeys, objectives, "
            "burn-rate alert conditions and warnings. Exit 1 when the file is invalid."
        ),
    )
    add_slo_option(parser, required=False)
    add_json_option(parser)
    parser.add_argument(
        "--openslo",
        action="store_true",
        help="read the file as OpenSLO v1 (default: recognised by its apiVersion)",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when there are warnings, too")


def _load(args: argparse.Namespace) -> Any:
    path = args.slo or os.environ.get("SLI_SLO_FILE")
    if not path:
        fail("no SLO file: pass --slo FILE or set SLI_SLO_FILE")
    from ..slo.loader import load_slo_file

    if not args.openslo:
        return load_slo_file(path)
    from ..slo.openslo import from_openslo

    # Read through the loader for its file errors, then parse strictly as OpenSLO.
    try:
        with open(path, encoding="utf-8-sig") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise ConfigurationError(f"SLO file {path!r} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read SLO file {path!r}: {exc}") from None
    return from_openslo(text, path)


def _percent(fraction: float) -> str:
    return f"{fraction * 100:.4g}%"


def _describe(spec: Any) -> dict[str, Any]:
    from ..slo.budget import budget_minutes

    journeys = []
    for objective in spec.journeys:
        latency = None
        if objective.latency is not None:
            latency = {
                "threshold_seconds": objective.latency.threshold,
                "threshold": format_duration(objective.latency.threshold),
                "target": objective.latency.target,
                "error_budget": objective.latency.error_budget,
            }
        alerts = []
        for alert in objective.alerts:
            entry = {
                "severity": alert.severity,
                "long": format_duration(alert.long_window),
                "short": format_duration(alert.short_window),
                "long_window_seconds": alert.long_window,
                "short_window_seconds": alert.short_window,
                "budget_fraction": alert.budget_fraction,
                "burn_rate": alert.burn_rate,
                "availability_error_ratio_threshold": alert.error_ratio_threshold(
                    objective.error_budget
                ),
            }
            if objective.latency is not None:
                entry["latency_error_ratio_threshold"] = alert.error_ratio_threshold(
                    objective.latency.error_budget
                )
            alerts.append(entry)
        journeys.append(
            {
                "name": objective.name,
                "line": objective.line,
                "description": objective.description,
                "availability": objective.availability,
                "error_budget": objective.error_budget,
                "budget_minutes": budget_minutes(objective.availability, objective.window.seconds),
                "latency": latency,
                "window": {
                    "label": objective.window.label,
                    "kind": objective.window.kind,
                    "seconds": objective.window.seconds,
                },
                "routes": list(objective.routes),
                "expected_rate": objective.expected_rate,
                "alerts": alerts,
            }
        )
    return {
        "valid": True,
        "source": spec.source,
        "service": spec.service,
        "journey_cap": spec.journey_cap,
        "journeys": journeys,
        "warnings": list(spec.warnings),
    }


def _table(report: dict[str, Any]) -> str:
    lines = [
        f"{report['source']}: valid: service {report['service']!r}, "
        f"{len(report['journeys'])} journey(s)"
    ]
    for journey in report["journeys"]:
        lines.append("")
        objectives = (
            f"availability {journey['availability']:g}% over {journey['window']['label']} "
            f"(error budget {_percent(journey['error_budget'])} = "
            f"{journey['budget_minutes']:.1f} min)"
        )
        if journey["latency"] is not None:
            latency = journey["latency"]
            objectives += f"; latency {latency['target']:g}% within {latency['threshold']}"
        lines.append(f"{journey['name']}: {objectives}")
        if journey["routes"]:
            lines.append(f"  routes: {', '.join(journey['routes'])}")
        if not journey["alerts"]:
            lines.append("  alerts: none")
        for alert in journey["alerts"]:
            windows = f"{alert['long']}/{alert['short']}"
            text = (
                f"  {alert['severity']:<6} {windows:<9} {_percent(alert['budget_fraction']):>6} "
                f"of budget  burn rate {alert['burn_rate']:<7.4g} fires above error ratio "
                f"{_percent(alert['availability_error_ratio_threshold'])}"
            )
            if "latency_error_ratio_threshold" in alert:
                text += f" (slow ratio {_percent(alert['latency_error_ratio_threshold'])})"
            lines.append(text)
    if report["warnings"]:
        lines.append("")
        lines.append(f"warnings ({len(report['warnings'])}):")
        lines.extend(f"  {warning}" for warning in report["warnings"])
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    try:
        spec = _load(args)
    except ConfigurationError as exc:
        if getattr(args, "debug", False):
            raise
        if args.json:
            print(json.dumps({"valid": False, "error": str(exc)}, indent=2))
        print_error(str(exc))
        return EXIT_BREACH
    report = _describe(spec)
    try:
        print(json.dumps(report, indent=2) if args.json else _table(report))
        sys.stdout.flush()
    except BrokenPipeError:  # `validate ... | head`: the reader has seen enough
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
    if args.strict and spec.warnings:
        print_error(f"{len(spec.warnings)} warning(s) and --strict")
        return EXIT_BREACH
    return EXIT_OK
