"""What counts as a good HTTP request: status codes, exceptions and custom classifiers.

The default follows the SRE convention for availability SLIs: a response with a 5xx status and an
unhandled exception are failures (the service failed the user); a 4xx is a success (the service
worked and the client asked for something it cannot have). Both are configurable, per journey
(``@journey(..., failure_statuses=..., classifier=...)`` or the SLO file) or for every request of a
middleware (its ``failure_statuses=`` and ``classifier=`` arguments). A journey's own settings win
over the middleware's.

A classifier is ``classifier(status, exception, request) -> bool`` (True: the event failed).
``status`` is the HTTP status sent (``None`` if no response started), ``exception`` what the
application raised (or ``None``), ``request`` the WSGI ``environ`` or the ASGI ``scope``. A
classifier that raises is our fault, not the request's: it is logged (rate-limited), the default
rule applies and the request is untouched.

A client that goes away before the response is complete is neither: the event's outcome is
``aborted`` (counted in ``sli.journey.aborted``, not a valid event of the availability SLI).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Optional

from . import _contract as c
from ._registry import Classifier, Journey
from ._safety import report_internal_error
from .errors import ConfigurationError

__all__ = [
    "DEFAULT_FAILURE_STATUSES",
    "OutcomePolicy",
    "check_classifier",
    "check_failure_statuses",
]

#: Every 5xx status.
DEFAULT_FAILURE_STATUSES: frozenset[int] = frozenset(range(500, 600))

_SUCCESS = c.OUTCOME_SUCCESS
_FAILURE = c.OUTCOME_FAILURE
_ABORTED = c.OUTCOME_ABORTED


def check_failure_statuses(value: object, *, source: str = "argument") -> Optional[frozenset[int]]:
    """Validate a collection of failing HTTP statuses (configuration time)."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ConfigurationError(
            f"invalid failure_statuses {value!r} (from {source}): must be a collection of HTTP "
            "status codes such as {500, 502, 503}"
        )
    codes = set()
    for code in value:
        if isinstance(code, bool) or not isinstance(code, int) or not 100 <= code <= 599:
            raise ConfigurationError(
                f"invalid HTTP status {code!r} in failure_statuses (from {source}): must be an "
                "integer from 100 to 599"
            )
        codes.add(code)
    return frozenset(codes)


def check_classifier(value: object, *, source: str = "argument") -> Optional[Classifier]:
    if value is not None and not callable(value):
        raise ConfigurationError(
            f"invalid classifier {value!r} (from {source}): must be a callable "
            "(status, exception, request) -> bool"
        )
    return value  # type: ignore[return-value]


class OutcomePolicy:
    """The middleware-wide rule; journeys may override it."""

    __slots__ = ("classifier", "failure_statuses")

    def __init__(
        self,
        failure_statuses: object = None,
        classifier: object = None,
        *,
        source: str = "argument",
    ) -> None:
        self.failure_statuses = check_failure_statuses(failure_statuses, source=source)
        self.classifier = check_classifier(classifier, source=source)

    def classify(
        self,
        journey: Journey,
        status: Optional[int],
        exception: Optional[BaseException],
        request: Any,
    ) -> str:
        """The outcome of one completed request. Never raises."""
        if exception is not None and not isinstance(exception, Exception):
            return (
                _ABORTED  # cancelled, KeyboardInterrupt, SystemExit: not a verdict on the service
            )
        classifier = journey.classifier or self.classifier
        if classifier is not None:
            try:
                return _FAILURE if classifier(status, exception, request) else _SUCCESS
            except Exception as exc:
                report_internal_error(f"failure classifier of journey {journey.name!r} raised", exc)
        if exception is not None:
            return _SUCCESS if isinstance(exception, journey.success_exceptions) else _FAILURE
        if status is None:
            return _FAILURE  # the application returned without a response
        statuses = journey.failure_statuses
        if statuses is None:
            statuses = self.failure_statuses
            if statuses is None:
                return _FAILURE if status >= 500 else _SUCCESS
        return _FAILURE if status in statuses else _SUCCESS
