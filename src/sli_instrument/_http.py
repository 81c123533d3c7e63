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
from typing import Any, Callable, Optional, cast

from . import _contract as c
from . import config as _config
from ._context import RequestScope, _current
from ._observers import claim_observers as _claim_observers
from ._observers import notify_claim
from ._outgoing import keep_installed
from ._propagation import (
    BaggagePolicy,
    annotate_span,
    annotate_span_in,
    attach,
    current_context,
    detach_journey,
    with_journey,
)
from ._propagation import context_var as _otel_var
from ._recorder import recorder
from ._registry import Journey
from ._routing import RouteMap, UnclaimedPolicy
from ._safety import report_internal_error
from .errors import ConfigurationError
from .outcome import OutcomePolicy

__all__ = ["HTTPInstrumentation", "HTTPScope", "environ_baggage"]

_record = recorder.record
#: How often a request start checks that our propagator is still OpenTelemetry's global one.
PROPAGATOR_CHECK_SECONDS = 1.0
_ABORTED = c.OUTCOME_ABORTED
_FAILURE = c.OUTCOME_FAILURE
_SUCCESS = c.OUTCOME_SUCCESS


class HTTPScope(RequestScope):
    """One HTTP request, from the middleware opening it to its one event being recorded.

    Creating it opens the request scope (the ContextVar that ``@journey`` finds), applies the
    route map to the path and, at most once a second, makes sure outgoing calls can carry the
    journey; :meth:`claim` names the journey (and annotates the span); :meth:`end` classifies and
    records the event;
    :meth:`leave` closes the scope (in the context that opened it: Django and ASGI leave when their
    middleware returns, which may be before or after the event ends; ASGI leaves earlier when a
    response is sent in one body message).

    Those run on every request, so each is one method with the common case inline. Each
    middleware uses a small subclass that knows where the request's ``baggage`` header is; the
    WSGI one is also the response body the server iterates, so a WSGI request costs this one
    object. None of the methods raises into the application.
    """

    __slots__ = ("_ctx", "_ctx_token", "_token", "http", "route")

    def __init__(self, http: HTTPInstrumentation, path: Optional[str], now: float) -> None:
        # RequestScope.__init__'s two fields, set here: one frame less on every request.
        self.journey: Optional[Journey] = None
        self.source: Optional[str] = None
        self.http = http
        #: The route template the framework matched, when it says.
        self.route: Optional[str] = None
        self._ctx: Any = None
        self._ctx_token: Any = None
        if _config._current is not http._seen_config:
            http._adopt_slo_routes(_config._current)
        if now >= http._textmap_due:  # at most once a second (see keep_propagator)
            http.keep_propagator(now)
        self._token: Optional[Token[Optional[RequestScope]]] = _current.set(self)
        if path is not None:
            try:
                routes = http.routes
                journey = routes.match_path(path) if routes is not None else None
                if journey is not None:
                    self.claim(journey, "route map")
            except Exception as exc:  # the request is still measured, under the other sources
                report_internal_error("naming a request's journey from its path", exc)

    def baggage_header(self, request: Any) -> Optional[str]:
        """The request's W3C ``baggage`` header (each middleware's subclass knows where it is)."""
        return None

    def claim(self, journey: Journey, source: str = "decorator") -> bool:
        # RequestScope.claim inline (first journey named wins), then the span; by default nothing
        # more (our propagator adds the journey when a call injects, see _outgoing.py);
        # propagate="context" also puts it into the OTel context.
        if self.journey is not None:
            return False
        self.journey = journey
        self.source = source
        if _claim_observers:
            notify_claim(journey)
        try:
            parent = _otel_var.get() if _otel_var is not None else current_context()
            if parent:  # an empty context holds no span: no lookup on untraced requests
                annotate_span_in(parent, journey)
            http = self.http
            if http.propagate_context and not journey.reserved:
                ctx = with_journey(parent, journey)
                self._ctx = ctx
                self._ctx_token = _otel_var.set(ctx) if _otel_var is not None else attach(ctx)
        except Exception as exc:
            report_internal_error("propagating a journey", exc)
        return True

    def route_known(self, template: Optional[str]) -> None:
        """The framework matched ``template``: it may name the journey via the route map."""
        try:
            if template is None:
                return
            self.route = template
            routes = self.http.routes
            if self.journey is None and routes is not None:
                journey = routes.match_template(template)
                if journey is not None:
                    self.claim(journey, "route map")
        except Exception as exc:
            report_internal_error("matching a route template", exc)

    def end(
        self,
        duration: float,
        status: Optional[int],
        exception: Optional[BaseException],
        aborted: bool,
        ttfb: Optional[float],
        request: Any,
    ) -> None:
        """Classify and record the request's one event.

        Leaving is separate (:meth:`leave`): it must run in the context the scope was opened in,
        and the event may end elsewhere (an ASGI response finished from a task of its own).
        The ASGI middleware runs the common case (a journey named, the default rule) inline and
        calls this for the rest: a change to the default rule here belongs there too.
        """
        try:
            journey = self.journey
            if journey is None:
                journey = self._unclaimed_journey(request)
            if journey is not None:
                http = self.http
                if aborted:
                    outcome = _ABORTED
                elif (
                    exception is None
                    and status is not None
                    and http.default_outcomes
                    and journey.classifier is None
                    and journey.failure_statuses is None
                ):
                    # OutcomePolicy.classify's default rule, inline: the case of most requests.
                    outcome = _FAILURE if status >= 500 else _SUCCESS
                else:
                    outcome = http.policy.classify(journey, status, exception, request)
                _record(journey.stats, duration, outcome, ttfb)
        except Exception as exc:
            report_internal_error("recording an HTTP request", exc)

    def _unclaimed_journey(self, request: Any) -> Optional[Journey]:
        """Nothing named the request: the caller's allowed baggage, else the unclaimed policy."""
        http = self.http
        journey = None
        if http.baggage is not None:
            # Read only now: a journey named by the service itself wins over the caller's.
            journey = http.baggage.journey_from(self.baggage_header(request))
        if journey is None:
            journey = http.unclaimed.journey_for(self.route)
            if journey is None:
                return None
        self.journey = journey
        annotate_span(journey)
        return journey

    def leave(self, early: bool = False) -> None:
        """Close the request scope and take the journey's baggage out of the context.

        ``early=True``: the ASGI middleware, while a response sent in one body message is being
        sent, before the application returns. Code the application runs after its response
        (Starlette's background tasks) is not part of the request, and the server schedules work
        at this point (uvicorn's keep-alive timer) in a copy of the current context: left open,
        the scope and its context would stay referenced by that timer for seconds after every
        request, and the garbage collector would run several times as often (measured under
        uvicorn: 83 young collections per 60,000 requests against 14 for the bare app; 19 since).
        An early leave only acts in the context that opened the scope and otherwise keeps
        everything for the final call, which also knows the unusual cases (a journey claimed in
        another context). Trying from another context costs an exception, so the ASGI middleware
        does not try for a streamed response (Starlette sends those from a task of its own). The
        ASGI middleware runs the early leave's common case (no ``propagate="context"``) inline,
        and skips the final call when nothing is left to close.
        Never raises.
        """
        try:
            ctx_token = self._ctx_token
            if ctx_token is not None:  # propagate="context": the journey's context too
                ctx = self._ctx
                if _otel_var is not None and _otel_var.get() is ctx:
                    try:
                        _otel_var.reset(ctx_token)  # detach_journey's common case, inline
                    except ValueError:  # a token of another context: detach_journey knows
                        if early:
                            return
                        detach_journey(ctx_token, ctx)
                elif early:
                    return
                else:
                    detach_journey(ctx_token, ctx)
                self._ctx_token = None
            token = self._token
            if token is not None:
                _current.reset(token)
                self._token = None
        except ValueError:
            # From another context than the one that opened the scope: an early leave leaves it
            # to the final one; a final one from there (a server that iterates a WSGI body in
            # another thread) leaves it to the opening context, which holds it harmlessly.
            pass
        except Exception as exc:
            report_internal_error("closing a request scope", exc)


