"""The Flask app of the reliability tiers (faults, concurrency, fork safety), served by gunicorn.

The same module serves the bare app (``RELIAPP_INSTRUMENT=0``: sli_instrument is never imported)
and the instrumented one, so responses can be compared byte for byte.

Environment:

* ``RELIAPP_INSTRUMENT``: ``1`` (default) installs sli_instrument; ``0`` serves the bare app.
* ``RELIAPP_CONTROL_DIR``: a directory the test uses to steer faults inside the worker processes.
  A watcher thread (started on the first request of each worker, so it also exists after a fork)
  applies and removes faults as files appear and disappear there:

  - ``recorder_raise``: everything that records an event raises (the recorder's internals, the
    recorder entry points the middleware and decorators call);
  - ``exporter_raise``: the metric exporter's ``export`` raises.

  Every request to ``/slow`` also writes ``inflight-<pid>`` there while it runs, so a test can kill
  exactly the worker that holds a request.
* ``RELIAPP_SLO_FILE``: passed to ``configure(slo_file=...)``.
* ``RELIAPP_ECHO_JOURNEY=1``: responses carry ``X-Journey``, read from the request scope at the end
  of the handler (context-leak checks).
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from typing import Any, Callable

from flask import Flask, Response, request, stream_with_context
from reliapp_instrument import baggage_journey, no_journey

INSTRUMENT = os.environ.get("RELIAPP_INSTRUMENT", "1") == "1"
CONTROL_DIR = os.environ.get("RELIAPP_CONTROL_DIR", "")
ECHO = os.environ.get("RELIAPP_ECHO_JOURNEY") == "1"

app = Flask(__name__)

if INSTRUMENT:
    import sli_instrument as sli

    sli.configure(
        service_name="reliapp-wsgi",
        slo_file=os.environ.get("RELIAPP_SLO_FILE") or None,
    )
    journey: Callable[..., Any] = sli.journey
else:
    journey = no_journey


def _body(name: str, **extra: Any) -> Response:
    # Deterministic bytes (sorted keys, no clock): the bare and instrumented apps must match.
    return Response(
        json.dumps({"page": name, **extra}, sort_keys=True), mimetype="application/json"
    )


@app.get("/__ready")
def ready() -> Response:
    _watch()
    return _body("ready")


@app.get("/browse")
@journey("browse")
def browse() -> Response:
    _watch()
    return _finish(_body("browse", items=list(range(10))))


@app.get("/search")
@journey("search", latency_threshold="250ms")
def search() -> Response:
    _watch()
    q = request.args.get("q", "")
    return _finish(_body("search", hits=len(q)))


@app.post("/checkout")
@journey("checkout", latency_threshold="300ms")
def checkout() -> Response:
    _watch()
    return _finish(_body("checkout", ok=True))


@app.get("/pay")
@journey("pay")
def pay() -> Response:
    """An induced failure: always answers 503 (a failure of the availability SLI)."""
    _watch()
    response = _body("pay", error="card processor unavailable")
    response.status_code = 503
    return _finish(response)


@app.get("/slow")
@journey("slow", latency_threshold="50ms")
def slow() -> Response:
    _watch()
    seconds = float(request.args.get("s", "0.1"))
    marker = os.path.join(CONTROL_DIR, f"inflight-{os.getpid()}") if CONTROL_DIR else ""
    if marker:
        with open(marker, "w") as f:
            f.write(str(seconds))
    try:
        time.sleep(seconds)
    finally:
        if marker:
            try:
                os.unlink(marker)
            except OSError:
                pass
    return _finish(_body("slow"))


@app.get("/stream")
@journey("stream")
def stream() -> Response:
    _watch()

    def chunks() -> Any:
        for i in range(5):
            yield f"chunk {i}\n"

    return _finish(Response(stream_with_context(chunks()), mimetype="text/plain"))


JITTER_JOURNEYS = 8
JITTER = {n: journey(f"j{n}") for n in range(JITTER_JOURNEYS)}


@app.get("/jitter/<int:n>")
def jitter(n: int) -> Response:
    """Interleave requests across threads: sleep, name a journey chosen by the path, sleep."""
    _watch()
    n %= JITTER_JOURNEYS
    time.sleep(random.random() * 0.002)
    # Nothing yet: a value here leaked from an earlier request. Read only when echoed: the bare
    # app does not pay for this check, so the instrumented one must not either.
    before = baggage_journey() if ECHO and INSTRUMENT else "-"
    with JITTER[n]:
        time.sleep(random.random() * 0.002)
        response = _finish(_body("jitter", n=n))
        if ECHO and INSTRUMENT:
            response.headers["X-Baggage"] = f"{before}>{baggage_journey()}"
        return response


@app.after_request
def _mark(response: Response) -> Response:
    # Every answer the app produced (404 and 405 included) says so; the server's own answers to
    # requests it could not parse do not: the hostile-input tier tells them apart by this.
    response.headers["X-App"] = "1"
    return response


def _finish(response: Response) -> Response:
    if ECHO and INSTRUMENT:
        from sli_instrument._context import current_scope

        scope = current_scope()
        name = scope.journey.name if scope is not None and scope.journey is not None else "-"
        response.headers["X-Journey"] = name
    return response


# -- fault control ---------------------------------------------------------------------------------

_watcher_pid = 0
_watcher_lock = threading.Lock()


def _watch() -> None:
    """Start this process's fault watcher once (after a fork the child starts its own)."""
    global _watcher_pid
    if not CONTROL_DIR or not INSTRUMENT or _watcher_pid == os.getpid():
        return
    with _watcher_lock:
        if _watcher_pid == os.getpid():
            return
        _watcher_pid = os.getpid()
        threading.Thread(target=_watch_loop, name="reliapp-faults", daemon=True).start()


def _watch_loop() -> None:
    from reliapp_faults import FaultSwitch

    switch = FaultSwitch()
    state_file = os.path.join(CONTROL_DIR, f"state-{os.getpid()}")
    written = None
    while True:
        for name in ("recorder_raise", "exporter_raise"):
            switch.set(name, os.path.exists(os.path.join(CONTROL_DIR, name)))
        # Acknowledge which faults are active in this process, so the test knows when it holds.
        state = ",".join(sorted(switch.active))
        if state != written:
            with open(state_file + ".tmp", "w") as f:
                f.write(state)
            os.replace(state_file + ".tmp", state_file)
            written = state
        time.sleep(0.02)


if INSTRUMENT:
    from reliapp_instrument import instrument_wsgi

    app.wsgi_app = instrument_wsgi(app)  # type: ignore[method-assign]

application = app
