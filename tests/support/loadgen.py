"""A bounded HTTP/1.1 load generator for loopback servers, with exact counts.

Closed loop: ``connections`` threads each send one request, read the whole response, and send the
next, until a fixed number of requests (``count``) or a fixed time (``duration``) is reached. The
run stops issuing requests at the deadline and lets the ones in flight finish, so every request is
accounted for exactly once:

* ``sent``: requests whose bytes were written to a socket;
* ``answered``: requests that got a complete response (``statuses`` counts them per status);
* ``unanswered``: requests sent on a connection that died (reset, EOF, timeout) before a complete
  response arrived. HTTP cannot tell whether the server processed those, so they are never retried;
* ``connect_errors``: attempts that could not connect (nothing was sent).

``sent == answered + unanswered`` always holds. Keep-alive is used whenever the server allows it;
``Connection: close`` (gunicorn's sync worker) is honoured by reconnecting.

Requests are :class:`Req` templates chosen round-robin (or by a ``choose(i)`` callable), so a
test can tag each template (e.g. with the journey it must land in) and count answers per tag.
``expect(req, response)`` may return an error string to count a mismatch (wrong status, body, or
journey header); the first few mismatches are kept verbatim for the assertion message.

Command line (used by the load tier so the client runs in its own process, optionally pinned to
one CPU)::

    python tests/support/loadgen.py --port 8000 --duration 10 --connections 8 \
        --path /cart --path /checkout --cpu 1 --json
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Callable, Optional

__all__ = ["LoadResult", "Req", "Response", "fetch", "run_load"]


@dataclass(frozen=True)
class Req:
    """One request template."""

    path: str = "/"
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    #: Free label counted in ``LoadResult.per_tag`` (e.g. the journey the request must land in).
    tag: str = ""

    def encode(self, host: str) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}"]
        lines.extend(f"{name}: {value}" for name, value in self.headers)
        if self.body or self.method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(self.body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head + self.body


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    keep_alive: bool

    def header(self, name: str) -> Optional[str]:
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None


@dataclass
class LoadResult:
    sent: int = 0
    answered: int = 0
    unanswered: int = 0
    connect_errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    per_tag: dict[str, dict[int, int]] = field(default_factory=dict)
    mismatches: int = 0
    mismatch_examples: list[str] = field(default_factory=list)
    unanswered_examples: list[str] = field(default_factory=list)
    seconds: float = 0.0
    latency_p50: float = 0.0
    latency_p99: float = 0.0
    latency_max: float = 0.0

    @property
    def throughput(self) -> float:
        """Answered requests per second."""
        return self.answered / self.seconds if self.seconds > 0 else 0.0

    def count(self, status: int) -> int:
        return self.statuses.get(status, 0)

    def count_5xx(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def to_json(self) -> str:
        data = asdict(self)
        data["throughput"] = self.throughput
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> LoadResult:
        data = json.loads(text)
        data.pop("throughput", None)
        data["statuses"] = {int(k): v for k, v in data["statuses"].items()}
        data["per_tag"] = {
            tag: {int(k): v for k, v in counts.items()} for tag, counts in data["per_tag"].items()
        }
        return cls(**data)

    def summary(self) -> str:
        return (
            f"sent={self.sent} answered={self.answered} unanswered={self.unanswered} "
            f"connect_errors={self.connect_errors} statuses={dict(sorted(self.statuses.items()))} "
            f"mismatches={self.mismatches} seconds={self.seconds:.2f} "
            f"throughput={self.throughput:.0f}/s p50={self.latency_p50 * 1000:.2f}ms "
            f"p99={self.latency_p99 * 1000:.2f}ms"
        )


class _Closed(Exception):
    """The connection ended before a complete response."""


def _read_response(reader: object, method: str) -> Response:
    readline = reader.readline  # type: ignore[attr-defined]
    read = reader.read  # type: ignore[attr-defined]
    while True:
        status_line = readline(65537)
        if not status_line:
            raise _Closed("connection closed before the status line")
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
            raise _Closed(f"bad status line {status_line[:80]!r}")
        version = parts[0]
        status = int(parts[1])
        headers: list[tuple[str, str]] = []
        while True:
            line = readline(65537)
            if not line:
                raise _Closed("connection closed inside the headers")
            if line in (b"\r\n", b"\n"):
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers.append((name.strip(), value.strip()))
        if 100 <= status < 200:
            continue  # interim response; the real one follows
        break
    lowered = {k.lower(): v for k, v in headers}
    connection = lowered.get("connection", "").lower()
    keep_alive = version == b"HTTP/1.1" and "close" not in connection
    if method == "HEAD" or status in (204, 304):
        return Response(status, headers, b"", keep_alive)
    if "chunked" in lowered.get("transfer-encoding", "").lower():
        chunks = []
        while True:
            size_line = readline(65537)
            if not size_line:
                raise _Closed("connection closed inside a chunked body")
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while True:  # trailers
                    trailer = readline(65537)
                    if trailer in (b"\r\n", b"\n", b""):
                        break
                break
            data = read(size)
            if len(data) < size:
                raise _Closed("connection closed inside a chunk")
            chunks.append(data)
            readline(3)
        return Response(status, headers, b"".join(chunks), keep_alive)
    length_text = lowered.get("content-length")
    if length_text is not None:
        length = int(length_text)
        body = read(length) if length else b""
        if len(body) < length:
            raise _Closed("connection closed inside the body")
        return Response(status, headers, body, keep_alive)
    # Neither length nor chunked: the body ends with the connection.
    return Response(status, headers, read(), False)


class _Connection:
    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = self.sock.makefile("rb", buffering=65536)

    def close(self) -> None:
        try:
            self.reader.close()
        finally:
            self.sock.close()


def fetch(host: str, port: int, req: Req, timeout: float = 10.0) -> Response:
    """One request on a fresh connection (reference responses, probes)."""
    conn = _Connection(host, port, timeout)
    try:
        conn.sock.sendall(req.encode(f"{host}:{port}"))
        return _read_response(conn.reader, req.method)
    finally:
        conn.close()


Expect = Callable[[Req, Response], Optional[str]]


def run_load(
    host: str,
    port: int,
    requests: Sequence[Req],
    *,
    connections: int = 8,
    duration: Optional[float] = None,
    count: Optional[int] = None,
    choose: Optional[Callable[[int], Req]] = None,
    expect: Optional[Expect] = None,
    timeout: float = 30.0,
    stop: Optional[threading.Event] = None,
    on_answer: Optional[Callable[[Req, Response], None]] = None,
) -> LoadResult:
    """Drive the server until ``count`` requests were sent or ``duration`` seconds passed.

    ``stop`` (an Event) ends the run early, like the deadline: no new request is sent.
    """
    if duration is None and count is None:
        raise ValueError("give a duration or a count: every load run is bounded")
    if not requests and choose is None:
        raise ValueError("no request templates")
    pick = choose or (lambda i: requests[i % len(requests)])
    authority = f"{host}:{port}"
    encoded: dict[Req, bytes] = {}
    lock = threading.Lock()
    counter = itertools.count()
    result = LoadResult()
    latencies: list[float] = []
    start = time.perf_counter()
    deadline = start + duration if duration is not None else None

    def next_index() -> Optional[int]:
        if stop is not None and stop.is_set():
            return None
        if deadline is not None and time.perf_counter() >= deadline:
            return None
        i = next(counter)
        if count is not None and i >= count:
            return None
        return i

    def worker() -> None:
        conn: Optional[_Connection] = None
        sent = answered = unanswered = connect_errors = mismatches = 0
        statuses: dict[int, int] = {}
        per_tag: dict[str, dict[int, int]] = {}
        examples: list[str] = []
        lost: list[str] = []
        local_latencies: list[float] = []
        try:
            while True:
                i = next_index()
                if i is None:
                    break
                req = pick(i)
                data = encoded.get(req)
                if data is None:
                    data = encoded[req] = req.encode(authority)
                if conn is None:
                    try:
                        conn = _Connection(host, port, timeout)
                    except OSError:
                        connect_errors += 1
                        time.sleep(0.01)
                        continue
                t0 = time.perf_counter()
                try:
                    conn.sock.sendall(data)
                except OSError as exc:
                    # Nothing reached the server (or only part of the request): not sent.
                    connect_errors += 1
                    conn.close()
                    conn = None
                    if len(lost) < 5:
                        lost.append(f"send failed: {exc!r}")
                    continue
                sent += 1
                try:
                    response = _read_response(conn.reader, req.method)
                except (OSError, _Closed, ValueError) as exc:
                    unanswered += 1
                    if len(lost) < 5:
                        lost.append(f"{req.method} {req.path[:60]}: {exc!r}")
                    conn.close()
                    conn = None
                    continue
                local_latencies.append(time.perf_counter() - t0)
                answered += 1
                statuses[response.status] = statuses.get(response.status, 0) + 1
                if req.tag:
                    tag_counts = per_tag.setdefault(req.tag, {})
                    tag_counts[response.status] = tag_counts.get(response.status, 0) + 1
                if expect is not None:
                    problem = expect(req, response)
                    if problem:
                        mismatches += 1
                        if len(examples) < 5:
                            examples.append(problem)
                if on_answer is not None:
                    on_answer(req, response)
                if not response.keep_alive:
                    conn.close()
                    conn = None
        finally:
            if conn is not None:
                conn.close()
            with lock:
                result.sent += sent
                result.answered += answered
                result.unanswered += unanswered
                result.connect_errors += connect_errors
                result.mismatches += mismatches
                for status, n in statuses.items():
                    result.statuses[status] = result.statuses.get(status, 0) + n
                for tag, counts in per_tag.items():
                    target = result.per_tag.setdefault(tag, {})
                    for status, n in counts.items():
                        target[status] = target.get(status, 0) + n
                result.mismatch_examples.extend(examples[: 5 - len(result.mismatch_examples)])
                result.unanswered_examples.extend(lost[: 5 - len(result.unanswered_examples)])
                latencies.extend(local_latencies)

    threads = [
        threading.Thread(target=worker, name=f"loadgen-{n}", daemon=True)
        for n in range(connections)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        # Bounded: each thread stops at the deadline/count; a request can take at most `timeout`.
        thread.join((duration or 0) + timeout * 4 + 60)
    result.seconds = time.perf_counter() - start
    if any(thread.is_alive() for thread in threads):
        raise RuntimeError("load generator threads did not stop; a response hung past its timeout")
    if latencies:
        latencies.sort()
        result.latency_p50 = latencies[len(latencies) // 2]
        result.latency_p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        result.latency_max = latencies[-1]
    return result


def req_to_json(req: Req) -> dict[str, object]:
    return {
        "path": req.path,
        "method": req.method,
        "headers": [list(h) for h in req.headers],
        "body": req.body.decode("latin-1"),
        "tag": req.tag,
    }


def req_from_json(item: dict[str, object]) -> Req:
    headers = item.get("headers") or []
    return Req(
        path=str(item.get("path", "/")),
        method=str(item.get("method", "GET")),
        headers=tuple((str(k), str(v)) for k, v in headers),  # type: ignore[union-attr]
        body=str(item.get("body", "")).encode("latin-1"),
        tag=str(item.get("tag", "")),
    )


def run_in_subprocess(
    host: str,
    port: int,
    requests: Sequence[Req],
    *,
    connections: int,
    duration: float,
    cpus: Optional[Sequence[int]] = None,
    timeout: float = 30.0,
) -> LoadResult:
    """Run the load from a separate process (optionally pinned), so it never shares the GIL."""
    import subprocess

    argv = [
        sys.executable,
        os.path.abspath(__file__),
        "--host",
        host,
        "--port",
        str(port),
        "--connections",
        str(connections),
        "--duration",
        str(duration),
        "--timeout",
        str(timeout),
        "--requests-json",
        json.dumps([req_to_json(r) for r in requests]),
        "--json",
    ]
    for cpu in cpus or ():
        argv += ["--cpu", str(cpu)]
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=duration + timeout * 4 + 60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed ({done.returncode}): {done.stderr[-2000:]}")
    return LoadResult.from_json(done.stdout.strip().splitlines()[-1])


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", action="append", default=[], help="request path (repeatable)")
    parser.add_argument(
        "--requests-json",
        help='request templates: [{"path", "method", "headers": [[k, v]], "body", "tag"}, ...]',
    )
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--duration", type=float)
    parser.add_argument("--count", type=int)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--cpu", type=int, action="append", help="pin to this CPU (repeatable)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if args.cpu and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(args.cpu))
    if args.requests_json:
        requests = [req_from_json(item) for item in json.loads(args.requests_json)]
    else:
        requests = [Req(path=p, tag=p) for p in (args.path or ["/"])]
    result = run_load(
        args.host,
        args.port,
        requests,
        connections=args.connections,
        duration=args.duration,
        count=args.count,
        timeout=args.timeout,
    )
    print(result.to_json() if args.json else result.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
