"""Call a WSGI application in process as a server would, for tests that need no sockets."""

from __future__ import annotations

import io
from typing import Any
from wsgiref.util import setup_testing_defaults


def call_wsgi(app: Any, path: str) -> bytes:
    """GET ``path`` from ``app``: start the response, read the whole body, close it."""
    environ: dict[str, Any] = {"PATH_INFO": path, "wsgi.input": io.BytesIO()}
    setup_testing_defaults(environ)
    result = app(environ, lambda *a: None)
    body = b"".join(result)
    result.close()
    return body
