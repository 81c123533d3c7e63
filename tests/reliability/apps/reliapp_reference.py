"""The load tier's Starlette app, bare, under another middleware that measures requests.

For the reference run of the load tier (``test_load_references.py``): what other ways of measuring
every request cost on the same app and server, side by side with ours. ``RELIAPP_REFERENCE``
picks the middleware, added with ``app.add_middleware`` where ours is (``RELIAPP_INSTRUMENT`` is
forced to 0, so sli_instrument is never imported):

* ``timing``: the least a Python ASGI middleware can do to measure requests: read the clock
  before and after, note the status from the ``http.response.start`` message (a plain function
  as ``send``, no coroutine per message), add to two module-level counters. No journeys, no
  context, no export: the floor of the comparison.
* ``prometheus``: the middleware teams write with prometheus-client (the one of
  ``benchmarks/bench_http.py``): a ``Counter`` by method, route and status and a ``Histogram`` by
  method and route.
* ``opentelemetry``: OpenTelemetry's ASGI middleware (``opentelemetry-instrumentation-asgi``) with
  an SDK ``MeterProvider`` exporting OTLP periodically, as our own pipeline does, and a no-op
  tracer provider (metrics only, like ours).
"""

from __future__ import annotations

import os
from time import perf_counter
from typing import Any

os.environ["RELIAPP_INSTRUMENT"] = "0"

import reliapp_asgi  # noqa: E402 - the bare app, built without sli_instrument

REFERENCE = os.environ.get("RELIAPP_REFERENCE", "timing")


#: Requests answered below 500 and from 500 up, and their summed duration (the timing reference).
COUNTS = [0, 0]
SECONDS = [0.0]


def timing(inner: Any) -> Any:
    async def middleware(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await inner(scope, receive, send)
            return
        start = perf_counter()
        status = [500]

        def noting_send(message: Any) -> Any:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            return send(message)

        await inner(scope, receive, noting_send)
        COUNTS[status[0] >= 500] += 1
        SECONDS[0] += perf_counter() - start

    return middleware


def prometheus(inner: Any) -> Any:
    from benchmarks.bench_http import prometheus_asgi

    return prometheus_asgi(inner)


def opentelemetry(inner: Any) -> Any:
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.trace import NoOpTracerProvider

    # Endpoint and interval from the OTEL_* environment, as for the instrumented app.
    provider = MeterProvider(metric_readers=[PeriodicExportingMetricReader(OTLPMetricExporter())])
    return OpenTelemetryMiddleware(
        inner, tracer_provider=NoOpTracerProvider(), meter_provider=provider
    )


_REFERENCES = {"timing": timing, "prometheus": prometheus, "opentelemetry": opentelemetry}
if REFERENCE not in _REFERENCES:
    raise SystemExit(f"RELIAPP_REFERENCE={REFERENCE!r}: expected one of {sorted(_REFERENCES)}")

# Added where ours is (reliapp_instrument.instrument_asgi): inside Starlette's middleware stack,
# one layer, so every variant's request passes through the same number of coroutines.
reliapp_asgi.app.add_middleware(_REFERENCES[REFERENCE])
app = reliapp_asgi.app
