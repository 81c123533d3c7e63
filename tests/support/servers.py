"""Real HTTP servers (gunicorn, uvicorn, Django's runserver) started by tests on free ports.

```python
with serve(["gunicorn", "--bind", "127.0.0.1:{port}", "shop:create_app()"], env=env) as url:
    httpx.get(url + "/")
```

``{port}`` in the arguments is replaced by a free port. The server is ready when ``ready_path``
answers (any status); it is stopped with SIGTERM (then SIGKILL after ``stop_timeout``) on exit, and
its output is attached to the error if it never became ready.

``sli_env(receiver)`` is the environment that makes a server process export its SLI metrics to an
:class:`~tests.support.otlp_receiver.OTLPReceiver` over OTLP/HTTP every 200 ms.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlparse

import httpx

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tool(name: str) -> str:
    """A console script of the running interpreter's environment (gunicorn, uvicorn)."""
    candidate = VENV_BIN / name
    return str(candidate) if candidate.exists() else name


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without ``OTEL_*``/``SLI_*`` settings, the project importable,
    plus ``extra``: a server process configured by the test alone."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SLI_"))}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")]
    ).rstrip(os.pathsep)
    env.update(extra)
    return env


def sli_env(receiver: Any, service: str, **extra: str) -> dict[str, str]:
    return clean_env(
        **{
            "SLI_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.http_endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_METRIC_EXPORT_INTERVAL": "200",
            "OTEL_SERVICE_NAME": service,
            **extra,
        }
    )


@contextlib.contextmanager
def serve(
    argv: Sequence[str],
    *,
    env: Optional[Mapping[str, str]] = None,
    cwd: Optional[Path] = None,
    ready_path: str = "/",
    start_timeout: float = 30.0,
    stop_timeout: float = 10.0,
) -> Iterator[str]:
    port = free_port()
    args = [a.replace("{port}", str(port)) for a in argv]
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(
        args,
        cwd=str(cwd) if cwd else None,
        env=dict(env) if env is not None else None,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if process.poll() is not None:
                raise AssertionError(f"server exited with {process.returncode}:\n{_output(log)}")
            try:
                # A probe that connected is served exactly once (tests count it): wait for its
                # answer instead of timing out and sending another.
                httpx.get(url + ready_path, timeout=httpx.Timeout(start_timeout, connect=1.0))
                break
            except httpx.ConnectError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"server not ready in {start_timeout}s:\n{_output(log)}")
                time.sleep(0.05)
        yield url
    finally:
        stop(process, stop_timeout)
        server_log = _output(log, tail=None)
        log.close()
        marker = "sli_instrument internal error"
        if marker in server_log:
            at = server_log.index(marker)
            raise AssertionError(
                f"sli_instrument reported an internal error:\n{server_log[at - 200 : at + 4000]}"
            )


def walk_away_mid_stream(url: str, path: str, first: bytes) -> None:
    """Request ``path``, read until ``first`` arrives, then close the connection mid-response."""
    parsed = urlparse(url)
    with socket.create_connection((parsed.hostname, parsed.port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n".encode())
        received = b""
        while first not in received:
            chunk = sock.recv(4096)
            assert chunk, "the server closed the stream before its first chunk"
            received += chunk


def stop(process: subprocess.Popen[bytes], timeout: float) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


def _output(log: Any, tail: Optional[int] = 6000) -> str:
    log.seek(0)
    text = bytes(log.read()).decode("utf-8", "replace")
    return text if tail is None else text[-tail:]


def journey_totals(receiver: Any, service: str) -> dict[str, dict[str, Any]]:
    """Per journey: requests, failures, slow, aborted (ints), duration ({outcome: HistogramTotal})
    and ttfb (HistogramTotal), from everything the receiver got from ``service``."""
    from tests.support.otlp_receiver import totals

    result: dict[str, dict[str, Any]] = {}
    short = {
        "sli.journey.requests": "requests",
        "sli.journey.failures": "failures",
        "sli.journey.slow": "slow",
        "sli.journey.aborted": "aborted",
    }
    for (name, attrs), value in totals(
        receiver.metrics, resource={"service.name": service}
    ).items():
        attributes = dict(attrs)
        journey = attributes.get("sli.journey")
        if journey is None:
            continue
        entry = result.setdefault(
            journey,
            {"requests": 0, "failures": 0, "slow": 0, "aborted": 0, "duration": {}, "ttfb": None},
        )
        if name in short:
            entry[short[name]] = int(value)
        elif name == "sli.journey.duration":
            entry["duration"][attributes.get("sli.outcome")] = value
        elif name == "sli.journey.ttfb":
            entry["ttfb"] = value
    return result


def wait_for_counts(
    receiver: Any, service: str, expected: Mapping[str, int], timeout: float = 15.0
) -> dict[str, dict[str, Any]]:
    """Wait until every journey in ``expected`` has exported that many requests (+ aborted)."""

    def done(_: Any) -> Optional[dict[str, dict[str, Any]]]:
        data = journey_totals(receiver, service)
        for journey, count in expected.items():
            entry = data.get(journey)
            if entry is None or entry["requests"] + entry["aborted"] < count:
                return None
            durations = sum(h.count for h in entry["duration"].values())
            if durations < count:
                return None
        return data

    result: dict[str, dict[str, Any]] = receiver.wait_for(done, timeout, f"counts {dict(expected)}")
    return result
