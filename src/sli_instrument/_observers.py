"""Observers of journeys being named and of events ending, for integrations (X-Ray SDK).

Two moments matter to an integration that labels something outside our metrics:

* a request scope's journey is claimed (``RequestScope.claim``): the request is still running, so
  its X-Ray segment is open;
* a standalone event ends (``@journey`` outside a request scope) or a request is recorded: the
  outcome is known.

Both lists are empty unless an integration is installed; the hot path only tests them for
truthiness. An observer never raises into the application: faults are reported and dropped.
"""

from __future__ import annotations

from typing import Any, Callable

from ._safety import report_internal_error

__all__ = ["claim_observers", "event_observers", "notify_claim", "notify_event"]

#: Called with the journey when a request scope's journey is claimed.
claim_observers: list[Callable[[Any], Any]] = []
#: Called with the journey and the outcome when an event ends.
event_observers: list[Callable[[Any, str], Any]] = []


def notify_claim(journey: Any) -> None:
    for observer in tuple(claim_observers):
        try:
            observer(journey)
        except Exception as exc:
            report_internal_error("a journey-claim observer", exc)


def notify_event(journey: Any, outcome: str) -> None:
    for observer in tuple(event_observers):
        try:
            observer(journey, outcome)
        except Exception as exc:
            report_internal_error("an event observer", exc)
