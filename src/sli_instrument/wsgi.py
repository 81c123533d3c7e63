"""WSGI middleware: every request is one SLI event of its journey.

```python
app.wsgi_app = sli_instrument.WSGIMiddleware(app.wsgi_app, routes={"/cart/<id>": "cart"})
```

The event ends when the server has taken the whole body: the response iterable is wrapped and the
clock stops when it is exhausted and closed (``close()`` is mandatory for WSGI servers, PEP 3333),
so a streamed response is measured to its last byte. Time to first byte is when the first non-empty
chunk is handed to the server; it is recorded for streamed bodies (more than one non-empty chunk):
for a body sent at once it would only repeat the duration. An exception while
iterating is a failure; a server that closes the body before exhausting it (the client went away)
makes the event ``aborted``. Responses and exceptions pass through unchanged, and the iterable keeps
``len()`` when the application's had it (servers use it to set ``Content-Length``).

Bodies written with the legacy ``write()`` callable are measured, but get no TTFB. A body that is
the server's own ``wsgi.file_wrapper`` is returned untouched, so the server can still use
``sendfile()``; its event ends when the application returns it (the transfer is not timed).
"""

from __future__ import annotations

from collections.abc import Iterator
from time import perf_counter
from typing import Any, Callable, Optional, Union

from ._http import HTTPInstrumentation, HTTPScope, environ_baggage
from ._safety import report_internal_error

__all__ = ["WSGIMiddleware"]


class WSGIMiddleware:
    """Wrap a WSGI application; see the module docstring and docs/flask.md for the options.

    * ``routes``: ``{route pattern or template: journey name}`` (see ``sli_instrument._routing``).
    * ``unclaimed``: ``"catch-all"`` (default), ``"route"`` or ``"ignore"``.
    * ``baggage_journeys``: journeys a caller may name in W3C baggage ``sli.journey``.
    * ``failure_statuses`` / ``classifier``: what fails, for journeys without their own rule.
    * ``propagate``: outgoing calls carry the journey in W3C baggage (``True``); ``"context"``
      also puts it into the OpenTelemetry context for the whole request; ``False``: neither.
    """

    def __init__(
        self,
        app: Any,
        *,
        routes: Any = None,
        unclaimed: str = "catch-all",
        baggage_journeys: Any = (),
        failure_statuses: Any = None,
        classifier: Any = None,
        propagate: Union[bool, str] = True,
        _http: Optional[HTTPInstrumentation] = None,
    ) -> None:
        self.app = app
        self.http = _http or HTTPInstrumentation(
            routes=routes,
            unclaimed=unclaimed,
            baggage_journeys=baggage_journeys,
            failure_statuses=failure_statuses,
            classifier=classifier,
            propagate=propagate,
            source="WSGIMiddleware argument",
        )

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        start = perf_counter()
        http = self.http
        try:
            body = _Body(http, environ.get("PATH_INFO") if http.routes is not None else None, start)
        except Exception as exc:
            report_internal_error("opening a WSGI request", exc)
            return self.app(environ, start_response)
        # The response side of the request's one object (see _Body); set here, not in an
        # __init__ of its own, to keep one constructor frame per request.
        body._start = start
        body._environ = environ
        body._start_response = start_response
        body._status = None
        body._ttfb = None
        body._streamed = False
        body._result = None
        body._exhausted = False
        body._closed = False
        try:
            result = self.app(environ, body.start_response)
        except BaseException as exc:
            body._finish(exc, aborted=False)
            raise
        # The server's own file wrapper is what wsgi.file_wrapper(file) returned: that exact type
        # (an identity test: it may also be a function, which isinstance() would reject).
        if type(result) is environ.get("wsgi.file_wrapper"):
            # The server sends it with sendfile() only if it gets its own wrapper back: keep it,
            # and let the event end now (the file is ready; only the transfer remains).
            body._exhausted = True
            body._finish(None, aborted=False)
            return result
        body._result = result
        try:
            if hasattr(result, "__len__"):
                body.__class__ = _SizedBody
        except Exception:  # pragma: no cover - defensive
            pass
        return body


class _Body(HTTPScope):
    """The request's scope and the application's response iterable, measured, in one object.

    Also receives ``start_response``. The request's event ends in :meth:`close` (or when the
    application raises, or returns a file for the server to send).
    """

    __slots__ = (
        "_closed",
        "_environ",
        "_exhausted",
        "_result",
        "_start",
        "_start_response",
        "_status",
        "_streamed",
        "_ttfb",
    )

    _start: float
    _environ: dict[str, Any]
    _start_response: Callable[..., Any]
    _status: Optional[str]
    _ttfb: Optional[float]
    _streamed: bool
    _result: Any
    _exhausted: bool
    _closed: bool

    def baggage_header(self, request: Any) -> Optional[str]:
        return environ_baggage(request)

    def start_response(self, status: str, headers: Any, exc_info: Any = None) -> Any:
        self._status = status
        if exc_info is None:
            return self._start_response(status, headers)
        return self._start_response(status, headers, exc_info)

    def __iter__(self) -> Iterator[bytes]:
        # A generator: resuming one per chunk costs less than a Python-level __next__.
        return self._chunks()

    def _chunks(self) -> Iterator[bytes]:
        try:
            for chunk in self._result:
                if chunk:
                    if self._ttfb is None:
                        self._ttfb = perf_counter() - self._start
                    else:
                        self._streamed = True
                yield chunk
        except GeneratorExit:
            raise  # the server stopped iterating; close() decides what that was
        except BaseException as exc:
            self._finish(exc, aborted=False)
            raise
        self._exhausted = True

    def close(self) -> None:
        result = self._result
        try:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        except BaseException as exc:
            self._finish(exc, aborted=False)
            raise
        self._finish(None, aborted=not self._exhausted)

    def _finish(self, exc: Optional[BaseException], aborted: bool) -> None:
        if self._closed:
            return
        self._closed = True
        duration = perf_counter() - self._start
        status = self._status
        code: Optional[int] = None
        if status is not None:
            try:
                code = int(status[:3])
            except (TypeError, ValueError):  # not a PEP 3333 status: judged as no status
                code = None
        ttfb = self._ttfb if self._streamed else None
        self.end(duration, code, exc, aborted, ttfb, self._environ)
        self.leave()


class _SizedBody(_Body):
    __slots__ = ()

    def __len__(self) -> int:
        return len(self._result)
