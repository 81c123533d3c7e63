"""A fault-test rig: the instrumented app and the bare app under gunicorn, an OTLP receiver, load.

Every request of a phase is checked against the bare app's answer to the same request (status,
content type and body, byte for byte); per-phase numbers (latency, threads, RSS, log lines) are
kept for the report.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from harness import Sampler, Server, memory_report, wait_until

from tests.support.loadgen import LoadResult, Req, Response, fetch, run_load
from tests.support.otlp_receiver import OTLPReceiver, totals

REQUESTS = (
    Req("/browse", tag="browse"),
    Req("/search?q=red+shoes", tag="search"),
    Req("/checkout", method="POST", body=b'{"cart": [1, 2]}', tag="checkout"),
    Req("/pay", tag="pay"),
    Req("/stream", tag="stream"),
)
#: Journeys whose every request is a failure (the app answers 503): the induced failures.
FAILING = {"pay"}


def recorded(receiver: OTLPReceiver, metric: str = "sli.journey.requests") -> dict[str, int]:
    """Per-journey value of a counter, summed over every process that exported it."""
    out: dict[str, int] = {}
    for (name, attrs), value in totals(receiver.metrics).items():
        if name == metric:
            journey = dict(attrs).get("sli.journey")
            if isinstance(journey, str):
                out[journey] = out.get(journey, 0) + int(value)
    return out


@dataclass
class Phase:
    name: str
    load: LoadResult
    start: float
    end: float
    log_lines: list[str] = field(default_factory=list)
    max_threads: dict[int, int] = field(default_factory=dict)
    max_rss_kib: int = 0

    def numbers(self) -> dict[str, Any]:
        return {
            "requests": self.load.answered,
            "unanswered": self.load.unanswered,
            "mismatches": self.load.mismatches,
            "statuses": self.load.statuses,
            "p50_ms": round(self.load.latency_p50 * 1000, 2),
            "p99_ms": round(self.load.latency_p99 * 1000, 2),
            "max_threads_per_worker": max(self.max_threads.values(), default=0),
            "max_rss_mib": round(self.max_rss_kib / 1024, 1),
            "new_log_lines": len(self.log_lines),
        }


class Rig:
    def __init__(
        self,
        tmp: Path,
        receiver: OTLPReceiver,
        env: dict[str, str],
        *,
        workers: int = 2,
        requests: tuple[Req, ...] = REQUESTS,
        connections: int = 4,
        control_dir: Optional[Path] = None,
    ) -> None:
        self.tmp = tmp
        self.control_dir = control_dir
        if control_dir is not None:
            env = {**env, "RELIAPP_CONTROL_DIR": str(control_dir)}
        self.receiver = receiver
        self.requests = requests
        self.connections = connections
        self.server = Server.gunicorn(
            "reliapp_wsgi:app",
            log_path=tmp / "instrumented.log",
            env=env,
            workers=workers,
            name="instrumented",
        )
        self.bare = Server.gunicorn(
            "reliapp_wsgi:app",
            log_path=tmp / "bare.log",
            env={"RELIAPP_INSTRUMENT": "0"},
            workers=1,
            name="bare",
        )
        self.workers = workers
        self.refs: dict[Req, Response] = {}
        self.answered: dict[str, int] = {}
        self.phases: list[Phase] = []
        self.sampler: Optional[Sampler] = None
        self._log_offset = 0

    def __enter__(self) -> Rig:
        self.bare.start()
        try:
            self.server.start()
        except BaseException:
            self.bare.stop()
            raise
        self.server.wait_workers(self.workers)
        for req in self.requests:
            self.refs[req] = fetch(self.bare.host, self.bare.port, req)
        self.sampler = Sampler(self.server.workers, interval=0.1).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.sampler is not None:
            self.sampler.stop()
        self.server.stop()
        self.bare.stop()

    # -- load -------------------------------------------------------------------------------------
    def expect(self, req: Req, response: Response) -> Optional[str]:
        ref = self.refs.get(req)
        if ref is None:
            return None
        if response.status != ref.status:
            return f"{req.path}: status {response.status}, bare app {ref.status}"
        if response.body != ref.body:
            return f"{req.path}: body {response.body[:80]!r}, bare app {ref.body[:80]!r}"
        if response.header("content-type") != ref.header("content-type"):
            return f"{req.path}: content-type {response.header('content-type')!r}"
        return None

    def phase(self, name: str, seconds: float) -> Phase:
        assert self.sampler is not None
        start = time.monotonic() - self.sampler.t0
        result = run_load(
            self.server.host,
            self.server.port,
            self.requests,
            connections=self.connections,
            duration=seconds,
            expect=self.expect,
        )
        end = time.monotonic() - self.sampler.t0
        for tag, statuses in result.per_tag.items():
            self.answered[tag] = self.answered.get(tag, 0) + sum(statuses.values())
        phase = Phase(name, result, start, end, log_lines=self.new_log_lines())
        window = [s for s in self.sampler.samples if start <= s.t <= end]
        for s in window:
            phase.max_threads[s.pid] = max(phase.max_threads.get(s.pid, 0), s.threads)
        phase.max_rss_kib = max((s.rss_kib for s in window), default=0)
        self.phases.append(phase)
        return phase

    def new_log_lines(self) -> list[str]:
        text = self.server.log_text()
        lines = text[self._log_offset :].splitlines()
        self._log_offset = len(text)
        # gunicorn's own lifecycle lines are not ours.
        return [line for line in lines if line.strip() and "[INFO]" not in line]

    # -- faults inside the workers -----------------------------------------------------------------
    def set_faults(self, *names: str, timeout: float = 10.0) -> None:
        """Switch faults on (``names``) and every other off; return once every worker holds it."""
        assert self.control_dir is not None, "Rig(control_dir=...) steers faults"
        for name in ("recorder_raise", "exporter_raise"):
            path = self.control_dir / name
            if name in names:
                path.write_text("on")
            elif path.exists():
                path.unlink()
        want = ",".join(sorted(names))

        def held() -> bool:
            pending = []
            for pid in self.server.workers():
                state = self.control_dir / f"state-{pid}"  # type: ignore[operator]
                if not state.exists():
                    pending.append(pid)
                elif state.read_text() != want:
                    return False
            if pending:
                # A worker that has not served a request yet has no watcher: wake it (these
                # probes are requests too: counted in ``server.probes``).
                fetch(self.server.host, self.server.port, Req("/__ready"))
                self.server.probes += 1
                return False
            return True

        assert wait_until(held, timeout, interval=0.02), f"faults {want!r} not held in time"

    # -- what was recorded ------------------------------------------------------------------------
    def expected(self, dropped: Optional[dict[str, int]] = None) -> dict[str, int]:
        dropped = dropped or {}
        return {tag: n - dropped.get(tag, 0) for tag, n in self.answered.items()}

    def wait_counts(self, expected: dict[str, int], timeout: float = 15.0) -> dict[str, int]:
        """Until the receiver's per-journey totals equal ``expected`` (exactly); returns them."""

        def matches() -> bool:
            got = recorded(self.receiver)
            return all(got.get(j, 0) == n for j, n in expected.items())

        wait_until(matches, timeout, interval=0.1)
        return recorded(self.receiver)

    def memory(self, warmup: float) -> Any:
        assert self.sampler is not None
        return memory_report(self.sampler, warmup)
