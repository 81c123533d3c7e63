"""Instructions per request, bare and instrumented, counted by callgrind: a noise-free overhead.

    python tests/reliability/instruction_count.py [inprocess|gunicorn|uvicorn|asgi-inprocess ...]
    python tests/reliability/instruction_count.py uvicorn-breakdown

CPU time on a shared machine moves by tens of percent between identical runs; the number of
instructions a request executes under ``valgrind --tool=callgrind`` does not. Four set-ups:

* ``inprocess``: the Flask shop's request mix driven as WSGI calls (see ``inprocess_overhead.py``);
* ``gunicorn``: the Flask shop under gunicorn (one sync worker), driven over loopback;
* ``uvicorn``: the Starlette app of the load tier under uvicorn (asyncio, h11), 8 connections;
* ``asgi-inprocess``: that app's requests driven as ASGI calls on one event loop, without a
  server (the endpoints that wait on a thread pool or a timer are left out: in process their
  waits would be counted as idle loop turns).

``uvicorn-breakdown`` takes the uvicorn set-up's overhead apart: the process with sli_instrument
imported and configured but measuring nothing, the middleware naming the journeys by a route map,
and the load tier's app (decorators and ``with`` blocks), each against the bare app.

Each variant runs twice with different numbers of requests; the difference in instructions divided
by the difference in requests is the cost of one request, without start-up and warm-up. Under a
server, the counted process is the worker (user-space instructions: the kernel's share of socket
work is not in them, so the real overhead is a little smaller). Needs ``valgrind`` (Debian
package); each set-up takes a few minutes.
"""

from __future__ import annotations

import glob
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))
from inprocess_overhead import APPS, MIX_SIZE, SLO, child_source  # noqa: E402

from tests.support.loadgen import Req, run_load  # noqa: E402

SHOP = (
    Req("/"),
    Req("/products/3"),
    Req("/search?q=cup"),
    Req(
        "/cart",
        method="POST",
        headers=(("X-Cart-Id", "load"), ("Content-Type", "application/json")),
        body=b'{"product_id": 2}',
    ),
    Req("/checkout", method="POST", headers=(("X-Cart-Id", "load"),)),
    Req("/checkout", method="POST", headers=(("X-Shop-Fail", "1"),)),
    Req("/orders/export?rows=5"),
    Req("/healthz"),
)
STARLETTE = (
    Req("/browse"),
    Req("/search?q=red+shoes"),
    Req("/checkout", method="POST", body=b'{"cart": [1, 2]}'),
    Req("/pay"),
    Req("/mixed"),
    Req("/stream"),
    Req("/jitter/3"),
    Req("/no/such/page"),
)


def _total(path: Path) -> int:
    for line in path.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise RuntimeError(f"callgrind wrote no total to {path}")


def _env(instrumented: bool, slo: bool = True) -> dict[str, str]:
    """The child's environment; ``slo``: the Flask shop's SLO file (the Starlette app has none)."""
    env = {
        **os.environ,
        "PYTHONHASHSEED": "0",
        "RELIAPP_INSTRUMENT": "1" if instrumented else "0",
        # Export is off the request path and would only add noise: nothing listens on port 9.
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9",
        "OTEL_METRIC_EXPORT_INTERVAL": "600000",
        "PYTHONPATH": str(APPS),
    }
    env.pop("SLI_SLO_FILE", None)
    if instrumented and slo:
        env["SLI_SLO_FILE"] = str(SLO)
    return env


def _count_in_process(source: str, args: list[str], env: dict[str, str]) -> int:
    """Instructions of ``python -c source *args`` under callgrind (the in-process set-ups)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                sys.executable,
                "-c",
                source,
                *args,
            ],
            capture_output=True,
            check=True,
            timeout=900,
            env=env,
        )
        return _total(out)


def inprocess(instrumented: bool, requests: int) -> int:
    return _count_in_process(
        child_source(warmup=50, rounds=requests // MIX_SIZE),
        ["1" if instrumented else "0", str(APPS), str(SLO)],
        _env(instrumented),
    )


#: One request to ``app`` as an ASGI call, for the child programs that drive an app in process
#: (here and ``test_load_fairness.py``): ``await call(method, path, body, query=b"", headers=())``
#: (``headers``: more ``(name, value)`` byte pairs).
ASGI_CALL = r"""
async def call(method, path, body, query=b"", headers=()):
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "path": path, "raw_path": path.encode(), "query_string": query, "root_path": "",
        "headers": [(b"host", b"localhost"), (b"content-length", str(len(body)).encode()),
                    *headers],
        "scheme": "http", "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 5000),
    }
    delivered = False

    async def receive():
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)  # until cancelled (a streaming response's disconnect watch)

    async def send(message):
        pass

    await app(scope, receive, send)
"""

_ASGI_CHILD = (
    r"""
import asyncio, sys
sys.path.insert(0, sys.argv[1])
import reliapp_asgi

app = reliapp_asgi.app
mix = [
    ("GET", "/browse", b""),
    ("POST", "/checkout", b'{"cart": [1, 2]}'),
    ("GET", "/pay", b""),
    ("GET", "/stream", b""),
    ("GET", "/no/such/page", b""),
]
"""
    + ASGI_CALL
    + r"""

