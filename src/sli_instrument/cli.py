"""``sli-instrument``: demo, validate, generate, report.

Each subcommand lives in ``sli_instrument/_cli/<name>.py`` with ``add_parser(subparsers)`` and
``run(args) -> int``. Errors are one line on stderr (a traceback only with ``--debug``); exit codes
are 0 ok, 1 SLO breached or validation failed, 2 usage error, bad configuration or a command that
could not run. See docs/cli.md.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Optional

from ._cli.common import EXIT_USAGE, CommandError, print_error
from .errors import ConfigurationError

SUBCOMMANDS = ("demo", "validate", "generate", "report")

EPILOG = """\
shared options: --slo FILE (the SLO file; env SLI_SLO_FILE), -o/--out FILE, --json,
  --otlp-endpoint URL, --debug (tracebacks instead of one-line errors)
exit codes: 0 ok; 1 an SLO is breached or validation failed; 2 usage error, bad
  configuration, or the command could not run
first time here? run: sli-instrument demo
docs: https://github.com/sli-instrument/sli_instrument/tree/main/docs
"""

_DEBUG_HELP = "show tracebacks instead of one-line errors"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sli-instrument",
        description=(
            "Critical user journeys as SLIs: run the demo, validate an SLO file, generate alarms, "
            "rules, dashboards and collector config from it, and report error budgets."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--debug", action="store_true", help=_DEBUG_HELP)
    parser.add_argument("--version", action="version", version=_version())
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"sli_instrument._cli.{name}")
        except ImportError as exc:
            if exc.name != f"sli_instrument._cli.{name}":
                raise
            continue
        module.add_parser(subparsers)
    for subparser in subparsers.choices.values():
        # ``--debug`` after the subcommand too; SUPPRESS keeps a value given before it.
        if not any("--debug" in action.option_strings for action in subparser._actions):
            subparser.add_argument(
                "--debug", action="store_true", default=argparse.SUPPRESS, help=_DEBUG_HELP
            )
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    module = importlib.import_module(f"sli_instrument._cli.{args.command}")
    try:
        return int(module.run(args))
    except CommandError as exc:
        if args.debug:
            raise
        print_error(str(exc))
        return exc.exit_code
    except ConfigurationError as exc:
        if args.debug:
            raise
        print_error(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        print_error("interrupted")
        return 130
    except Exception as exc:
        if args.debug:
            raise
        print_error(
            f"{args.command} failed: {type(exc).__name__}: {exc} "
            "(run with --debug for the traceback)"
        )
        return EXIT_USAGE


def _version() -> str:
    from . import __version__

    return f"sli-instrument {__version__}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
