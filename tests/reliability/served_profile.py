"""Where the server CPU of a request goes, per Python function: the load tier's Starlette app
under uvicorn, bare and measured, sampled by ``perf`` while both take load.

    python tests/reliability/served_profile.py [SECONDS [MIDDLEWARE]]

SECONDS of load per variant (default 20); MIDDLEWARE is what measures the second server:
``sli_instrument`` (default: the load tier's instrumented app), ``configured`` (sli_instrument
imported and configured but measuring nothing, as in the reference run) or one of the reference
run's middlewares, ``timing`` or ``prometheus`` (``reliapp_reference.py``), for comparison.

``instruction_count.py`` says how much code sli_instrument adds to a request; this says what that
code costs where it runs, beside the application's own work, which the instruction count cannot (the
same instructions take longer with cold caches, and the application's own code may run slower beside
ours). Both servers run the load tier's Starlette app pinned to one core and take the load in
alternating one-second turns from a load generator on the other (as in the load tier), while ``perf
record -e cpu-clock --call-graph dwarf`` samples them. Each sample is charged to the innermost
Python function on its stack, so a function's figure is its own time plus the C it calls
(allocation, the clock, locks); it is printed in microseconds of CPU per request, with the server
CPU per request of both variants measured from ``/proc``: the middleware's own functions, then how
much more or less time the rest of the process (the application, Starlette, uvicorn, asyncio) takes
per request than in the bare server.

Needs ``perf`` (Debian ``linux-perf``; the software ``cpu-clock`` event, so no hardware counters)
and a Python 3.12 or later (its ``-X perf`` names Python functions in perf's samples): the first
``python3.13``/``python3.12`` of pyenv or ``PATH``. The script builds its own virtual environment
(``.venvs/profile``: the package with its ``starlette`` extra, uvicorn, h11 and prometheus-client)
and takes a few minutes. Sampling adds its own cost to both variants alike; the ratio it prints
is not the load tier's.
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
from harness import Server, measured_turn  # noqa: E402
from instruction_count import STARLETTE  # noqa: E402

from tests.reliability.test_load_references import VARIANTS  # noqa: E402
from tests.support.loadgen import run_in_subprocess  # noqa: E402

VENV = ROOT / ".venvs" / "profile"
FREQUENCY = 499  # samples per CPU-second: every sample copies a stack, so few
TURN = 1.0
#: The measuring middlewares: app and environment as in the reference run, and where their own
#: functions are (path parts).
MIDDLEWARES: dict[str, tuple[str, dict[str, str], tuple[str, ...]]] = {
    "sli_instrument": (*VARIANTS["sli_instrument"], ("sli_instrument",)),
    # Imported and configured (SDK, exporter, export thread), measuring nothing: the process alone.
    "configured": (*VARIANTS["configured_only"], ("sli_instrument",)),
    "timing": (*VARIANTS["timing"], ("reliapp_reference.py",)),
    "prometheus": (
        *VARIANTS["prometheus"],
        ("reliapp_reference.py", "bench_http.py", "prometheus_client"),
    ),
}
BARE = VARIANTS["bare"]
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
    probe = "import h11, prometheus_client, sli_instrument, starlette, uvicorn"
    if subprocess.run([str(python), "-c", probe], capture_output=True).returncode != 0:
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[starlette]"]
            + ["uvicorn", "h11", "prometheus-client"],
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


def _owned(key: str, parts: tuple[str, ...]) -> bool:
    """Whether the function ``key`` (``name path``) is one of the middleware's (``parts``)."""
    path = key.partition(" ")[2].split(os.sep)
    return any(part in path for part in parts)


def main(argv: list[str]) -> int:
    seconds = float(argv[1]) if len(argv) > 1 else 20.0
    middleware = argv[2] if len(argv) > 2 else "sli_instrument"
    if middleware not in MIDDLEWARES:
        raise SystemExit(
            f"served_profile: middleware {middleware!r}: expected one of {list(MIDDLEWARES)}"
        )
    measured_app, measured_env, parts = MIDDLEWARES[middleware]
    variants = {"bare": BARE, "measured": (measured_app, measured_env)}
    if shutil.which("perf") is None:
        raise SystemExit("served_profile: needs perf (Debian package linux-perf)")
    python = _venv_python()
    pinned = (os.cpu_count() or 1) >= 2
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        launcher = _launcher(work, python)
        servers = {
            name: Server(
                argv=[str(launcher), "--no-access-log", "--loop", "asyncio", "--http", "h11", app],
                env={**ENV, **extra},
                log_path=work / f"{name}.log",
                cpus={0} if pinned else None,
                name=name,
            )
            for name, (app, extra) in variants.items()
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
                    result, cpu = measured_turn(
                        servers[name], STARLETTE, TURN, [1] if pinned else None
                    )
                    used[name] += cpu
                    answered[name] += result.answered
        finally:
            for process in perfs:
                process.send_signal(2)  # SIGINT: perf writes its file and exits
            for process in perfs:
                process.wait(60)
            for server in servers.values():
                server.stop()
        for name in servers:
            if not (work / f"{name}.data").exists():
                raise SystemExit(
                    "served_profile: perf recorded nothing (is kernel.perf_event_paranoid above 2?)"
                )
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
    _report(python, seconds, middleware, parts, answered, used, charged)
    return 0


def _report(
    python: Path,
    seconds: float,
    middleware: str,
    parts: tuple[str, ...],
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
    measured_cpu = used["measured"] * 1e6 / answered["measured"]
    print(
        f"served-profile: {middleware} against the bare app, Python {version}, uvicorn (h11, "
        f"asyncio), {seconds:g} s of load per variant, perf at {FREQUENCY} Hz"
    )
    print(
        f"server CPU per request: bare {bare_cpu:.1f} µs, {middleware} {measured_cpu:.1f} µs "
        f"({measured_cpu - bare_cpu:+.1f} µs; capacity ratio {bare_cpu / measured_cpu:.3f}; "
        f"requests {answered['bare']:,} and {answered['measured']:,})"
    )
    bare, measured = charged["bare"], charged["measured"]
    sampled = per_request("measured", sum(measured.values())) - per_request(
        "bare", sum(bare.values())
    )
    print(f"sampled difference: {sampled:+.1f} µs per request")
    own = sorted(((n, key) for key, n in measured.items() if _owned(key, parts)), reverse=True)
    total = 0.0
    print(f"{middleware}'s functions (own time and the C they call), µs per request:")
    for count, key in own:
        value = per_request("measured", count)
        total += value
        if value >= 0.05:
            print(f"  {value:6.2f}  {_short(key)}")
    print(f"  {total:6.2f}  in all")
    changes = sorted(
        (
            (per_request("measured", measured[key]) - per_request("bare", bare[key]), key)
            for key in set(bare) | set(measured)
            if not _owned(key, parts)
        ),
        reverse=True,
    )
    print(f"the rest of the process, largest differences ({middleware} - bare), µs per request:")
    for value, key in changes[:8] + changes[-4:]:
        print(f"  {value:+6.2f}  {_short(key)}")
    print(f"  {sum(value for value, _ in changes):+6.2f}  in all")


def _short(key: str) -> str:
    name, _, path = key.partition(" ")
    return f"{name} ({Path(path).name})" if path.startswith(os.sep) else key


if __name__ == "__main__":
    sys.exit(main(sys.argv))
