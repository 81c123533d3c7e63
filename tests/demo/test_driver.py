"""The traffic driver against a real HTTP server on loopback: what it tallies is what was served."""

from __future__ import annotations

import threading
import time
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from sli_instrument.demo.driver import DELAY_HEADER, FAIL_HEADER, TrafficDriver
from sli_instrument.demo.scenario import SHOP, FaultPlan

pytestmark = pytest.mark.core


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def test_driver_sends_the_scenario_and_tallies_what_it_saw():
    served = []
    lock = threading.Lock()

    def app(environ, start_response):
        failing = environ.get("HTTP_" + FAIL_HEADER.upper().replace("-", "_")) == "1"
        delay = environ.get("HTTP_" + DELAY_HEADER.upper().replace("-", "_"))
        with lock:
            served.append((environ["REQUEST_METHOD"], environ["PATH_INFO"], failing, delay))
        status = "503 Service Unavailable" if failing else "200 OK"
        start_response(status, [("Content-Type", "text/plain")])
        return [b"x" * 100]

    server = make_server("127.0.0.1", 0, app, server_class=_Server, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    plan = FaultPlan(SHOP, seed=1)
    plan.begin(duration=1.0)
    driver = TrafficDriver("127.0.0.1", server.server_address[1], SHOP, plan, threads=4, seed=1)
    try:
        driver.start()
        time.sleep(1.2)
        driver.stop()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    total = sum(t.sent for t in driver.tally.values())
    assert total == driver.total_sent > 50
    assert sum(t.errors for t in driver.tally.values()) == 0
    assert len(served) == total
    induced = sum(t.induced_failures for t in driver.tally.values())
    assert induced == sum(1 for *_, failing, _ in served if failing)
    assert driver.tally["checkout"].server_errors == driver.tally["checkout"].induced_failures
    assert induced > 0  # the incident (35%-63% of the second) made some checkouts fail
    paths = {path for _, path, _, _ in served}
    assert "/checkout" in paths and any(p.startswith("/products/") for p in paths)
    assert all(d is None or int(d) >= 0 for *_, d in served)
