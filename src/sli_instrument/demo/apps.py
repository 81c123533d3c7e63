"""Find the example shops, load one with the demo's fault hook, and serve it on loopback.

The examples live in the repository's ``examples/`` folder, not in the wheel: they are meant to be
read and copied. So the demo needs a source checkout; without one it stops with one clear line.
``SLI_DEMO_EXAMPLES`` may point at another copy of that folder.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FRAMEWORKS = ("flask", "django")
EXAMPLES_ENV = "SLI_DEMO_EXAMPLES"


class DemoSetupError(Exception):
    """The demo cannot start; the message is one line for the user."""


def examples_dir() -> Path:
    """The ``examples/`` folder of the source checkout this package runs from."""
    override = os.environ.get(EXAMPLES_ENV, "").strip()
    if override:
        candidate = Path(override)
        if (candidate / "flask_app").is_dir() or (candidate / "django_app").is_dir():
            return candidate
        raise DemoSetupError(
            f"{EXAMPLES_ENV}={override!r} holds no example shop (flask_app/ or django_app/)"
        )
    # src/sli_instrument/demo/apps.py: the checkout's root is three levels above this package.
    candidate = Path(__file__).resolve().parents[3] / "examples"
    if (candidate / "flask_app").is_dir() or (candidate / "django_app").is_dir():
        return candidate
    raise DemoSetupError(
        "the demo runs the example shops from a source checkout (examples/ next to src/) and "
        "this installation has none: clone the repository and run ./scripts/demo"
    )


@dataclass
class ShopServer:
    framework: str
    host: str
    port: int
    _server: Any
    _thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5.0)


def _on_path(folder: Path) -> None:
    path = str(folder)
    if path not in sys.path:
        sys.path.insert(0, path)


def load_flask_app(examples: Path) -> Any:
    """The Flask example's application object (``create_app()`` when it has a factory)."""
    folder = examples / "flask_app"
    if not folder.is_dir():
        raise DemoSetupError(f"the Flask example is missing: {folder} does not exist")
    _require("flask", "flask")
    spec = importlib.util.spec_from_file_location("sli_demo_flask_shop", folder / "shop.py")
    if spec is None or spec.loader is None:
        raise DemoSetupError(f"the Flask example has no shop.py in {folder}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # The demo configured the pipeline itself (in-memory or --otlp-endpoint).
    return module.create_app(configure=False)


def load_django_app(examples: Path) -> Any:
    """The Django example's WSGI handler (its settings module is ``djshop.settings``)."""
    folder = examples / "django_app"
    if not folder.is_dir():
        raise DemoSetupError(f"the Django example is missing: {folder} does not exist")
    _require("django", "django")
    _on_path(folder)
    os.environ["DJANGO_SETTINGS_MODULE"] = "djshop.settings"
    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()  # runs django.setup(), which configures logging
    # The induced payment failures are the show, not news: keep their tracebacks off the screen.
    logging.getLogger("django.request").disabled = True
    return application


def _require(module: str, extra: str) -> None:
    try:
        importlib.import_module(module)
    except ImportError:
        raise DemoSetupError(
            f"the {module} example needs {module}: pip install 'sli_instrument[{extra}]'"
        ) from None


def serve(framework: str, app: Any, host: str = "127.0.0.1") -> ShopServer:
    """Serve ``app`` with its framework's own development server on a free loopback port."""
    if framework == "flask":
        from werkzeug.serving import WSGIRequestHandler, make_server

        class QuietHandler(WSGIRequestHandler):
            def log_request(self, *args: Any, **kwargs: Any) -> None:
                pass

        server: Any = make_server(host, 0, app, threaded=True, request_handler=QuietHandler)
    else:
        from django.core.servers.basehttp import (
            ThreadedWSGIServer,
        )
        from django.core.servers.basehttp import (
            WSGIRequestHandler as DjangoHandler,
        )

        class QuietDjangoHandler(DjangoHandler):  # type: ignore[misc]
            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadedWSGIServer((host, 0), QuietDjangoHandler)
        server.set_app(app)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.1},
        name="sli-demo-server",
        daemon=True,
    )
    thread.start()
    return ShopServer(framework, host, int(server.server_address[1]), server, thread)
