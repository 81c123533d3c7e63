"""Where the server CPU of a request goes, per Python function: the load tier's Starlette app
under uvicorn, bare and instrumented, sampled by ``perf`` while both take load.

    python tests/reliability/served_profile.py [seconds of load per variant, default 20]

``instruction_count.py`` says how much code sli_instrument adds to a request; this says what that
code costs where it runs, beside the application's own work, which the instruction count cannot:
the same instructions take longer when the application's work between two of our calls has
evicted our code and data from the caches. Both servers run the app of ``test_load.py`` pinned to
one core and take the load in alternating one-second turns from a load generator on the other
(as in the load tier), while ``perf record -e cpu-clock --call-graph dwarf`` samples them. Each
sample is charged to the innermost Python function on its stack, so a function's figure is its
own time plus the C it calls (allocation, the clock, locks); it is printed in microseconds of CPU
per request, with the server CPU per request of both variants measured from ``/proc``.

Needs ``perf`` (Debian ``linux-perf``; the software ``cpu-clock`` event, so no hardware counters)
and a Python 3.12 or later (its ``-X perf`` names Python functions in perf's samples): the first
``python3.13``/``python3.12`` of pyenv or ``PATH``. The script builds its own virtual environment
(``.venvs/profile``: the package with its ``starlette`` extra, uvicorn and h11) and takes a few
minutes. Sampling adds its own cost to both variants alike; the ratio it prints is not the load
tier's.
"""

from __future__ import annotations

import collections
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))
from harness import Server, cpu_seconds  # noqa: E402
from instruction_count import STARLETTE  # noqa: E402

from tests.support.loadgen import run_in_subprocess  # noqa: E402

VENV = ROOT / ".venvs" / "profile"
FREQUENCY = 499  # samples per CPU-second: every sample copies a stack, so few
TURN = 1.0
VARIANTS = {"bare": "0", "instrumented": "1"}
#: Export as in the load tier (every 5 s), to a port where nothing listens (off the request path).
ENV = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", "OTEL_METRIC_EXPORT_INTERVAL": "5000"}


def _python() -> str:
    """A Python 3.12+ interpreter: pyenv's versions first (its shims expose only one)."""
    candidates: list[str] = []
    pyenv_root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    for version in ("3.13", "3.12"):
        candidates += sorted(
            map(str, Path(pyenv_root, "versions").glob(f"{version}.*/bin/python3"))
        )
        found = shutil.which(f"python{version}")
        if found:
            candidates.append(found)
    for candidate in candidates:
        if subprocess.run([candidate, "-c", "pass"], capture_output=True).returncode == 0:
            return candidate
    raise SystemExit("served_profile: needs Python 3.12 or later (python3.13 or python3.12)")


def _venv_python() -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        print(f"served_profile: building {VENV.relative_to(ROOT)}", flush=True)
        subprocess.run([_python(), "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[starlette]"]
            + ["uvicorn", "h11"],
            check=True,
        )
    return python


