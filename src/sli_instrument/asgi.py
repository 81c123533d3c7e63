"""ASGI middleware: every HTTP request is one SLI event of its journey.

```python
app = sli_instrument.ASGIMiddleware(app, routes={"/cart/{item_id}": "cart"})
```

The event ends when the application sends the last ``http.response.body`` message (``more_body``
false) and the server has accepted it, so a streamed response is measured to its last chunk; work
done after that (Starlette background tasks) is not part of the user's wait. Time to first byte is
the first non-empty body message of a streamed body (``more_body`` true); a body sent in one
message has no separate TTFB (it would repeat the duration). ``lifespan`` and ``websocket``
scopes pass through untouched.

A client that disconnects before the response is complete (``http.disconnect`` received, or the
server's ``send`` raising) makes the event ``aborted``; the application's exceptions pass through
unchanged, and messages are forwarded as they are.
"""

from __future__ import annotations

from time import perf_counter
from typing import Any, Callable, Optional

from ._http import HTTPInstrumentation, HTTPScope
from ._safety import report_internal_error

__all__ = ["ASGIMiddleware"]

_FINAL_TYPES = frozenset(("http.response.body", "http.response.pathsend"))


def _baggage_header(scope: dict[str, Any]) -> Optional[str]:
    try:
        for name, value in scope.get("headers") or ():
            if name == b"baggage":
                return bytes(value).decode("latin-1")
    except (TypeError, ValueError):  # malformed headers are the server's to reject
        pass
    return None


def _flush_pending() -> None:
    """Export what is pending when the application's lifespan ends (the server is shutting down).

    uvicorn re-raises SIGTERM after its graceful shutdown, so the process dies by the signal and
    ``atexit`` handlers (our last export) never run: without this, the counts of the last export
    interval were lost at every restart. The lifespan messages pass through untouched; this runs
    after the application answered ``lifespan.shutdown`` and before the server regains control.
    """
    try:
        from .config import current_configuration

        configuration = current_configuration()
        if configuration is not None:
            configuration.force_flush(5_000)
    except Exception as exc:
        report_internal_error("flushing metrics at lifespan shutdown", exc)


class ASGIMiddleware:
    """Wrap an ASGI application; options as for :class:`~sli_instrument.WSGIMiddleware`."""

    def __init__(
        self,
        app: Any,
        *,
        routes: Any = None,
        unclaimed: str = "catch-all",
        baggage_journeys: Any = (),
        failure_statuses: Any = None,
        classifier: Any = None,
        propagate: bool = True,
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
            source=f"{type(self).__name__} argument",
        )

    def route_template(self, scope: dict[str, Any]) -> Optional[str]:
        """The route template the framework matched (integrations override this)."""
        return None

    async def __call__(
        self, scope: Any, receive: Callable[..., Any], send: Callable[..., Any]
    ) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                try:
                    await self.app(scope, receive, send)
                finally:
                    _flush_pending()
                return
            await self.app(scope, receive, send)
            return
        start = perf_counter()
        http = self.http
        try:
            exchange = _Exchange(http, scope.get("path") if http.routes is not None else None)
        except Exception as exc:
            report_internal_error("opening an ASGI request", exc)
            await self.app(scope, receive, send)
            return
        # Set here, not in an __init__ of its own: one constructor frame per request.
        exchange.start = start
        exchange.asgi_scope = scope
        exchange.middleware = self
        exchange.server_receive = receive
        exchange.server_send = send
        exchange.status = None
        exchange.ttfb = None
        exchange.done = False
        exchange.disconnected = False
        try:
            await self.app(scope, exchange.receive, exchange.send)
        except BaseException as exc:
            if not exchange.done:
                exchange.finish(exc, exchange.disconnected)
            exchange.leave()
            raise
        if not exchange.done:
            # Returned without completing the response: the server answers 500 itself if nothing
            # started, and cuts the connection otherwise.
            exchange.finish(None, exchange.disconnected, complete=False)
        exchange.leave()


class _Exchange(HTTPScope):
    """One HTTP request through :class:`ASGIMiddleware`: its scope, and the ``receive`` and
    ``send`` the application gets (bound methods: no closures to build per request)."""

    __slots__ = (
        "asgi_scope",
        "disconnected",
        "done",
        "middleware",
        "server_receive",
        "server_send",
        "start",
        "status",
        "ttfb",
    )

    start: float
    asgi_scope: dict[str, Any]
    middleware: ASGIMiddleware
    server_receive: Callable[..., Any]
    server_send: Callable[..., Any]
    status: Optional[int]
    ttfb: Optional[float]
    done: bool
    disconnected: bool

    def baggage_header(self, request: Any) -> Optional[str]:
        return _baggage_header(request)

    async def receive(self) -> Any:
        message = await self.server_receive()
        if message.get("type") == "http.disconnect":
            self.disconnected = True
        return message

    async def send(self, message: Any) -> None:
        # .get(): a malformed message is for the server to reject, with its own error.
        kind = message.get("type")
        if kind == "http.response.start":
            self.status = message.get("status")
        elif kind in _FINAL_TYPES and not self.done:
            if kind == "http.response.pathsend" or not message.get("more_body", False):
                try:
                    await self.server_send(message)
                except BaseException as exc:
                    self.finish(exc, True)
                    raise
                self.finish(None, self.disconnected)
                return
            if self.ttfb is None and message.get("body"):
                self.ttfb = perf_counter() - self.start  # TTFB of a streamed body
        try:
            await self.server_send(message)
        except BaseException:
            self.disconnected = True  # the server could not deliver: the client is gone
            raise

    def finish(self, exc: Optional[BaseException], aborted: bool, complete: bool = True) -> None:
        self.done = True
        duration = perf_counter() - self.start
        if self.route is None and self.http.wants_route:
            try:
                template = self.middleware.route_template(self.asgi_scope)
                if template is not None:
                    self.route_known(template)
            except Exception as error:
                report_internal_error("finding the route template of an ASGI request", error)
        # A response the application left unfinished has no status to judge by: failure.
        status = self.status if complete else None
        self.end(duration, status, exc, aborted, self.ttfb, self.asgi_scope)
