"""``--otlp-endpoint`` is checked before the demo starts."""

from __future__ import annotations

import socket

import pytest

from sli_instrument.demo.apps import DemoSetupError
from sli_instrument.demo.collector import check_collector

pytestmark = pytest.mark.core


def test_a_listening_collector_passes_and_a_closed_port_fails():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        check_collector(f"http://127.0.0.1:{port}")
    with pytest.raises(DemoSetupError, match=r"cannot reach the collector at http://127\.0\.0\.1"):
        check_collector(f"http://127.0.0.1:{port}")
    with pytest.raises(DemoSetupError, match="invalid --otlp-endpoint 'ftp://x'"):
        check_collector("ftp://x")
