"""Running real servers for the reliability tiers and watching their processes through /proc.

* :class:`Server` starts gunicorn or uvicorn on a listening socket the test created (port 0, passed
  by file descriptor, so there is no port race), with its output in a log file, optionally pinned
  to some CPUs, and stops it (SIGTERM, then SIGKILL after a bound).
* :class:`Sampler` samples resident memory (``VmRSS``) and thread count of the server's processes
  every ``interval`` seconds in a background thread.
* :func:`slope_kib_per_min` is the least-squares slope of RSS over time after warm-up.

Linux only (``/proc``); the reliability tiers are skipped elsewhere.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from tests.support.loadgen import LoadResult, Req

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
APPS = Path(__file__).resolve().parent / "apps"


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


# -- /proc ---------------------------------------------------------------------------------------


def children(pid: int) -> list[int]:
    """Direct children of ``pid``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # Field 4 is the parent pid; the command name (field 2) may contain spaces and parentheses.
        rest = stat[stat.rfind(b")") + 2 :].split()
        if len(rest) > 1 and int(rest[1]) == pid:
            found.append(int(entry))
    return sorted(found)


def rss_kib(pid: int) -> Optional[int]:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def thread_count(pid: int) -> Optional[int]:
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return None


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> Optional[float]:
    """User + system CPU time of ``pid`` (all its threads), in seconds."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 2 :].split()
    # After the command: state(3) ppid(4) ... utime(14) stime(15), so indexes 11 and 12 here.
    return (int(fields[11]) + int(fields[12])) / _TICKS


def measured_turn(
    server: Server,
    requests: Sequence[Req],
    seconds: float,
    cpus: Optional[Sequence[int]],
    connections: int = 8,
) -> tuple[LoadResult, float]:
    """One turn of load on ``server`` from a separate (optionally pinned) load-generator process:
    the load's result and the CPU-seconds the server's processes used meanwhile."""
    from tests.support.loadgen import run_in_subprocess

    before = server_cpu_seconds(server)
    result = run_in_subprocess(
        server.host,
        server.port,
        requests,
        connections=connections,
        duration=seconds,
        cpus=cpus,
    )
    return result, server_cpu_seconds(server) - before


def server_cpu_seconds(server: Server) -> float:
    """CPU-seconds of the server so far: the master (gunicorn) or the one process (uvicorn) and
    the workers, each once."""
    return sum(cpu_seconds(pid) or 0.0 for pid in {server.pid, *server.workers()})


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2 :][:1] not in (b"Z", b"X")


# -- servers -------------------------------------------------------------------------------------


@dataclass
class Server:
    """A server process (gunicorn master or uvicorn) serving on a socket we bound."""

    argv: list[str]
    env: dict[str, str]
    log_path: Path
    cpus: Optional[set[int]] = None
    name: str = "server"
    proc: Optional[subprocess.Popen[bytes]] = None
    #: Readiness probes answered (each is one request the app served: an ``unclaimed`` event).
    probes: int = 0
    sock: Optional[socket.socket] = None
    _log: Optional[object] = field(default=None, repr=False)
    _port: int = 0

    @classmethod
    def gunicorn(
        cls,
        app: str,
        *,
        log_path: Path,
        env: dict[str, str],
        workers: int = 2,
        worker_class: str = "sync",
        threads: int = 1,
        extra: Sequence[str] = (),
        cpus: Optional[set[int]] = None,
        name: str = "gunicorn",
    ) -> Server:
        argv = [
            str(VENV_BIN / "gunicorn"),
            "--workers",
            str(workers),
            "--worker-class",
            worker_class,
            "--threads",
            str(threads),
            "--graceful-timeout",
            "10",
            "--timeout",
            "60",
            "--log-level",
            "info",
            "--error-logfile",
            "-",
            *extra,
            app,
        ]
        return cls(argv=argv, env=env, log_path=log_path, cpus=cpus, name=name)

    @classmethod
    def uvicorn(
        cls,
        app: str,
        *,
        log_path: Path,
        env: dict[str, str],
        extra: Sequence[str] = (),
        cpus: Optional[set[int]] = None,
        name: str = "uvicorn",
    ) -> Server:
        argv = [
            str(VENV_BIN / "uvicorn"),
            "--no-access-log",
            "--log-level",
            "info",
            "--loop",
            "asyncio",
            "--http",
            "h11",
            *extra,
            app,
        ]
        return cls(argv=argv, env=env, log_path=log_path, cpus=cpus, name=name)

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        if self._port:
            return self._port
        assert self.sock is not None
        return int(self.sock.getsockname()[1])

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, ready_timeout: float = 30.0) -> Server:
        self.sock = listening_socket()
        fd = self.sock.fileno()
        argv = list(self.argv)
        pass_fds: tuple[int, ...] = (fd,)
        if "gunicorn" in Path(argv[0]).name:
            argv[1:1] = ["--bind", f"fd://{fd}"]
        else:
            # uvicorn's --fd treats the socket as AF_UNIX (so asyncio never sets TCP_NODELAY on
            # its connections, and Nagle adds ~40 ms per response): give it a port instead. The
            # port is ours until the socket is closed just before the server binds it.
            argv[1:1] = ["--host", "127.0.0.1", "--port", str(self.port)]
            pass_fds = ()
        env = {**os.environ, **self.env}
        env["PYTHONPATH"] = os.pathsep.join(
            [str(ROOT), str(APPS), *filter(None, [env.get("PYTHONPATH")])]
        )
        env.setdefault("PYTHONUNBUFFERED", "1")
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        if not pass_fds:
            self._port = self.port
            self.sock.close()
        cpus = self.cpus

        def pin() -> None:
            if cpus and hasattr(os, "sched_setaffinity"):
                os.sched_setaffinity(0, cpus)

        self.proc = subprocess.Popen(
            argv,
            env=env,
            cwd=str(ROOT),
            stdout=self._log,  # type: ignore[arg-type]
            stderr=subprocess.STDOUT,
            pass_fds=pass_fds,
            preexec_fn=pin,
            start_new_session=True,
        )
        self.wait_ready(ready_timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        """Until the app answers on its socket (every worker imported) or the process died."""
        from tests.support.loadgen import Req, fetch

        deadline = time.monotonic() + timeout
        last: Optional[BaseException] = None
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode}:\n{self.log_text()[-3000:]}"
                )
            try:
                fetch(self.host, self.port, Req("/__ready"), timeout=2)
                self.probes += 1
                return
            except Exception as exc:  # refused, reset, or closed early while workers boot
                last = exc
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready in {timeout}s ({last!r}):\n{self.log_text()}")

    def workers(self) -> list[int]:
        """Worker pids (gunicorn's children; for uvicorn without --workers, the process itself)."""
        kids = [p for p in children(self.pid) if alive(p)]
        if "gunicorn" in Path(self.argv[0]).name:
            return kids
        return kids or [self.pid]

    def wait_workers(self, n: int, timeout: float = 30.0) -> list[int]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pids = self.workers()
            if len(pids) >= n:
                return pids
            time.sleep(0.05)
        raise AssertionError(f"{self.name}: {n} workers expected, have {self.workers()}")

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, timeout: float = 20.0) -> Optional[int]:
        """Graceful stop (SIGTERM: the servers flush and exit); SIGKILL after ``timeout``."""
        code: Optional[int] = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                code = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                code = self.proc.wait(10)
        elif self.proc is not None:
            code = self.proc.returncode
        if self.sock is not None:
            self.sock.close()
        if self._log is not None:
            self._log.close()  # type: ignore[attr-defined]
            self._log = None
        return code

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- sampling ------------------------------------------------------------------------------------


