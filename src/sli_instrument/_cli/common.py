"""Options every subcommand spells the same way, and the one-line error convention.

Exit codes: 0 ok; 1 an SLO is breached or validation failed; 2 usage error, bad configuration, or
a command that could not run.

Every subcommand spells a shared option the same way: ``--slo FILE`` (env ``SLI_SLO_FILE``),
``-o/--out FILE``, ``--json``, ``--otlp-endpoint URL``; and ``--debug`` works before or after the
subcommand.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

EXIT_OK = 0
EXIT_BREACH = 1
EXIT_USAGE = 2


class CommandError(Exception):
    """A one-line, user-facing error; ``exit_code`` says which code to leave with."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def add_slo_option(
    parser: argparse.ArgumentParser,
    *,
    required: bool = True,
    help: str = "the SLO file (YAML); env SLI_SLO_FILE",
) -> None:
    parser.add_argument("--slo", metavar="FILE", required=required, help=help)


def add_output_option(
    parser: argparse.ArgumentParser, *, help: str = "write to FILE instead of standard output"
) -> None:
    parser.add_argument("-o", "--out", metavar="FILE", help=help)


def add_json_option(
    parser: argparse.ArgumentParser, *, help: str = "print JSON instead of a table"
) -> None:
    parser.add_argument("--json", action="store_true", help=help)


def add_otlp_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--otlp-endpoint",
        metavar="URL",
        help="send metrics over OTLP to this collector (e.g. http://localhost:4318)",
    )


def fail(message: str, exit_code: int = EXIT_USAGE) -> NoReturn:
    raise CommandError(message, exit_code)


def print_error(message: str) -> None:
    """One line on stderr, whatever the message holds (a traceback is what ``--debug`` is for)."""
    line = " ".join(message.split())
    print(f"sli-instrument: error: {line}", file=sys.stderr)
