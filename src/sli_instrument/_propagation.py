"""Journeys across services: W3C baggage in, OpenTelemetry context out, span attribute.

Incoming: the ``baggage`` header's ``sli.journey`` entry is client input. It is honoured only for
journeys on the middleware's allowlist (``baggage_journeys=``), which are registered when the
middleware is created, so a baggage value can pick among existing series but never create one. A
journey named by the service itself (decorator, route map) wins over baggage.

Outgoing: calls that inject with the global propagator carry the journey; ``_outgoing.py`` adds
it at injection time. With ``propagate="context"`` the journey is also put into the OpenTelemetry
context as baggage ``sli.journey`` for the rest of the request (:func:`with_journey`,
:func:`detach_journey`), for code and span processors that read baggage from the context.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import Token
from typing import Any, Optional
from urllib.parse import unquote

from opentelemetry import baggage, context, trace

from ._contract import ATTR_JOURNEY, BAGGAGE_KEY
from ._registry import Journey, registry
from .errors import ConfigurationError

__all__ = [
    "BaggagePolicy",
    "annotate_span",
    "annotate_span_in",
    "context_var",
    "current_context",
    "detach_journey",
    "with_journey",
]

_get_current_span = trace.get_current_span


class BaggagePolicy:
    """The allowlist of journeys a request may inherit from its caller's baggage."""

    __slots__ = ("_allowed",)

    def __init__(self, names: object = (), *, source: str = "argument") -> None:
        if isinstance(names, (str, bytes)) or not isinstance(names, Iterable):
            raise ConfigurationError(
                f"invalid baggage_journeys {names!r} (from {source}): must be a collection of "
                "journey names such as ['checkout']"
            )
        self._allowed: dict[str, Journey] = {}
        for name in names:
            journey = registry.register(name, source=f"baggage_journeys ({source})")
            self._allowed[journey.name] = journey

    def __bool__(self) -> bool:
        return bool(self._allowed)

    def journey_from(self, header: Optional[str]) -> Optional[Journey]:
        """The allowed journey named in a ``baggage`` header, else None. Cheap when absent."""
        if not header or BAGGAGE_KEY not in header:
            return None
        value = _baggage_value(header)
        if value is None:
            return None
        return self._allowed.get(value)


#: The W3C limit for one ``baggage`` header; a longer one is ignored as a whole.
_MAX_BAGGAGE_LENGTH = 8192


def _baggage_value(header: str) -> Optional[str]:
    """The value of the last ``sli.journey`` member of a W3C ``baggage`` header, or None.

    Parsed here, not by OpenTelemetry's propagator: that one logs malformed or oversized members
    verbatim at WARNING, which would write client input to the logs, once per request.
    """
    if len(header) > _MAX_BAGGAGE_LENGTH:
        return None
    found: Optional[str] = None
    for member in header.split(","):
        key, sep, rest = member.partition("=")
        if sep and key.strip(" \t") == BAGGAGE_KEY:
            found = rest.split(";", 1)[0].strip(" \t")  # properties are metadata
    if not found:
        return None
    try:
        return unquote(found, errors="strict")
    except UnicodeDecodeError:
        return None


def _learn_context_var() -> Any:
    """The ContextVar behind OpenTelemetry's default (contextvars) runtime context, or None.

    Reading and setting it directly is exactly what that runtime does, minus two layers of calls
    on every request; any other runtime context goes through the API.
    """
    try:
        token = context.attach(context.get_current())
        context.detach(token)
        var = getattr(token, "var", None)
        if isinstance(token, Token) and var is not None and var.get() is context.get_current():
            return var
    except Exception:  # pragma: no cover - an exotic runtime context
        pass
    return None


#: The ContextVar of OpenTelemetry's runtime context, or None if it is not the default one.
context_var: Any = _learn_context_var()
attach = context.attach

# journey name -> the context "empty context + baggage sli.journey=<name>". Contexts are
# immutable, so when a request starts from the empty context (no tracing, no incoming baggage:
# the common case) the same one serves every request of the journey, which saves building it.
_from_empty: dict[str, Any] = {}


def current_context() -> Any:
    return context.get_current() if context_var is None else context_var.get()


def annotate_span(journey: Journey) -> None:
    """Set ``sli.journey`` on the current (server) span if one is recording."""
    ctx = current_context()
    if ctx:  # an empty context holds no span: no lookup on untraced requests
        annotate_span_in(ctx, journey)


def annotate_span_in(ctx: Any, journey: Journey) -> None:
    """Set ``sli.journey`` on the span of ``ctx`` if one is recording."""
    span = _get_current_span(ctx)
    if span.is_recording():
        span.set_attribute(ATTR_JOURNEY, journey.name)


def with_journey(parent: Any, journey: Journey) -> Any:
    """``parent`` plus baggage ``sli.journey``: what a request's context becomes once claimed.

    The caller attaches it (``context_var.set`` or ``attach``) and undoes that with
    :func:`detach_journey` at the end of the request.
    """
    if parent:
        return baggage.set_baggage(BAGGAGE_KEY, journey.name, parent)
    ctx = _from_empty.get(journey.name)
    if ctx is None:
        ctx = _from_empty[journey.name] = baggage.set_baggage(BAGGAGE_KEY, journey.name, parent)
    return ctx


def detach_journey(token: Any, ctx: Any) -> None:
    """Undo the attach of :func:`with_journey`'s context at the end of the request, wherever the
    claim happened.

    A claim made in a copied context (a thread pool, a task) usually dies with that copy: then
    the current context is not ``ctx`` and there is nothing to undo. But asgiref's
    ``async_to_sync``/``sync_to_async`` copy context variables *back* into the caller, so the
    request's own context may hold ``ctx`` under a token from another context; it is then reset
    by value, so the journey never leaks into the next request served by this thread.
    """
    var = getattr(token, "var", None)
    if var is None:  # a runtime context that is not contextvars-based
        if context.get_current() is ctx:
            context.detach(token)
        return
    if var.get() is not ctx:
        return
    try:
        var.reset(token)
    except ValueError:
        previous = token.old_value
        var.set(context.Context() if previous is Token.MISSING else previous)
