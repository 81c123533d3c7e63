"""Outgoing calls carry the request's journey: ``sli.journey`` is added when a propagator injects.

HTTP clients instrumented by OpenTelemetry (``requests``, ``httpx``, ``urllib3``, ``botocore``,
``grpc``...) and ``opentelemetry.propagate.inject(headers)`` written by hand all inject through the
*global* propagator. We wrap it once (:class:`JourneyPropagator`); when it injects while a request
with a journey is being served, the context it injects gets baggage ``sli.journey=<journey>``.

Why at injection and not by putting the journey into the OpenTelemetry context when it is named:
most requests make no outgoing call, and setting and resetting that context on every request was
the largest single cost of the middleware on a small ASGI app (docs/performance.md). Here a
request that calls nothing downstream pays one identity check, and the call that does pays a few
microseconds next to a network round trip. It also reaches further: the journey is read from the
request scope, which every thread and task of the request shares, so a journey named in a worker
thread is carried by a call the request then makes from its own task. ``propagate="context"``
keeps the other behaviour too (the journey in the context for the whole request, for code and
span processors that read baggage).

If another component replaces the global propagator later, a request that starts a second or
more after the previous check wraps the new one (``HTTPInstrumentation.keep_propagator``; the
first request of a middleware always checks).
"""

from __future__ import annotations

from typing import Any, Optional

from opentelemetry import baggage
from opentelemetry.context import Context, get_current
from opentelemetry.propagate import get_global_textmap, set_global_textmap
from opentelemetry.propagators.textmap import (
    CarrierT,
    Getter,
    Setter,
    TextMapPropagator,
    default_getter,
    default_setter,
)

from ._context import _current
from ._contract import BAGGAGE_KEY
from ._safety import report_internal_error

__all__ = ["JourneyPropagator", "keep_installed", "outgoing_context", "uninstall"]


class JourneyPropagator(TextMapPropagator):
    """The global propagator it wraps, plus the current request's journey in injected baggage.

    Extraction and the header fields are the wrapped propagator's, unchanged. The journey only
    reaches the wire if the wrapped propagator writes W3C baggage (the default propagators do;
    ``OTEL_PROPAGATORS=xray`` alone does not).
    """

    def __init__(self, inner: TextMapPropagator) -> None:
        self.inner = inner

    def extract(
        self,
        carrier: CarrierT,
        context: Optional[Context] = None,
        getter: Getter[CarrierT] = default_getter,
    ) -> Context:
        return self.inner.extract(carrier, context=context, getter=getter)

    def inject(
        self,
        carrier: CarrierT,
        context: Optional[Context] = None,
        setter: Setter[CarrierT] = default_setter,
    ) -> None:
        self.inner.inject(carrier, context=outgoing_context(context), setter=setter)

    @property
    def fields(self) -> set[str]:
        return self.inner.fields


def outgoing_context(context: Optional[Context]) -> Optional[Context]:
    """``context`` (default: the current one) plus the current request's journey as baggage.

    Unchanged when no request is being served, nothing named its journey yet, its middleware does
    not propagate, or the journey is the reserved ``unclaimed``. The service's own journey wins
    over an ``sli.journey`` it received in baggage, as it does for the request's own series.
    """
    try:
        scope = _current.get()
        if scope is None:
            return context
        journey = scope.journey
        if journey is None or journey.reserved:
            return context
        http: Any = getattr(scope, "http", None)
        if http is None or not http.propagate:
            return context
        if context is None:
            context = get_current()
        if baggage.get_baggage(BAGGAGE_KEY, context) == journey.name:
            return context
        return baggage.set_baggage(BAGGAGE_KEY, journey.name, context)
    except Exception as exc:
        report_internal_error("adding the journey to outgoing baggage", exc)
        return context


def keep_installed() -> None:
    """Wrap the global propagator unless it already is ours (middleware creation, and request
    starts at most once a second: ``HTTPInstrumentation.keep_propagator``)."""
    current = get_global_textmap()
    if type(current) is not JourneyPropagator:
        set_global_textmap(JourneyPropagator(current))


def uninstall() -> None:
    """Put back the propagator we wrapped (for :func:`sli_instrument.testing.reset_state`)."""
    current = get_global_textmap()
    while isinstance(current, JourneyPropagator):
        current = current.inner
    set_global_textmap(current)
