"""How the reliability apps install the HTTP middleware (one place, so every app does it alike)."""

from __future__ import annotations

import os
from typing import Any

#: Baggage journeys the apps accept from callers (everything else in baggage is ignored).
BAGGAGE_ALLOWLIST = ("browse", "checkout")


def instrument_wsgi(app: Any) -> Any:
    """Return the Flask app's WSGI callable wrapped by our Flask integration."""
    from sli_instrument.integrations.flask import SLI

    SLI(app, baggage_journeys=BAGGAGE_ALLOWLIST)
    return app.wsgi_app


#: The Starlette app's journeys by route, for the variant that names none in code.
ROUTES = {
    "/browse": "browse",
    "/search": "search",
    "/checkout": "checkout",
    "/pay": "pay",
    "/mixed": "mixed",
    "/stream": "stream",
    "/jitter/{n}": "jitter",
}


def instrument_asgi(app: Any, routes: Any = None, propagate: Any = True) -> Any:
    from sli_instrument.integrations.starlette import SLIMiddleware

    app.add_middleware(
        SLIMiddleware, baggage_journeys=BAGGAGE_ALLOWLIST, routes=routes, propagate=propagate
    )
    return app


class _NoJourney:
    """What ``journey(...)`` gives the bare apps: a decorator, ``with`` and ``async with`` block
    that do nothing, so the same app code runs with and without sli_instrument."""

    def __call__(self, func: Any) -> Any:
        return func

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc: object) -> None:
        return None


def no_journey(*_args: Any, **_kwargs: Any) -> Any:
    """Stands in for ``sli_instrument.journey`` in an app served without it."""
    return _NoJourney()


def enabled() -> bool:
    return os.environ.get("RELIAPP_INSTRUMENT", "1") == "1"


def baggage_journey() -> str:
    """The journey an outgoing call made now would carry in its baggage ("-": none)."""
    if not enabled():
        return "-"
    from opentelemetry import baggage, propagate
    from opentelemetry.baggage.propagation import W3CBaggagePropagator

    carrier: dict[str, str] = {}
    propagate.inject(carrier)  # what an instrumented HTTP client does
    value = baggage.get_baggage("sli.journey", W3CBaggagePropagator().extract(carrier))
    return str(value) if value else "-"
