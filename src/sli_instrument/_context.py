"""The current request scope, held in a ContextVar so threads and asyncio tasks never share it."""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import Optional

from ._observers import claim_observers as _claim_observers
from ._observers import notify_claim
from ._registry import Journey


class RequestScope:
    """One request being served. Middleware opens it; ``@journey`` names its journey.

    The HTTP middleware's scope (``_http.HTTPScope``) extends it: span attribute and baggage on
    claim, classification and recording at the end.
    """

    __slots__ = ("journey", "source")

    def __init__(self) -> None:
        self.journey: Journey | None = None
        self.source: str | None = None

    def claim(self, journey: Journey, source: str = "decorator") -> bool:
        """Name the request's journey. The first journey named wins; later names are ignored."""
        if self.journey is not None:
            return False
        self.journey = journey
        self.source = source
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