@dataclass
class Sample:
    t: float
    pid: int
    rss_kib: int
    threads: int


class Sampler:
    """Samples RSS and thread count of ``pids()`` every ``interval`` s until stopped."""

    def __init__(self, pids: object, interval: float = 0.5) -> None:
        self._pids = pids
        self.interval = interval
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self.t0 = time.monotonic()

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> None:
        now = time.monotonic() - self.t0
        for pid in self._pids():  # type: ignore[operator]
            rss, threads = rss_kib(pid), thread_count(pid)
            if rss is not None and threads is not None:
                self.samples.append(Sample(now, pid, rss, threads))

    def stop(self) -> Sampler:
        self._stop.set()
        self._thread.join(5)
        return self

    def by_pid(self) -> dict[int, list[Sample]]:
        out: dict[int, list[Sample]] = {}
        for s in self.samples:
            out.setdefault(s.pid, []).append(s)
        return out

    def max_threads(self, since: float = 0.0) -> dict[int, int]:
        out: dict[int, int] = {}
        for s in self.samples:
            if s.t >= since:
                out[s.pid] = max(out.get(s.pid, 0), s.threads)
        return out

    def thread_range(self, since: float = 0.0) -> tuple[int, int]:
        counts = [s.threads for s in self.samples if s.t >= since]
        return (min(counts), max(counts)) if counts else (0, 0)


