"""A dead or hung collector never slows a request, memory stays bounded, and export recovers.

One run, one server: request latency is measured with the collector healthy, refusing connections,
and accepting but never answering; then the collector comes back and every event is delivered
(cumulative counters: nothing recorded while it was away is lost). Export interval 100 ms and
exporter timeout 0.5 s keep the test short; a request that waited for an export would take at least
the timeout.
"""

from __future__ import annotations

import logging
import statistics
import threading
import time
import tracemalloc
import urllib.request
from collections.abc import Iterable, Iterator
from typing import Any, Callable

import pytest
from werkzeug.serving import make_server

import sli_instrument as sli
from tests.support.otlp_receiver import OTLPReceiver, latest

pytestmark = [pytest.mark.faults, pytest.mark.usefixtures("sli_reset")]

EXPORT_TIMEOUT = 0.5
#: Allocations that count: ours and the export path's (not pytest's log capture, not the server).
OURS = ("sli_instrument", "opentelemetry", "urllib3", "requests", "google/protobuf")


@pytest.fixture
def receiver() -> Iterator[OTLPReceiver]:
    with OTLPReceiver(hang_timeout=10) as started:
        yield started


def _app() -> Callable[..., Iterable[bytes]]:
    @sli.journey("checkout")
    def checkout() -> bytes:
        return b"paid"

    def inner(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = checkout()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body]

    return sli.WSGIMiddleware(inner)  # type: ignore[no-any-return]


def _latencies(port: int, n: int) -> list[float]:
    result = []
    for _ in range(n):
        start = time.perf_counter()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/checkout", timeout=10) as response:
            response.read()
        result.append(time.perf_counter() - start)
    return result


def _exported_requests(receiver: OTLPReceiver) -> float:
    points = latest(receiver.metrics, resource={"service.name": "faults"})
    return sum(
        p.value or 0
        for (name, _), p in points.items()
        if name == "sli.journey.requests" and p.attributes.get("sli.journey") == "checkout"
    )


def test_collector_down_or_hung_requests_unaffected_then_recovery(
    receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", str(EXPORT_TIMEOUT))  # seconds (Python SDK)
    # The test server's access log would be captured by pytest, request after request.
    monkeypatch.setattr(logging.getLogger("werkzeug"), "level", logging.ERROR)
    config = sli.configure(
        service_name="faults", exporter="otlp", endpoint=receiver.http_endpoint,
        export_interval="100ms", install_global=False,
    )  # fmt: skip
    server = make_server("127.0.0.1", 0, _app(), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_port
    sent = 0
    try:
        _latencies(port, 20)  # warm up
        healthy = _latencies(port, 150)
        receiver.refuse()  # collector not listening
        refused = _latencies(port, 150)
        receiver.ok()
        receiver.hang()  # collector accepts and never answers
        time.sleep(0.3)
        hung = _latencies(port, 150)

        # Memory while exports keep timing out: several more export rounds, many more requests.
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        hung_more = _latencies(port, 300)
        time.sleep(4 * 0.1 + 2 * EXPORT_TIMEOUT)
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        growth = sum(
            stat.size_diff
            for stat in after.compare_to(before, "filename")
            if any(part in str(stat.traceback) for part in OURS)
        )
        sent = 20 + 150 * 3 + 300
        hung_exports = len([a for a in receiver.attempts if a[0] == "metrics"])

        receiver.ok()  # the collector is back
        receiver.wait_for(lambda r: _exported_requests(r) == sent, timeout=15)
    finally:
        server.shutdown()
        config.force_flush()

    def p50(values: list[float]) -> float:
        return statistics.median(values)

    print(
        f"p50 healthy {p50(healthy) * 1e3:.2f} ms, refused {p50(refused) * 1e3:.2f} ms, "
        f"hung {p50(hung) * 1e3:.2f} ms; max hung {max(hung + hung_more) * 1e3:.1f} ms; "
        f"tracemalloc growth {growth / 1024:.0f} KiB over {len(hung_more)} requests"
    )
    # Nothing waits for an export: no request comes near the exporter's timeout...
    assert max(refused + hung + hung_more) < EXPORT_TIMEOUT * 0.6
    # ...and the typical request costs what it cost with a healthy collector (loose bounds: two
    # shared CPUs; the signal would be a jump of hundreds of milliseconds).
    assert p50(refused) < p50(healthy) * 2 + 0.003
    assert p50(hung) < p50(healthy) * 2 + 0.003
    # Aggregates, not queues: a fixed amount of state whatever the number of requests or failed
    # exports (a queue of unsent batches would grow by every export round).
    assert growth < 512 * 1024, growth
    assert hung_exports >= 3  # the exporter really kept trying during the outage
    assert _exported_requests(receiver) == sent
