"""Run every benchmark: ``python -m benchmarks [name ...]`` from the repository root.

Each ``benchmarks/bench_<name>.py`` module has a ``main(argv) -> int`` and runs in its own
interpreter (OpenTelemetry allows one global MeterProvider per process, and one benchmark's
caches must not warm up another's). ``python -m benchmarks core`` runs only ``bench_core``.
Arguments after ``--`` are passed to every module.
"""

from __future__ import annotations

import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def modules() -> list[str]:
    return sorted(p.stem for p in HERE.glob("bench_*.py"))


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import os

        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        import os

        cores = os.cpu_count() or 0
    return (
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()} {platform.machine()}, {cpu}, {cores} cores"
    )


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in args:
        extra = args[args.index("--") + 1 :]
        args = args[: args.index("--")]
    available = modules()
    wanted = [a if a.startswith("bench_") else f"bench_{a}" for a in args] or available
    unknown = [w for w in wanted if w not in available]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {available}", file=sys.stderr)
        return 2
    print(f"# {machine()}")
    status = 0
    for name in wanted:
        print(f"\n## {name}", flush=True)
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", f"benchmarks.{name}", *extra], cwd=HERE.parent, check=False
        )
        print(f"({name}: {time.perf_counter() - started:.0f}s, exit {result.returncode})")
        status = status or result.returncode
    return status


if __name__ == "__main__":
    sys.exit(main())
