"""A plain WSGI app for pre-fork server tests (gunicorn with and without ``--preload``, uWSGI).

Configuration comes from the environment only (``SLI_EXPORTER``, ``OTEL_EXPORTER_OTLP_ENDPOINT``,
``OTEL_METRIC_EXPORT_INTERVAL``...), as in production. No server hooks: ``sli_instrument`` itself
must rebuild the pipeline in forked workers. For the test's bookkeeping only, each process appends
``pid role service.instance.id`` to ``$PREFORK_IDS`` when it configures or is forked.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from typing import Any, Callable

import sli_instrument as sli

config = sli.configure(service_name="prefork")


def _note(role: str) -> None:
    path = os.environ.get("PREFORK_IDS")
    current = sli.current_configuration()
    if not path or current is None:
        return
    resource = current.meter_provider._sdk_config.resource.attributes
    with open(path, "a") as handle:
        handle.write(f"{os.getpid()} {role} {resource['service.instance.id']}\n")


_note("import")
os.register_at_fork(after_in_child=lambda: _note("forked"))
try:  # uWSGI without py-call-uwsgi-fork-hooks runs no at-fork hook: note from its own hook
    import uwsgi  # type: ignore[import-not-found]

    _previous = uwsgi.post_fork_hook

    def _uwsgi_note() -> None:
        _previous()  # sli_instrument's rebuild first
        _note("forked")

    uwsgi.post_fork_hook = _uwsgi_note
except ImportError:
    pass


class Declined(Exception):
    pass


@sli.journey("checkout", latency_threshold="200ms")
def checkout(fail: bool) -> bytes:
    time.sleep(0.003)
    if fail:
        raise Declined("card declined")
    return b"paid"


@sli.journey("search")
def search() -> bytes:
    time.sleep(0.002)
    return b"found"


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "")
    try:
        if path == "/checkout":
            body = checkout(environ.get("QUERY_STRING") == "fail")
        elif path == "/search":
            body = search()
        else:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
    except Declined:
        start_response("402 Payment Required", [("Content-Type", "text/plain")])
        return [b"declined"]
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
