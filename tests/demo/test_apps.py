"""Finding the example shops, and serving one on loopback with its framework's own server."""

from __future__ import annotations

import http.client

import pytest

from sli_instrument.demo.apps import (
    DemoSetupError,
    examples_dir,
    load_flask_app,
    serve,
)

pytestmark = pytest.mark.usefixtures("sli_reset")


def test_examples_come_from_the_checkout(monkeypatch):
    monkeypatch.delenv("SLI_DEMO_EXAMPLES", raising=False)
    found = examples_dir()
    assert (found / "flask_app" / "shop.py").exists()


def test_a_folder_without_examples_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("SLI_DEMO_EXAMPLES", str(tmp_path))
    with pytest.raises(DemoSetupError) as error:
        examples_dir()
    assert str(error.value) == (
        f"SLI_DEMO_EXAMPLES={str(tmp_path)!r} holds no example shop (flask_app/ or django_app/)"
    )


def test_flask_shop_served_on_a_free_loopback_port(monkeypatch):
    monkeypatch.delenv("SLI_DEMO_EXAMPLES", raising=False)
    app = load_flask_app(examples_dir())
    server = serve("flask", app)
    try:
        assert server.host == "127.0.0.1" and server.port > 0
        connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
        for _ in range(3):  # one keep-alive connection, several requests
            connection.request("GET", "/products/2")
            response = connection.getresponse()
            assert response.status == 200 and b"french press" in response.read()
        connection.close()
    finally:
        server.stop()