async def main():
    for _ in range(int(sys.argv[2])):
        for request in mix:
            await call(*request)


asyncio.run(main())
"""
)
#: Requests in one round of the ASGI mix above.
ASGI_MIX_SIZE = 5


def asgi_inprocess(instrumented: bool, requests: int) -> int:
    return _count_in_process(
        _ASGI_CHILD,
        # 30 rounds of warm-up in both runs of a variant: they cancel in the difference.
        [str(APPS), str(30 + requests // ASGI_MIX_SIZE)],
        _env(instrumented, slo=False),
    )


def _served(
    argv: list[str],
    requests: tuple[Req, ...],
    connections: int,
    slo: bool,
    extra_env: Optional[dict[str, str]] = None,
) -> Callable[..., int]:
    def count(instrumented: bool, n: int) -> int:
        with tempfile.TemporaryDirectory() as tmp:
            listener = socket.socket()
            listener.bind(("127.0.0.1", 0))
            port = listener.getsockname()[1]
            command = [
                a.replace("{port}", str(port)).replace("{fd}", str(listener.fileno())) for a in argv
            ]
            if "{fd}" in " ".join(argv):
                listener.listen(128)
            else:
                listener.close()
            server = subprocess.Popen(
                [
                    "valgrind",
                    "--tool=callgrind",
                    "--trace-children=yes",
                    f"--callgrind-out-file={tmp}/callgrind.%p",
                    sys.executable,
                    "-m",
                    *command,
                ],
                env={**_env(instrumented, slo), **(extra_env or {})},
                pass_fds=[listener.fileno()] if listener.fileno() >= 0 else [],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                deadline = time.monotonic() + 300
                while True:  # start-up under valgrind takes a while
                    try:
                        if run_load("127.0.0.1", port, requests, connections=1, count=8).answered:
                            break
                    except OSError:
                        pass
                    if time.monotonic() > deadline:
                        raise RuntimeError("the server did not start")
                    time.sleep(1)
                run_load("127.0.0.1", port, requests, connections=1, count=160)  # warm-up
                result = run_load("127.0.0.1", port, requests, connections=connections, count=n)
                if result.answered != n:
                    raise RuntimeError(f"{result.answered} of {n} requests answered")
            finally:
                server.send_signal(signal.SIGTERM)
                server.wait(300)
                listener.close()
            # The busiest process is the one that served (gunicorn's master only supervises).
            return max(_total(Path(p)) for p in glob.glob(f"{tmp}/callgrind.*"))

    return count


UVICORN = [
    "uvicorn",
    "--port",
    "{port}",
    "--loop",
    "asyncio",
    "--http",
    "h11",
    "--no-access-log",
    "--log-level",
    "warning",
    "reliapp_asgi:application",
]
#: ``uvicorn-breakdown``: the uvicorn set-up's overhead taken apart, each row against the bare app.
BREAKDOWN = (
    ("imported and configured, nothing measured", {"RELIAPP_INSTRUMENT": "configured"}),
    ("the middleware, journeys named by a route map", {"RELIAPP_DECORATORS": "0"}),
    ("the middleware, journeys named by decorators and blocks (the load tier's app)", {}),
)

SETUPS: dict[str, Callable[..., int]] = {
    "inprocess": inprocess,
    "asgi-inprocess": asgi_inprocess,
    "gunicorn": _served(
        ["gunicorn", "--bind", "fd://{fd}", "-w", "1", "--timeout", "600", "shop_variants:app"],
        SHOP,
        1,
        True,
    ),
    # As in the load tier: the Starlette app runs without an SLO file.
    "uvicorn": _served(UVICORN, STARLETTE, 8, False),
}
SHORT, LONG = 80, 880


def per_request(count: Callable[..., int], instrumented: bool) -> float:
    """Instructions of one request: two runs of ``count``, start-up and warm-up cancelled."""
    return (count(instrumented, LONG) - count(instrumented, SHORT)) / (LONG - SHORT)


def breakdown() -> None:
    """Print what each part of sli_instrument adds to a request of the uvicorn set-up."""
    bare = per_request(SETUPS["uvicorn"], False)
    print(f"uvicorn-breakdown: bare {bare:,.0f} instructions per request", flush=True)
    for label, extra in BREAKDOWN:
        inst = per_request(_served(UVICORN, STARLETTE, 8, False, extra), True)
        print(f"  {label}: {inst:,.0f} ({inst - bare:+,.0f}, {inst / bare - 1:+.1%})", flush=True)


def main(argv: list[str]) -> int:
    for setup in argv[1:] or ["inprocess", "gunicorn", "uvicorn", "asgi-inprocess"]:
        if setup == "uvicorn-breakdown":
            breakdown()
            continue
        bare = per_request(SETUPS[setup], False)
        inst = per_request(SETUPS[setup], True)
        print(
            f"{setup}: instructions per request bare {bare:,.0f}, instrumented {inst:,.0f}, "
            f"overhead {inst - bare:,.0f} ({inst / bare - 1:+.1%})",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
