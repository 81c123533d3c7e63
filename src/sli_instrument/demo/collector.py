"""``--otlp-endpoint``: check that a collector listens before the demo starts."""

from __future__ import annotations

import socket
from urllib.parse import urlparse

from .apps import DemoSetupError


def check_collector(url: str, timeout: float = 2.0) -> None:
    """Fail early, in one line, when nothing listens at the collector's address."""
    parsed = urlparse(url)
    host = parsed.hostname
    if not host or parsed.scheme not in ("http", "https"):
        raise DemoSetupError(
            f"invalid --otlp-endpoint {url!r}: use a URL such as http://localhost:4318"
        )
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise DemoSetupError(
            f"cannot reach the collector at {url} ({reason}): start it, or run the demo "
            "without --otlp-endpoint"
        ) from None
