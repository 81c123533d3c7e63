"""What the WSGI middleware, the ASGI middleware and the framework integrations share.

One :class:`HTTPInstrumentation` per middleware instance holds its options (validated when the
middleware is created: errors raise :class:`~sli_instrument.ConfigurationError` then) and does the
per-request bookkeeping: open the request scope, learn the journey, classify, record.

Where a request's journey comes from, first match wins:

1. the route map (``routes=``), matched against the path when the request arrives and against the
   framework's route template when it is known;
2. ``@journey`` on the view or a ``with journey(...)`` block run by the request;
3. the caller's baggage, for journeys on the ``baggage_journeys=`` allowlist;
   Routes listed for journeys in the SLO file (``routes:``) join the route map once
   ``configure(slo_file=...)`` has run; an explicit ``routes=`` entry wins over the file's;
4. the unclaimed policy (``unclaimed=``): the reserved journey ``unclaimed`` (default), the route
   template as a journey (``"route"``, under the journey cap), or not recorded (``"ignore"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import Token
from typing import Any, Optional, cast

from . import _contract as c
from . import config as _config
from ._context import RequestScope, _current
from ._propagation import BaggagePolicy, annotate_span, detach_journey, enter_journey
from ._recorder import recorder
from ._registry import Journey
from ._routing import RouteMap, UnclaimedPolicy
from ._safety import report_internal_error
from .outcome import OutcomePolicy

__all__ = ["HTTPInstrumentation", "HTTPScope"]

_record = recorder.record
_ABORTED = c.OUTCOME_ABORTED


class HTTPScope(RequestScope):
    """A request scope that also annotates the span and propagates the journey when claimed."""

    __slots__ = ("_ctx", "_ctx_token", "_http", "fallback", "route")

    def __init__(self, http: HTTPInstrumentation) -> None:
        RequestScope.__init__(self)
        self._http = http
        self._ctx: Any = None
        self._ctx_token: Any = None
        #: Journey from the caller's baggage (allowlisted), used if nothing else claims the request.
        self.fallback: Optional[Journey] = None
        #: The route template the framework matched, when it says.
        self.route: Optional[str] = None

    def claim(self, journey: Journey, source: str = "decorator") -> bool:
        if not RequestScope.claim(self, journey, source):
            return False
        try:
            attached = enter_journey(journey, self._http.propagate)
            if attached is not None:
                self._ctx_token, self._ctx = attached
        except Exception as exc:
            report_internal_error("propagating a journey", exc)
        return True


class HTTPInstrumentation:
    """The options of one middleware and its per-request steps. Request-time methods never raise."""

    __slots__ = (
        "_explicit_routes",
        "_seen_config",
        "_source",
        "baggage",
        "policy",
        "propagate",
        "routes",
        "unclaimed",
    )

    def __init__(
        self,
        *,
        routes: object = None,
        unclaimed: object = "catch-all",
        baggage_journeys: object = (),
        failure_statuses: object = None,
        classifier: object = None,
        propagate: object = True,
        source: str = "argument",
    ) -> None:
        self._source = source
        self._explicit_routes = routes
        self.routes = RouteMap(routes, source=source) if routes is not None else None
        if self.routes is not None and not self.routes:
            self.routes = None
        self._seen_config: Any = None
        self._adopt_slo_routes(_config._current)
        self.unclaimed = UnclaimedPolicy(unclaimed, source=source)
        baggage = BaggagePolicy(baggage_journeys, source=source)
        self.baggage = baggage if baggage else None
        self.policy = OutcomePolicy(failure_statuses, classifier, source=source)
        self.propagate = bool(propagate)

    def _adopt_slo_routes(self, configuration: Any) -> None:
        """Merge the route templates of the configured SLO file into the route map."""
        self._seen_config = configuration
        spec = getattr(configuration, "slo", None)
        route_map = getattr(spec, "route_map", None)
        if route_map is None:
            return
        try:
            merged = dict(route_map())
            merged.update(cast(Mapping[str, str], self._explicit_routes or {}))
            routes = RouteMap(merged, source=f"{self._source} and the SLO file")
            self.routes = routes if routes else None
        except Exception as exc:
            report_internal_error("adopting the routes of the SLO file", exc)

    # -- request time ---------------------------------------------------------------------------
    def open(
        self, path: Optional[str], baggage_header: Optional[str]
    ) -> tuple[HTTPScope, Token[Optional[RequestScope]]]:
        """Open the request scope (callers catch our errors and then serve the request bare)."""
        if _config._current is not self._seen_config:
            self._adopt_slo_routes(_config._current)
        scope = HTTPScope(self)
        token = _current.set(scope)
        try:
            if path is not None and self.routes is not None:
                journey = self.routes.match_path(path)
                if journey is not None:
                    scope.claim(journey, "route map")
            if baggage_header is not None and self.baggage is not None:
                scope.fallback = self.baggage.journey_from(baggage_header)
        except Exception as exc:  # the request is still measured, under the other sources
            report_internal_error("naming a request's journey from its path or baggage", exc)
        return scope, token

    def route_known(self, scope: Optional[RequestScope], template: Optional[str]) -> None:
        """The framework matched ``template``: it may name the journey via the route map."""
        try:
            if not isinstance(scope, HTTPScope) or template is None:
                return
            scope.route = template
            if scope.journey is None and self.routes is not None:
                journey = self.routes.match_template(template)
                if journey is not None:
                    scope.claim(journey, "route map")
        except Exception as exc:
            report_internal_error("matching a route template", exc)

    def resolve(self, scope: HTTPScope) -> Optional[Journey]:
        journey = scope.journey
        if journey is None:
            journey = scope.fallback
            if journey is None:
                journey = self.unclaimed.journey_for(scope.route)
                if journey is None:
                    return None
            scope.journey = journey
            annotate_span(journey)
        return journey

    def finish(
        self,
        scope: HTTPScope,
        duration: float,
        status: Optional[int],
        exception: Optional[BaseException],
        aborted: bool,
        ttfb: Optional[float],
        request: Any,
    ) -> None:
        """Classify and record the request's one event. Never raises."""
        try:
            journey = self.resolve(scope)
            if journey is None:
                return
            if aborted:
                outcome = _ABORTED
            else:
                outcome = self.policy.classify(journey, status, exception, request)
            _record(journey.stats, duration, outcome, ttfb)
        except Exception as exc:
            report_internal_error("recording an HTTP request", exc)

    @staticmethod
    def close(scope: HTTPScope, token: Optional[Token[Optional[RequestScope]]]) -> None:
        """Leave the request scope (and the journey baggage). Never raises."""
        try:
            if scope._ctx_token is not None:
                detach_journey(scope._ctx_token, scope._ctx)
                scope._ctx_token = None
            if token is not None:
                _current.reset(token)
        except ValueError:
            # Closed from another context than it was opened in (a server that iterates a WSGI
            # body in another thread): the opening context still holds it, which is harmless.
            pass
        except Exception as exc:
            report_internal_error("closing a request scope", exc)