def slope_kib_per_min(samples: Sequence[Sample]) -> float:
    """Least-squares slope of RSS over time, in KiB per minute."""
    if len(samples) < 3:
        return 0.0
    n = len(samples)
    mt = sum(s.t for s in samples) / n
    mr = sum(s.rss_kib for s in samples) / n
    var = sum((s.t - mt) ** 2 for s in samples)
    if var == 0:
        return 0.0
    cov = sum((s.t - mt) * (s.rss_kib - mr) for s in samples)
    return cov / var * 60.0


@dataclass
class MemoryReport:
    """RSS after warm-up of each process that lived through the whole measured span."""

    slopes_kib_per_min: dict[int, float]
    first_kib: dict[int, int]
    last_kib: dict[int, int]
    max_kib: dict[int, int]

    @property
    def worst_slope(self) -> float:
        return max(self.slopes_kib_per_min.values(), default=0.0)

    @property
    def worst_growth_kib(self) -> int:
        return max((self.last_kib[p] - self.first_kib[p] for p in self.first_kib), default=0)

    def describe(self) -> str:
        parts = []
        for pid in sorted(self.slopes_kib_per_min):
            parts.append(
                f"pid {pid}: {self.first_kib[pid] / 1024:.1f} -> "
                f"{self.last_kib[pid] / 1024:.1f} MiB "
                f"(max {self.max_kib[pid] / 1024:.1f}), slope {self.slopes_kib_per_min[pid]:+.0f} "
                "KiB/min"
            )
        return "; ".join(parts)


def memory_report(
    sampler: Sampler,
    warmup: float,
    until: Optional[float] = None,
    windows: Optional[Sequence[tuple[float, float]]] = None,
) -> MemoryReport:
    """RSS trend per process from ``warmup`` (sampler seconds) on, within ``windows`` if given."""
    slopes: dict[int, float] = {}
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    peak: dict[int, int] = {}

    def inside(t: float) -> bool:
        if t < warmup or (until is not None and t > until):
            return False
        return windows is None or any(a <= t <= b for a, b in windows)

    for pid, samples in sampler.by_pid().items():
        window = [s for s in samples if inside(s.t)]
        if len(window) < 3:
            continue
        slopes[pid] = slope_kib_per_min(window)
        # Medians of the first and last few samples: one allocator step is not a trend.
        head = sorted(s.rss_kib for s in window[:5])
        tail = sorted(s.rss_kib for s in window[-5:])
        first[pid] = head[len(head) // 2]
        last[pid] = tail[len(tail) // 2]
        peak[pid] = max(s.rss_kib for s in window)
    return MemoryReport(slopes, first, last, peak)


def count_lines(text: str, *needles: str) -> int:
    """Lines of ``text`` that contain every needle."""
    return sum(1 for line in text.splitlines() if all(n in line for n in needles))


def wait_until(predicate: object, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(interval)
    return bool(predicate())  # type: ignore[operator]