def _launcher(directory: Path, python: Path) -> Path:
    """An executable that runs uvicorn under ``python -X perf`` (the harness adds host and port)."""
    path = directory / "uvicorn-perf"
    path.write_text(f'#!/bin/sh\nexec "{python}" -X perf -m uvicorn "$@"\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _charge(script: str) -> collections.Counter[str]:
    """Samples per innermost Python function (``name file``), from ``perf script`` output."""
    counts: collections.Counter[str] = collections.Counter()
    first: Optional[str] = None
    python: Optional[str] = None
    for line in script.splitlines() + [""]:
        if not line.startswith("\t"):
            if first is not None:
                counts[python or f"[no Python frame] {first}"] += 1
            first = python = None
            continue
        symbol = line.strip().split(None, 1)[-1]
        first = first or symbol
        if python is None and symbol.startswith("py::"):
            name, _, path = symbol[4:].partition(":")
            python = f"{name} {path}"
    return counts


def _ours(key: str) -> bool:
    return f"{os.sep}sli_instrument{os.sep}" in key


def main(argv: list[str]) -> int:
    seconds = float(argv[1]) if len(argv) > 1 else 20.0
    if shutil.which("perf") is None:
        raise SystemExit("served_profile: needs perf (Debian package linux-perf)")
    python = _venv_python()
    pinned = (os.cpu_count() or 1) >= 2
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        launcher = _launcher(work, python)
        servers = {
            name: Server(
                argv=[str(launcher), "--no-access-log", "--loop", "asyncio", "--http", "h11"]
                + ["reliapp_asgi:app"],
                env={**ENV, "RELIAPP_INSTRUMENT": flag},
                log_path=work / f"{name}.log",
                cpus={0} if pinned else None,
                name=name,
            )
            for name, flag in VARIANTS.items()
        }
        answered = dict.fromkeys(servers, 0)
        used = dict.fromkeys(servers, 0.0)
        perfs: list[subprocess.Popen[bytes]] = []
        try:
            for server in servers.values():
                server.start()
                run_in_subprocess(
                    server.host, server.port, STARLETTE, connections=8, duration=3.0
                )  # warm-up, not sampled
            for name, server in servers.items():
                perfs.append(
                    subprocess.Popen(
                        ["perf", "record", "--quiet", "-e", "cpu-clock", "-F", str(FREQUENCY)]
                        + ["--call-graph", "dwarf,16384", "-p", str(server.pid)]
                        + ["-o", str(work / f"{name}.data")],
                    )
                )
            turns = max(2, round(seconds / TURN))
            names = list(servers)
            for turn in range(turns):
                # ABBA: each variant as often first as second in a pair of turns.
                for name in names if turn % 4 in (0, 3) else names[::-1]:
                    server = servers[name]
                    before = cpu_seconds(server.pid) or 0.0
                    result = run_in_subprocess(
                        server.host,
                        server.port,
                        STARLETTE,
                        connections=8,
                        duration=TURN,
                        cpus=[1] if pinned else None,
                    )
                    used[name] += (cpu_seconds(server.pid) or 0.0) - before
                    answered[name] += result.answered
        finally:
            for process in perfs:
                process.send_signal(2)  # SIGINT: perf writes its file and exits
            for process in perfs:
                process.wait(60)
            for server in servers.values():
                server.stop()
        charged = {
            name: _charge(
                subprocess.run(
                    ["perf", "script", "-F", "tid,ip,sym", "-i", str(work / f"{name}.data")],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )
            for name in servers
        }
    _report(python, seconds, answered, used, charged)
    return 0


def _report(
    python: Path,
    seconds: float,
    answered: dict[str, int],
    used: dict[str, float],
    charged: dict[str, collections.Counter[str]],
) -> None:
    version = subprocess.run(
        [str(python), "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
    ).stdout.strip()

    def per_request(name: str, samples: float) -> float:
        return samples * 1e6 / FREQUENCY / answered[name]

    bare_cpu = used["bare"] * 1e6 / answered["bare"]
    inst_cpu = used["instrumented"] * 1e6 / answered["instrumented"]
    print(
        f"served-profile: Python {version}, uvicorn (h11, asyncio), {seconds:g} s of load per "
        f"variant, perf at {FREQUENCY} Hz"
    )
    print(
        f"server CPU per request: bare {bare_cpu:.1f} µs, instrumented {inst_cpu:.1f} µs "
        f"(+{inst_cpu - bare_cpu:.1f} µs; capacity ratio {bare_cpu / inst_cpu:.3f}; "
        f"requests {answered['bare']:,} and {answered['instrumented']:,})"
    )
    bare, inst = charged["bare"], charged["instrumented"]
    sampled = per_request("instrumented", sum(inst.values())) - per_request(
        "bare", sum(bare.values())
    )
    print(f"sampled difference: +{sampled:.1f} µs per request")
    ours = sorted(((count, key) for key, count in inst.items() if _ours(key)), reverse=True)
    total = 0.0
    print("sli_instrument's functions (own time and the C they call), µs per request:")
    for count, key in ours:
        value = per_request("instrumented", count)
        total += value
        if value >= 0.05:
            print(f"  {value:6.2f}  {_short(key)}")
    print(f"  {total:6.2f}  in all")
    changes = sorted(
        (
            (per_request("instrumented", inst[key]) - per_request("bare", bare[key]), key)
            for key in set(bare) | set(inst)
            if not _ours(key)
        ),
        reverse=True,
    )
    print("the rest of the process, largest differences (instrumented - bare), µs per request:")
    for value, key in changes[:8] + changes[-4:]:
        print(f"  {value:+6.2f}  {_short(key)}")
    print(f"  {sum(value for value, _ in changes):+6.2f}  in all")


def _short(key: str) -> str:
    name, _, path = key.partition(" ")
    return f"{name} ({Path(path).name})" if path.startswith(os.sep) else key


if __name__ == "__main__":
    sys.exit(main(sys.argv))
