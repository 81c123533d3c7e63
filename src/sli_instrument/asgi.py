"""ASGI middleware: every HTTP request is one SLI event of its journey.

```python
app = sli_instrument.ASGIMiddleware(app, routes={"/cart/{item_id}": "cart"})
```

The event's duration ends when the application hands the server the last ``http.response.body``
message (``more_body`` false) or an ``http.response.pathsend``, so a streamed response is measured
to its last chunk; work done after that (Starlette background tasks) is not part of the user's
wait, and the event is recorded once the application returns. Time to first byte is the first
non-empty body message of a streamed body (``more_body`` true); a body sent in one message has no
separate TTFB (it would repeat the duration). A body sent in one message also closes the request
scope (when sent from the context that opened it): code run after the response, such as a
background task, is outside the request (a ``@journey`` there is an event of its own), and a
server that arms a timer with a copy of the context at that point (uvicorn's keep-alive timeout)
does not keep the scope alive. A streamed response's scope closes when the application returns.
``lifespan`` and ``websocket`` scopes pass through untouched.

A client that disconnects before the response is complete (``http.disconnect`` received, or the
server's ``send`` raising, found in the exception's traceback) makes the event ``aborted``; the
application's exceptions pass through unchanged, and messages are forwarded as they are, to the
server's own ``send`` (the middleware hands the application a plain function that returns the
server's awaitable: no coroutine of ours per message).
"""

from __future__ import annotations

import functools
from time import perf_counter
from typing import Any, Callable, Optional, Union

from . import _contract as c
from ._context import _current
from ._http import HTTPInstrumentation, HTTPScope
from ._recorder import recorder
from ._safety import report_internal_error

__all__ = ["ASGIMiddleware"]

_record = recorder.record
_FAILURE = c.OUTCOME_FAILURE
_SUCCESS = c.OUTCOME_SUCCESS


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
            source=f"{type(self).__name__} argument",
        )

    def route_template(self, scope: dict[str, Any]) -> Optional[str]:
        """The route template the framework matched (integrations override this).

        Called after the response, at most once per request, and only when a template can name
        the request: a route map or the ``"route"`` policy is configured and nothing named the
        journey before.
        """
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
            request = _ASGIScope(
                http, scope.get("path") if http.routes is not None else None, start
            )
        except Exception as exc:
            report_internal_error("opening an ASGI request", exc)
            await self.app(scope, receive, send)
            return
        # [status, ttfb, end time (set by the last body message), disconnected, disconnected when
        # the last body message was sent]; a list is the cheapest per-request mutable state.
        state: list[Any] = [None, None, None, False, False]

        async def measured_receive() -> Any:
            message = await receive()
            if message.get("type") == "http.disconnect":
                state[3] = True
            return message

        def measured_send(message: Any) -> Any:
            # A plain function that returns the server's awaitable: no coroutine of ours per
            # message (on a small endpoint, one per message shows in the throughput). The event
            # is recorded when the application returns, from what the messages said. Checks are
            # ordered by frequency: once the response is complete there is nothing left to note.
            # .get(): a malformed message is for the server to reject, with its own error.
            if state[2] is None:
                kind = message.get("type")
                if kind == "http.response.body":
                    if not message.get("more_body", False):
                        state[2] = perf_counter()
                        state[4] = state[3]
                        if state[1] is None:  # not streamed (see HTTPScope.leave)
                            if request._ctx_token is None:
                                # HTTPScope.leave(early=True) without propagate="context", inline.
                                try:
                                    _current.reset(request._token)  # type: ignore[arg-type]
                                    request._token = None
                                except ValueError:  # another context: the final leave knows
                                    pass
                                except Exception as exc:
                                    report_internal_error("closing a request scope", exc)
                            else:
                                request.leave(early=True)
                    elif state[1] is None and message.get("body"):
                        state[1] = perf_counter() - start  # TTFB of a streamed body
                elif kind == "http.response.start":
                    state[0] = message.get("status")
                elif kind == "http.response.pathsend":
                    state[2] = perf_counter()
                    state[4] = state[3]
                    request.leave(early=True)
            return send(message)

        try:
            await self.app(scope, measured_receive, measured_send)
        except BaseException as exc:
            # Raised inside the server's send (a message it could not deliver): the client is
            # gone. Only this rare path walks the traceback.
            gone = _raised_by(exc, send)
            if state[2] is None:
                self._finish(request, scope, start, perf_counter(), state, exc, state[3] or gone)
            else:
                # The response was complete; what failed afterwards (a background task) is not
                # the user's request, unless it was the delivery of that last message.
                self._finish(request, scope, start, state[2], state, None, state[4] or gone)
            request.leave()
            raise
        end = state[2]
        if end is not None and (request.journey is not None or not http.wants_route):
            # The common case: a complete response, no route to look up (none is wanted, or a
            # journey is named already: the route template only ever names requests that nothing
            # claimed, in HTTPScope.route_known and the "route" policy). HTTPScope.end's default
            # rule and the final leave are inline here, so the request costs no frame of ours
            # between the application returning and the recorder: the calls of end() and leave()
            # (and of the early leave above) were about 9,200 of the 30,900 instructions this
            # middleware added to a request of the load tier's Starlette app, in process
            # (docs/reliability.md). Anything unusual (no journey yet, an aborted request, a rule
            # of the journey's or the middleware's, a status that is not an int) goes through
            # end(), which knows every case.
            journey = request.journey
            status = state[0]
            if (
                journey is not None
                and type(status) is int
                and not state[4]
                and http.default_outcomes
                and journey.classifier is None
                and journey.failure_statuses is None
            ):
                _record(
                    journey.stats, end - start, _FAILURE if status >= 500 else _SUCCESS, state[1]
                )
            else:
                request.end(end - start, status, None, state[4], state[1], scope)
            if request._token is not None or request._ctx_token is not None:
                request.leave()
            return
        if end is None:
            # Returned without completing the response: the server answers 500 itself if nothing
            # started, and cuts the connection otherwise. No status to judge by: a failure.
            state[0] = None
            self._finish(request, scope, start, perf_counter(), state, None, state[3])
        else:
            self._finish(request, scope, start, end, state, None, state[4])
        request.leave()

    def _finish(
        self,
        request: HTTPScope,
        scope: dict[str, Any],
        start: float,
        end: float,
        state: list[Any],
        exc: Optional[BaseException],
        aborted: bool,
    ) -> None:
        try:
            if request.journey is None and request.route is None and request.http.wants_route:
                template = self.route_template(scope)
                if template is not None:
                    request.route_known(template)
            request.end(end - start, state[0], exc, aborted, state[1], scope)
        except Exception as error:
            report_internal_error("finishing an ASGI request", error)