class HTTPInstrumentation:
    """The options of one middleware and its per-request steps. Request-time methods never raise."""

    __slots__ = (
        "_explicit_routes",
        "_route_listeners",
        "_seen_config",
        "_source",
        "_textmap_due",
        "baggage",
        "default_outcomes",
        "policy",
        "propagate",
        "propagate_context",
        "routes",
        "unclaimed",
        "wants_route",
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
        self._route_listeners: list[Callable[[], object]] = []
        self.wants_route = False  # set below, once the options are known
        self.routes = RouteMap(routes, source=source) if routes is not None else None
        if self.routes is not None and not self.routes:
            self.routes = None
        self._seen_config: Any = None
        self._adopt_slo_routes(_config._current)
        self.unclaimed = UnclaimedPolicy(unclaimed, source=source)
        #: Whether the route template the framework matched is used at all: by the route map, or
        #: by the ``"route"`` unclaimed policy. Integrations skip looking it up when it is not
        #: (Flask's url_rule hook is not even installed), which is the default.
        self.wants_route = self.routes is not None or self.unclaimed.policy == "route"
        baggage = BaggagePolicy(baggage_journeys, source=source)
        self.baggage = baggage if baggage else None
        self.policy = OutcomePolicy(failure_statuses, classifier, source=source)
        #: No middleware-wide classifier or statuses: a journey without its own rule gets the
        #: default one (5xx fails), which HTTPScope.end applies without a call.
        policy = self.policy
        self.default_outcomes = policy.classifier is None and policy.failure_statuses is None
        #: Outgoing calls carry the journey (``True``, ``"context"``); ``"context"`` also puts it
        #: into the OpenTelemetry context for the whole request.
        self.propagate, self.propagate_context = _propagate_mode(propagate, source)
        #: When a request start next checks that our propagator is still the global one (the
        #: first request always does; never without propagation).
        self._textmap_due = 0.0 if self.propagate else float("inf")
        if self.propagate:
            keep_installed()

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
            return
        if self.routes is not None and not self.wants_route:
            self.wants_route = True
            for listener in self._route_listeners:
                try:
                    listener()
                except Exception as exc:
                    report_internal_error("starting to read route templates", exc)

    def when_route_wanted(self, listener: Callable[[], object]) -> None:
        """Call ``listener`` once route templates become wanted (an SLO file with routes was
        configured after this middleware was created); now if they already are."""
        if self.wants_route:
            listener()
        else:
            self._route_listeners.append(listener)

    # -- request time ---------------------------------------------------------------------------
    def keep_propagator(self, now: float) -> None:
        """Wrap again a global propagator installed after ours, so that outgoing calls keep
        carrying the journey; called when a request starts, at most once a second.

        Not on every claim, as it was: the one call into OpenTelemetry it makes measured one to two
        points of capacity on the load tier's Starlette app (docs/reliability.md), for an event
        that happens once, at start-up, if ever. A propagator installed while serving is wrapped by
        the first request that starts a second or more after the previous check.
        """
        self._textmap_due = now + PROPAGATOR_CHECK_SECONDS
        try:
            keep_installed()  # a type check, and a new wrapper only when ours was replaced
        except Exception as exc:
            report_internal_error("keeping the journey propagator installed", exc)

    @staticmethod
    def route_known(scope: Optional[RequestScope], template: Optional[str]) -> None:
        """For custom integrations: the framework matched ``template`` for the current request."""
        if isinstance(scope, HTTPScope):
            scope.route_known(template)


def _propagate_mode(value: object, source: str) -> tuple[bool, bool]:
    """``propagate=``: (outgoing calls carry the journey, the context holds it all request)."""
    if isinstance(value, bool):
        return value, False
    if value == "context":
        return True, True
    raise ConfigurationError(
        f"invalid propagate {value!r} (from {source}): must be True (outgoing calls carry the "
        "journey), 'context' (also put it into the OpenTelemetry context for the whole request) "
        "or False"
    )


def environ_baggage(environ: Any) -> Optional[str]:
    """The ``baggage`` header of a WSGI environ (Django's ``request.META`` is one), or None."""
    value = environ.get("HTTP_BAGGAGE")
    return value if isinstance(value, str) else None
