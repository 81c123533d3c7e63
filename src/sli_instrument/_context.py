"""The current request scope, held in a ContextVar so threads and asyncio tasks never share it."""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import Any, Callable, Optional

from ._observers import claim_observers as _claim_observers
from ._observers import notify_claim
from ._registry import Journey


class RequestScope:
    """One request being served. Middleware opens it; ``@journey`` names its journey."""

    __slots__ = ("journey", "on_claim", "source")

    def __init__(self) -> None:
        self.journey: Journey | None = None
        self.source: str | None = None
        # Set by middleware that wants to react when the journey becomes known (span attribute,
        # baggage for outgoing calls). Called once, with the claimed journey.
        self.on_claim: Callable[[Journey], Any] | None = None

    def claim(self, journey: Journey, source: str = "decorator") -> bool:
        """Name the request's journey. The first journey named wins; later names are ignored."""
        if self.journey is not None:
            return False
        self.journey = journey
        self.source = source
        hook = self.on_claim
        if hook is not None:
            try:
                hook(journey)
            except Exception as exc:  # never into the app
                from ._safety import report_internal_error

                report_internal_error("on_claim hook", exc)
        if _claim_observers:
            notify_claim(journey)
        return True


_current: ContextVar[Optional[RequestScope]] = ContextVar("sli_instrument_request", default=None)

current_scope = _current.get


def open_scope() -> tuple[RequestScope, Token[Optional[RequestScope]]]:
    scope = RequestScope()
    return scope, _current.set(scope)


def close_scope(token: Token[Optional[RequestScope]]) -> None:
    _current.reset(token)