def _raised_by(exc: BaseException, send: Any) -> bool:
    """Whether ``exc``, or an exception it wraps or was raised from, came out of ``send``.

    Found by the code of ``send`` among the frames of the tracebacks: Starlette turns an
    ``OSError`` of the server into ``ClientDisconnect``, anyio task groups wrap it in an
    exception group. A ``send`` that is a callable object or a bound method runs the code of
    its class's ``__call__`` (inherited or not) or of its function; that code may run for other
    objects too (the application's own wrappers of a shared base class), so such a frame counts
    only when its first argument is ``send``'s own object. Bounded, and never raises.
    """
    try:
        target = send
        while isinstance(target, functools.partial):
            target = target.func
        owner: Any = getattr(target, "__self__", None)  # a bound method: its object
        code = getattr(getattr(target, "__func__", target), "__code__", None)
        if code is None:  # a callable object: the __call__ its class has, wherever defined
            owner = target
            call = next(
                (k.__dict__["__call__"] for k in type(target).__mro__ if "__call__" in k.__dict__),
                None,
            )
            code = getattr(call, "__code__", None)
        if code is None:
            return False
        pending: list[BaseException] = [exc]
        seen = 0
        while pending and seen < 32:  # exception graphs can be deep or cyclic
            current = pending.pop()
            seen += 1
            tb = current.__traceback__
            while tb is not None:
                if tb.tb_frame.f_code is code and (
                    owner is None or _first_argument(tb.tb_frame, code) is owner
                ):
                    return True
                tb = tb.tb_next
            pending.extend(getattr(current, "exceptions", None) or ())
            for linked in (current.__cause__, current.__context__):
                if linked is not None:
                    pending.append(linked)
    except Exception as error:
        report_internal_error("inspecting an exception from the server", error)
    return False


def _first_argument(frame: Any, code: Any) -> Any:
    """The value of the first parameter (``self``) in ``frame``, or None."""
    if code.co_argcount < 1:
        return None
    return frame.f_locals.get(code.co_varnames[0])


class _ASGIScope(HTTPScope):
    """The request scope, with the baggage header read from the ASGI scope's headers.

    The response state stays in the middleware call's closures: measured under load (two servers
    sharing a core), that was cheaper than making this object carry it and hand its bound
    methods to the application as ``receive``/``send``, although it runs more bytecode.
    """

    __slots__ = ()

    def baggage_header(self, request: Any) -> Optional[str]:
        return _baggage_header(request)
