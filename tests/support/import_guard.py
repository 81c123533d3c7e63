"""Run code in a fresh interpreter where some top-level packages cannot be imported.

Proves that the core and each integration import only what they need: a ``sys.meta_path``
finder raises ``ImportError`` for the blocked names (as if they were not installed), and after
the code ran, none of them may be in ``sys.modules``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_PRELUDE = """
import sys

BLOCKED = {blocked!r}

class _Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{{name}} is blocked for this test (not installed)")
        return None

sys.meta_path.insert(0, _Blocker())
"""

_EPILOGUE = """
leaked = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
assert not leaked, f"imported blocked modules: {leaked}"
"""


def run_with_blocked(blocked: Sequence[str], code: str, timeout: float = 60.0) -> str:
    """Run ``code`` with ``blocked`` top-level packages unimportable; return its stdout."""
    source = _PRELUDE.format(blocked=sorted(blocked)) + textwrap.dedent(code) + _EPILOGUE
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    for key in list(env):
        if key.startswith(("OTEL_", "SLI_")):
            del env[key]
    completed = subprocess.run(
        [sys.executable, "-c", source],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=str(ROOT),
    )
    if completed.returncode != 0:
        raise AssertionError(
            f"exit {completed.returncode}\nstdout:\n{completed.stdout}\nstderr:\n{completed.stderr}"
        )
    return completed.stdout
