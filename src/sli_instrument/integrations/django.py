"""Django: a sync- and async-capable middleware.

```python
MIDDLEWARE = ["sli_instrument.django.SLIMiddleware", ...]   # first, so it sees every response
SLI_INSTRUMENT = {"routes": {"cart/<int:item_id>/": "cart"}, "unclaimed": "catch-all"}
```

``settings.SLI_INSTRUMENT`` takes the options of :class:`sli_instrument.WSGIMiddleware` plus
``enabled`` (``False`` raises ``MiddlewareNotUsed``: Django then leaves it out); ``classifier`` may
be a callable or a dotted path. The route template is ``request.resolver_match.route``.

The event ends when Django closes the response, which both its WSGI handler (after the server
consumed the body) and its ASGI handler (after the last body message) do, so
``StreamingHttpResponse`` is measured to its last chunk. A streaming response closed before its
content was exhausted, or a request cancelled because the client disconnected, is ``aborted``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from time import perf_counter
from typing import Any, Callable, Optional

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.utils.module_loading import import_string

from .._context import current_scope
from .._http import HTTPInstrumentation, HTTPScope, environ_baggage
from .._safety import report_internal_error
from ..errors import ConfigurationError

__all__ = ["SLIMiddleware"]

OPTIONS = ("routes", "unclaimed", "baggage_journeys", "failure_statuses", "classifier", "propagate")
_SOURCE = "settings.SLI_INSTRUMENT"


def _instrumentation() -> Optional[HTTPInstrumentation]:
    options = getattr(settings, "SLI_INSTRUMENT", None) or {}
    if not isinstance(options, dict):
        raise ConfigurationError(f"invalid {_SOURCE} {options!r}: must be a dict of options")
    options = dict(options)
    enabled = options.pop("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigurationError(
            f"invalid enabled flag {enabled!r} (from {_SOURCE}): must be True or False"
        )
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ConfigurationError(
            f"unknown option(s) {', '.join(map(repr, unknown))} in {_SOURCE}: the options are "
            f"enabled, {', '.join(OPTIONS)}"
        )
    if not enabled:
        return None
    classifier = options.get("classifier")
    if isinstance(classifier, str):
        try:
            options["classifier"] = import_string(classifier)
        except ImportError as exc:
            raise ConfigurationError(
                f"invalid classifier {classifier!r} (from {_SOURCE}): {exc}"
            ) from None
    return HTTPInstrumentation(**options, source=_SOURCE)


class SLIMiddleware:
    """Records every request as one event of its journey (see the module docstring)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[..., Any]) -> None:
        http = _instrumentation()
        if http is None:
            raise MiddlewareNotUsed("sli_instrument is disabled by settings.SLI_INSTRUMENT")
        self.http = http
        self.get_response = get_response
        _import_views()
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)

    def __call__(self, request: Any) -> Any:
        if self._async:
            return self.__acall__(request)
        start = perf_counter()
        scope = self._open(request, start)
        if scope is None:
            return self.get_response(request)
        try:
            response = self.get_response(request)
        except BaseException as exc:
            self._fail(scope, start, exc, request)
            scope.leave()
            raise
        self._measure(response, request, scope, start)
        scope.leave()
        return response

    async def __acall__(self, request: Any) -> Any:
        start = perf_counter()
        scope = self._open(request, start)
        if scope is None:
            return await self.get_response(request)
        try:
            response = await self.get_response(request)
        except BaseException as exc:  # CancelledError: Django cancels us when the client leaves
            self._fail(scope, start, exc, request)
            scope.leave()
            raise
        self._measure(response, request, scope, start)
        scope.leave()
        return response

    def process_view(self, request: Any, view_func: Any, args: Any, kwargs: Any) -> None:
        if not self.http.wants_route:
            return
        match = getattr(request, "resolver_match", None)
        scope = current_scope()
        if match is not None and isinstance(scope, HTTPScope):
            scope.route_known(match.route)

    # -- internals ------------------------------------------------------------------------------
    def _open(self, request: Any, start: float) -> Optional[HTTPScope]:
        http = self.http
        try:
            return _DjangoScope(http, request.path_info if http.routes is not None else None, start)
        except Exception as exc:
            report_internal_error("opening a Django request", exc)
            return None

    def _fail(self, scope: HTTPScope, start: float, exc: BaseException, request: Any) -> None:
        self._learn_route(scope, request)
        scope.end(perf_counter() - start, None, exc, False, None, request)

    def _learn_route(self, scope: HTTPScope, request: Any) -> None:
        if scope.route is None and self.http.wants_route:
            match = getattr(request, "resolver_match", None)
            if match is not None:
                scope.route_known(match.route)

    def _measure(self, response: Any, request: Any, scope: HTTPScope, start: float) -> None:
        try:
            self._learn_route(scope, request)
            _Measured(scope, start, response, request)
        except Exception as exc:
            report_internal_error("measuring a Django response", exc)


class _DjangoScope(HTTPScope):
    __slots__ = ()

    def baggage_header(self, request: Any) -> Optional[str]:
        return environ_baggage(request.META)


def _import_views() -> None:
    """Import the URLconf (and so the views) now, while the app starts, not at the first request.

    ``@journey`` registers journeys and their thresholds when the views are imported, and the
    histogram bucket bounds (which include every threshold) are fixed by the first event or
    export. Django imports the URLconf lazily, at the first request; its system checks import it at
    start-up anyway, so doing it here changes nothing else. A broken URLconf is left for Django to
    report where it always does.
    """
    try:
        from django.urls import get_resolver

        get_resolver().url_patterns  # noqa: B018 - the property imports the URLconf
    except Exception:
        pass


class _Measured:
    """Finishes the event when Django closes the response."""

    __slots__ = (
        "_done",
        "_exhausted",
        "_failed",
        "_original_close",
        "_request",
        "_response",
        "_scope",
        "_start",
        "_ttfb",
    )

    def __init__(self, scope: HTTPScope, start: float, response: Any, request: Any) -> None:
        self._scope = scope
        self._start = start
        self._request = request
        self._response = response
        self._done = False
        self._failed: Optional[BaseException] = None
        if response.streaming:
            self._ttfb: Optional[float] = None
            self._exhausted = False
            content = response.streaming_content
            if hasattr(content, "__aiter__"):
                response.streaming_content = self._measure_async(content)
            else:
                response.streaming_content = self._measure_sync(content)
        else:
            self._ttfb = None  # sent at once: TTFB would repeat the duration
            self._exhausted = True
        self._original_close = response.close
        response.close = self.close

    def _measure_sync(self, content: Iterator[bytes]) -> Iterator[bytes]:
        try:
            for chunk in content:
                if self._ttfb is None and chunk:
                    self._ttfb = perf_counter() - self._start
                yield chunk
        except Exception as exc:
            self._failed = exc
            raise
        self._exhausted = True

    async def _measure_async(self, content: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        try:
            async for chunk in content:
                if self._ttfb is None and chunk:
                    self._ttfb = perf_counter() - self._start
                yield chunk
        except Exception as exc:
            self._failed = exc
            raise
        self._exhausted = True

    def close(self) -> None:
        try:
            self._original_close()
        finally:
            self._finish()

    def _finish(self) -> None:
        if self._done:
            return
        self._done = True
        try:
            duration = perf_counter() - self._start
            failed = self._failed
            aborted = failed is None and not self._exhausted
            response = self._response
            self._response = None  # the response must not outlive its request through us
            self._scope.end(
                duration,
                response.status_code,
                failed,
                aborted,
                self._ttfb,
                self._request,
            )
        except Exception as exc:
            report_internal_error("finishing a Django response", exc)
