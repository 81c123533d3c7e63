"""A traced WSGI app, run as its own process (a global tracer provider is set once per process).

Configured from the environment like production (``SLI_EXPORTER=otlp``, ``SLI_TRACES=true``,
``OTEL_EXPORTER_OTLP_ENDPOINT``, optionally ``OTEL_PROPAGATORS``). It serves on loopback, sends the
requests listed in argv to itself (``path`` or ``path|Header-Name|value``), flushes, and prints one
JSON line describing the global propagator.
"""

from __future__ import annotations

import json
import sys
import threading
import urllib.request
from collections.abc import Iterable
from typing import Any, Callable

from opentelemetry import propagate
from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware
from werkzeug.serving import make_server

import sli_instrument as sli

config = sli.configure(service_name="traced")


@sli.journey("checkout")
def checkout() -> bytes:
    return b"paid"


def inner(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    body = checkout() if environ["PATH_INFO"] == "/checkout" else b"other"
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]


# The OpenTelemetry server span must be current when our middleware learns the journey.
app = OpenTelemetryMiddleware(sli.WSGIMiddleware(inner))


def main() -> None:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    for spec in sys.argv[1:]:
        path, *header = spec.split("|")
        request = urllib.request.Request(f"http://127.0.0.1:{server.server_port}{path}")
        if header:
            request.add_header(header[0], header[1])
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
    server.shutdown()
    config.force_flush()
    print(json.dumps({"fields": sorted(propagate.get_global_textmap().fields)}))
    sli.shutdown()


if __name__ == "__main__":
    main()
