"""The ``sli-instrument`` command line: help for every subcommand, one-line errors, --debug,
exit codes, ``python -m sli_instrument``."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sli_instrument import cli

SUBCOMMANDS = ("demo", "validate", "generate", "report")


def test_top_level_help_lists_every_subcommand_and_the_conventions(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for name in SUBCOMMANDS:
        assert f"\n    {name} " in text
    assert "exit codes: 0 ok; 1 an SLO is breached" in text
    assert "--slo FILE" in text and "--otlp-endpoint URL" in text


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_every_subcommand_has_complete_help(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([name, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: sli-instrument {name}")
    assert "--debug" in text
    # Every option has a help text: no option line ends bare.
    options = list(cli.build_parser()._subparsers._group_actions[0].choices[name]._actions)
    assert all(action.help for action in options), [a.option_strings for a in options]


def test_shared_options_are_spelled_the_same():
    parsers = cli.build_parser()._subparsers._group_actions[0].choices
    flags = {name: {s for a in p._actions for s in a.option_strings} for name, p in parsers.items()}
    assert {"--slo"} <= flags["validate"] & flags["generate"] & flags["report"]
    assert {"-o", "--out"} <= flags["generate"] & flags["demo"]
    assert "--json" in flags["validate"] & flags["report"]
    assert {"--otlp-endpoint", "--slo", "--json"} <= flags["demo"]


def test_no_command_is_a_usage_error(capsys):
    assert cli.main([]) == 2
    assert "usage: sli-instrument" in capsys.readouterr().err


def test_errors_are_one_line_and_debug_shows_the_traceback(tmp_path):
    missing = str(tmp_path / "nope.yaml")
    argv = [sys.executable, "-m", "sli_instrument", "validate", "--slo", missing]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode in (1, 2)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("sli-instrument: error: ")
    assert "nope.yaml" in lines[0]
    debug = subprocess.run(
        [*argv, "--debug"], capture_output=True, text=True, timeout=60, check=False
    )
    assert debug.returncode != 0 and "Traceback (most recent call last)" in debug.stderr


def test_print_error_keeps_one_line(capsys):
    from sli_instrument._cli.common import print_error

    print_error("first line\n  second line\n")
    assert capsys.readouterr().err == "sli-instrument: error: first line second line\n"


def test_console_script_is_installed():
    from pathlib import Path

    script = Path(sys.executable).with_name("sli-instrument")
    result = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0 and result.stdout.startswith("sli-instrument ")
