"""Instructions per request of the Flask shop example, bare and instrumented (callgrind).

    python tests/reliability/instruction_count.py

CPU time on a shared machine moves by tens of percent between identical runs; an instruction count
under ``valgrind --tool=callgrind`` does not. Each variant runs the shop's request mix in process
(see ``inprocess_overhead.py``) for two different numbers of rounds; the difference, divided by the
difference in requests, is the cost of one request without interpreter start-up and warm-up.
Needs ``valgrind`` (Debian package); takes a few minutes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from inprocess_overhead import APPS, MIX_SIZE, SLO, child_source  # noqa: E402

SHORT, LONG = 50, 150


def instructions(instrumented: bool, rounds: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                sys.executable,
                "-c",
                child_source(warmup=50, rounds=rounds),
                "1" if instrumented else "0",
                str(APPS),
                str(SLO),
            ],
            capture_output=True,
            check=True,
            timeout=900,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        for line in out.read_text().splitlines():
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise RuntimeError("callgrind wrote no total")


def per_request(instrumented: bool) -> float:
    short = instructions(instrumented, SHORT)
    long = instructions(instrumented, LONG)
    return (long - short) / ((LONG - SHORT) * MIX_SIZE)


def main() -> int:
    bare = per_request(False)
    inst = per_request(True)
    print(f"instructions per request: bare {bare:,.0f}, instrumented {inst:,.0f}")
    print(f"overhead {inst - bare:,.0f} instructions per request ({inst / bare - 1:+.1%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
