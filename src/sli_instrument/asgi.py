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
            request = _ASGIScope(http, scope.get("path") if http.routes is not None else None)
        except Exception as exc:
            report_internal_error("opening an ASGI request", exc)
            await self.app(scope, receive, send)
            return
        # [status, ttfb, done, disconnected]; a list is the cheapest per-request mutable state.
        state: list[Any] = [None, None, False, False]

        async def measured_receive() -> Any:
            message = await receive()
            if message.get("type") == "http.disconnect":
                state[3] = True
            return message

        async def measured_send(message: Any) -> None:
            # .get(): a malformed message is for the server to reject, with its own error.
            kind = message.get("type")
            if kind == "http.response.start":
                state[0] = message.get("status")
            elif kind in _FINAL_TYPES and not state[2]:
                if state[1] is None and message.get("more_body", False) and message.get("body"):
                    state[1] = perf_counter() - start  # TTFB of a streamed body
                if kind == "http.response.pathsend" or not message.get("more_body", False):
                    try:
                        await send(message)
                    except BaseException as exc:
                        self._finish(request, start, state, exc, True, scope)
                        raise
                    self._finish(request, start, state, None, state[3], scope)
                    return
            try:
                await send(message)
            except BaseException:
                state[3] = True  # the server could not deliver: the client is gone
                raise

        try:
            await self.app(scope, measured_receive, measured_send)
        except BaseException as exc:
            if not state[2]:
                self._finish(request, start, state, exc, state[3], scope)
            request.leave()
            raise
        if not state[2]:
            # Returned without completing the response: the server answers 500 itself if nothing
            # started, and cuts the connection otherwise.
            self._finish(request, start, state, None, state[3], scope, complete=False)
        request.leave()

    def _finish(
        self,
        request: HTTPScope,
        start: float,
        state: list[Any],
        exc: Optional[BaseException],
        aborted: bool,
        scope: dict[str, Any],
        complete: bool = True,
    ) -> None:
        state[2] = True
        duration = perf_counter() - start
        try:
            if request.route is None and request.http.wants_route:
                template = self.route_template(scope)
                if template is not None:
                    request.route_known(template)
            # A response the application left unfinished has no status to judge by: failure.
            status = state[0] if complete else None
            request.end(duration, status, exc, aborted, state[1], scope)
        except Exception as error:
            report_internal_error("finishing an ASGI request", error)


class _ASGIScope(HTTPScope):
    """The request scope, with the baggage header read from the ASGI scope's headers.

    The response state stays in the middleware call's closures: measured under load (two servers
    sharing a core), that was cheaper than making this object carry it and hand its bound
    methods to the application as ``receive``/``send``, although it runs more bytecode.
    """

    __slots__ = ()

    def baggage_header(self, request: Any) -> Optional[str]:
        return _baggage_header(request)
