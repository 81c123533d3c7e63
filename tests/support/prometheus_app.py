"""A WSGI app instrumented by sli_instrument, its metrics served by OpenTelemetry's Prometheus
exporter (``/metrics``) for a real Prometheus to scrape.

    python prometheus_app.py SLO_FILE APP_PORT METRICS_PORT

``/checkout`` and ``/search`` are journeys (routes); ``?fail=1`` answers 500 (a failure),
``?slow=1`` sleeps 400 ms first: slower than the test SLO file's threshold (250 ms) by far more
than a busy machine can delay a request that does not sleep, so which requests are slow is exact.
"""

from __future__ import annotations

import sys
import time
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from prometheus_client import start_http_server

import sli_instrument as sli


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    query = environ.get("QUERY_STRING", "")
    if "slow=1" in query:
        time.sleep(0.4)
    status = "500 Internal Server Error" if "fail=1" in query else "200 OK"
    start_response(status, [("Content-Type", "text/plain")])
    return [b"ok\n"]


def main() -> None:
    slo_file, app_port, metrics_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    provider = MeterProvider(
        metric_readers=[PrometheusMetricReader()],
        resource=Resource.create({"service.name": "shop"}),
    )
    sli.configure(service_name="shop", meter_provider=provider, slo_file=slo_file)
    wrapped = sli.WSGIMiddleware(app, routes={"/checkout": "checkout", "/search": "search"})
    server = make_server("127.0.0.1", app_port, wrapped, handler_class=_Quiet)
    start_http_server(metrics_port, addr="127.0.0.1")
    server.serve_forever()


if __name__ == "__main__":
    main()
