"""Per-request overhead of the HTTP middleware, side by side in one run.

A trivial WSGI app and a trivial ASGI app are driven in process (no sockets: the network would
drown the differences) through:

* ``bare``: the app alone (the baseline subtracted from every other row);
* ``sli owned``: our middleware, ``configure()`` owning the pipeline (in-memory reader);
* ``sli provided``: our middleware on an SDK ``MeterProvider`` we did not create (each event is
  one SDK ``Histogram.record``; counters are observable);
* ``otel contrib``: OpenTelemetry's ``OpenTelemetryMiddleware`` (WSGI / ASGI) with an SDK meter
  provider and no tracer (a no-op tracer provider);
* ``prometheus``: a minimal prometheus-client middleware, one Counter and one Histogram with
  method/route/status labels.

Each variant serves ``--requests`` requests per round; rounds alternate the variants, and the
figure is the median over ``--rounds`` rounds of the mean CPU time per request (process CPU time:
other processes on a busy machine do not inflate it the way they inflate wall time).
Overhead = variant minus bare; ratios are overhead / overhead.

Run: ``python benchmarks/bench_http.py`` (or through the benchmark runner).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

WSGI_ENVIRON = {
    "REQUEST_METHOD": "GET",
    "SCRIPT_NAME": "",
    "PATH_INFO": "/hello",
    "QUERY_STRING": "",
    "SERVER_NAME": "bench",
    "SERVER_PORT": "80",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "REMOTE_ADDR": "127.0.0.1",
    "HTTP_HOST": "bench",
    "HTTP_USER_AGENT": "bench",
    "wsgi.url_scheme": "http",
    "wsgi.version": (1, 0),
    "wsgi.multithread": True,
    "wsgi.multiprocess": False,
    "wsgi.run_once": False,
}


def trivial_wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


async def trivial_asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
    )
    await send({"type": "http.response.body", "body": b"ok"})


def asgi_scope() -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/hello",
        "raw_path": b"/hello",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench"), (b"user-agent", b"bench")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
    }


# -- prometheus-client middleware (what a team writes by hand) ------------------------------------


def prometheus_pair() -> tuple[Any, Any]:
    from prometheus_client import CollectorRegistry, Counter, Histogram

    registry = CollectorRegistry()
    requests = Counter(
        "http_requests", "Requests", ["method", "route", "status"], registry=registry
    )
    latency = Histogram(
        "http_request_duration_seconds", "Latency", ["method", "route"], registry=registry
    )
    return requests, latency


def prometheus_wsgi(app: Any) -> Any:
    requests, latency = prometheus_pair()

    def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        start = time.perf_counter()
        status = ["500"]

        def capture(code: str, headers: Any, exc_info: Any = None) -> Any:
            status[0] = code[:3]
            return start_response(code, headers)

        result = app(environ, capture)
        method, route = environ["REQUEST_METHOD"], "/hello"
        requests.labels(method, route, status[0]).inc()
        latency.labels(method, route).observe(time.perf_counter() - start)
        return result

    return middleware


def prometheus_asgi(app: Any) -> Any:
    requests, latency = prometheus_pair()

    async def middleware(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":  # lifespan and websocket scopes pass through
            await app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        await app(scope, receive, capture)
        method, route = scope["method"], "/hello"
        requests.labels(method, route, str(status[0])).inc()
        latency.labels(method, route).observe(time.perf_counter() - start)

    return middleware


# -- variants ---------------------------------------------------------------------------------


def sdk_meter_provider() -> Any:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    return MeterProvider(metric_readers=[InMemoryMetricReader()])


def sli_setup(mode: str) -> None:
    from sli_instrument import configure
    from sli_instrument.testing import reset_state

    reset_state()
    if mode == "owned":
        configure(service_name="bench", exporter="memory", install_global=False)
    else:
        configure(service_name="bench", meter_provider=sdk_meter_provider(), install_global=False)


def build(kind: str, variant: str) -> Any:
    app = trivial_wsgi if kind == "wsgi" else trivial_asgi
    if variant == "bare":
        return app
    if variant.startswith("sli"):
        from sli_instrument import ASGIMiddleware, WSGIMiddleware

        sli_setup(variant.split()[1])
        middleware = WSGIMiddleware if kind == "wsgi" else ASGIMiddleware
        return middleware(app, routes={"/hello": "hello"})
    if variant == "otel contrib":
        from opentelemetry.trace import NoOpTracerProvider

        if kind == "wsgi":
            from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware
        else:
            from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware  # type: ignore
        return OpenTelemetryMiddleware(
            app, tracer_provider=NoOpTracerProvider(), meter_provider=sdk_meter_provider()
        )
    if variant == "prometheus":
        return prometheus_wsgi(app) if kind == "wsgi" else prometheus_asgi(app)
    raise ValueError(variant)


#: CPU time of this process: on a shared machine, time spent descheduled is not ours to count.
CLOCK = time.process_time


def run_wsgi(app: Any, n: int) -> float:
    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        return None

    environ = WSGI_ENVIRON
    started = CLOCK()
    for _ in range(n):
        result = app(dict(environ), start_response)
        for _chunk in result:
            pass
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return (CLOCK() - started) / n


def run_asgi(app: Any, n: int, path: str = "/hello") -> float:
    message = {"type": "http.request", "body": b"", "more_body": False}

    async def receive() -> dict[str, Any]:
        return message

    async def send(message: dict[str, Any]) -> None:
        return None

    template = {**asgi_scope(), "path": path, "raw_path": path.encode()}

    async def many() -> float:
        started = CLOCK()
        for _ in range(n):
            await app(dict(template), receive, send)
        return (CLOCK() - started) / n

    return asyncio.run(many())


VARIANTS = ("bare", "sli owned", "sli provided", "otel contrib", "prometheus")


def measure(kind: str, requests: int, rounds: int) -> dict[str, float]:
    runner = run_wsgi if kind == "wsgi" else run_asgi
    samples: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for _ in range(rounds):
        for variant in VARIANTS:
            app = build(kind, variant)
            runner(app, min(500, requests))  # warm up (first-event binding, caches)
            gc.collect()
            gc.disable()
            try:
                samples[variant].append(runner(app, requests))
            finally:
                gc.enable()
    return {variant: statistics.median(values) for variant, values in samples.items()}


def report(results: dict[str, dict[str, float]]) -> str:
    lines = []
    for kind, medians in results.items():
        bare = medians["bare"]
        overhead = {v: medians[v] - bare for v in VARIANTS}
        lines.append(f"\n{kind.upper()} (median of rounds, microseconds per request)")
        lines.append(f"{'variant':<14}{'total':>10}{'overhead':>10}{'/ otel':>9}{'/ prom':>9}")
        for variant in VARIANTS:
            over = overhead[variant]
            vs_otel = over / overhead["otel contrib"] if variant != "bare" else float("nan")
            vs_prom = over / overhead["prometheus"] if variant != "bare" else float("nan")
            lines.append(
                f"{variant:<14}{medians[variant] * 1e6:>10.2f}{over * 1e6:>10.2f}"
                f"{vs_otel:>9.2f}{vs_prom:>9.2f}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--json", action="store_true", help="print the medians as JSON")
    args = parser.parse_args(argv)
    results = {kind: measure(kind, args.requests, args.rounds) for kind in ("wsgi", "asgi")}
    print(json.dumps(results, indent=2) if args.json else report(results))
    from sli_instrument.testing import reset_state

    reset_state()
    return 0


if __name__ == "__main__":
    sys.exit(main())
