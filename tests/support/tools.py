"""External tools tests run for real (promtool, prometheus, cfn-lint), found or failed loudly."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest


def require_tool(name: str) -> str:
    """Path of executable ``name``; fails the test (not skips) when it is missing."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name!r} is not installed: run scripts/system-deps (as root) to install the Debian "
            "packages the tests need",
            pytrace=False,
        )
    return path


def cfn_lint(templates: Sequence[Path]) -> subprocess.CompletedProcess[str]:
    """Run cfn-lint (the one installed with the test extras) on ``templates``."""
    return subprocess.run(
        [_cfn_lint_command(), "--format", "parseable", *map(str, templates)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_cfn_lint_clean(templates: Sequence[Path]) -> None:
    result = cfn_lint(templates)
    # Exit code bits: 2 errors, 4 warnings, 8 informational. We accept none of them.
    assert result.returncode == 0, f"cfn-lint found problems:\n{result.stdout}{result.stderr}"


def _cfn_lint_command() -> str:
    # The console script sits next to the interpreter running the tests (the project's venv).
    candidate = Path(sys.executable).with_name("cfn-lint")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("cfn-lint")
    if found is None:
        pytest.fail("cfn-lint is not installed: pip install cfn-lint (scripts/test does)")
    return found
