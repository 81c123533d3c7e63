"""Journeys: names, validation, per-journey options and the cap on how many may exist.

A journey is registered once, when the code that names it is defined (decorator, context manager,
SLO file, route map). Registering the same name again returns the same journey; options given twice
must agree, so two parts of a code base cannot silently disagree about a threshold.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any, Callable, Optional, Union, cast

from ._contract import UNCLAIMED_JOURNEY
from ._duration import parse_duration
from ._names import validate_journey_name
from .errors import ConfigurationError

#: ``(status, exception, scope) -> True when the event failed``; see ``sli_instrument.outcome``.
Classifier = Callable[[Optional[int], Optional[BaseException], Any], bool]
ExceptionTypes = tuple[type[BaseException], ...]

DEFAULT_JOURNEY_CAP = 100
DEFAULT_LATENCY_THRESHOLD = 1.0

_UNSET: Any = object()


class Journey:
    """A registered journey. Its identity is its name; options may be completed later (SLO file)."""

    __slots__ = (
        "_latency_threshold",
        "classifier",
        "enabled",
        "failure_statuses",
        "name",
        "reserved",
        "sources",
        "stats",
        "success_exceptions",
    )

    def __init__(self, name: str, *, reserved: bool = False) -> None:
        self.name = name
        self.reserved = reserved
        self._latency_threshold: float | None = None
        self.success_exceptions: ExceptionTypes = ()
        self.enabled = True
        self.failure_statuses: frozenset[int] | None = None
        self.classifier: Classifier | None = None
        self.sources: dict[str, str] = {}
        # Filled by the recorder: the in-process aggregates of this journey (hot path state).
        self.stats: Any = None

    @property
    def latency_threshold(self) -> float:
        """The threshold in seconds: the journey's own, else the registry default."""
        if self._latency_threshold is not None:
            return self._latency_threshold
        return registry.default_latency_threshold

    @property
    def has_own_threshold(self) -> bool:
        return self._latency_threshold is not None

    def __repr__(self) -> str:
        return f"Journey({self.name!r}, latency_threshold={self.latency_threshold!r})"


Listener = Callable[[Journey], None]


class JourneyRegistry:
    """The capped set of journeys of this process."""

    def __init__(self, cap: int = DEFAULT_JOURNEY_CAP) -> None:
        self._lock = threading.RLock()
        self._journeys: dict[str, Journey] = {}
        self._cap = cap
        self._listeners: list[Listener] = []
        self.default_latency_threshold = DEFAULT_LATENCY_THRESHOLD

    # -- queries (lock-free: dict reads are atomic and journeys are never removed while serving)
    def get(self, name: str) -> Journey | None:
        return self._journeys.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._journeys

    def __iter__(self) -> Any:
        return iter(list(self._journeys.values()))

    def __len__(self) -> int:
        return len(self._journeys)

    def names(self) -> list[str]:
        return sorted(self._journeys)

    @property
    def cap(self) -> int:
        return self._cap

    def set_cap(self, cap: object, *, source: str = "argument") -> None:
        if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
            raise ConfigurationError(
                f"invalid journey cap {cap!r} (from {source}): must be a whole number >= 1"
            )
        with self._lock:
            user_journeys = sum(1 for j in self._journeys.values() if not j.reserved)
            if user_journeys > cap:
                raise ConfigurationError(
                    f"journey cap {cap} (from {source}) is below the {user_journeys} journeys "
                    f"already registered: {', '.join(self.names())}"
                )
            self._cap = cap

    def set_default_latency_threshold(self, value: object, *, source: str = "argument") -> None:
        self.default_latency_threshold = parse_duration(
            value, what="default latency threshold", source=source
        )
        self._notify_all()

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener`` for every journey registered so far and every later one."""
        with self._lock:
            self._listeners.append(listener)
            existing = list(self._journeys.values())
        for journey in existing:
            listener(journey)

    # -- registration (configuration time: errors raise)
    def register(
        self,
        name: object,
        *,
        latency_threshold: object = None,
        success_exceptions: object = None,
        enabled: object = None,
        failure_statuses: object = None,
        classifier: object = None,
        source: str = "argument",
    ) -> Journey:
        """Register ``name`` (or complete an existing journey) and return it.

        Raises :class:`ConfigurationError` for a bad name or option, an option that contradicts one
        given before, or a new journey beyond the cap.
        """
        checked = validate_journey_name(name, source=source)
        threshold = (
            None
            if latency_threshold is None
            else parse_duration(
                latency_threshold, what=f"latency threshold of journey {checked!r}", source=source
            )
        )
        exceptions = _check_exceptions(checked, success_exceptions, source)
        statuses = _check_statuses(checked, failure_statuses, source)
        if enabled is not None and not isinstance(enabled, bool):
            raise ConfigurationError(
                f"invalid enabled flag {enabled!r} for journey {checked!r} (from {source}): "
                "must be True or False"
            )
        if classifier is not None and not callable(classifier):
            raise ConfigurationError(
                f"invalid classifier {classifier!r} for journey {checked!r} (from {source}): "
                "must be a callable (status, exception, scope) -> bool"
            )
        with self._lock:
            journey = self._journeys.get(checked)
            created = journey is None
            if journey is None:
                user_journeys = sum(1 for j in self._journeys.values() if not j.reserved)
                if checked != UNCLAIMED_JOURNEY and user_journeys >= self._cap:
                    raise ConfigurationError(
                        f"cannot register journey {checked!r} (from {source}): the journey cap of "
                        f"{self._cap} is reached; raise it with configure(journey_cap=...) or "
                        "SLI_JOURNEY_CAP if these journeys are intended"
                    )
                journey = Journey(checked, reserved=checked == UNCLAIMED_JOURNEY)
            _merge(journey, "latency_threshold", "_latency_threshold", threshold, source)
            _merge(journey, "success_exceptions", "success_exceptions", exceptions, source)
            _merge(journey, "enabled", "enabled", enabled, source)
            _merge(journey, "failure_statuses", "failure_statuses", statuses, source)
            _merge(journey, "classifier", "classifier", classifier, source)
            if created:
                self._journeys[checked] = journey
            listeners = list(self._listeners)
        for listener in listeners:
            listener(journey)
        return journey

    def override_threshold(self, name: str, seconds: float, *, source: str) -> None:
        """Set a journey's threshold from the SLO file, the single source of truth."""
        journey = self.register(name, source=source)
        journey._latency_threshold = seconds
        journey.sources["latency_threshold"] = source
        journey.sources["threshold_override"] = source
        self._notify(journey)

    def _notify(self, journey: Journey) -> None:
        for listener in list(self._listeners):
            listener(journey)

    def _notify_all(self) -> None:
        for journey in list(self._journeys.values()):
            self._notify(journey)

    def clear(self) -> None:
        """Forget every journey (tests only: live decorators keep their journeys)."""
        with self._lock:
            self._journeys.clear()
            self._cap = DEFAULT_JOURNEY_CAP
            self.default_latency_threshold = DEFAULT_LATENCY_THRESHOLD


_DEFAULTS: dict[str, Any] = {
    "_latency_threshold": None,
    "success_exceptions": (),
    "enabled": True,
    "failure_statuses": None,
    "classifier": None,
}


def _merge(journey: Journey, option: str, attr: str, value: Any, source: str) -> None:
    if value is None or (option == "success_exceptions" and value == ()):
        return
    if option == "latency_threshold" and "threshold_override" in journey.sources:
        # The SLO file set it (override_threshold): it wins whether code registers before or after.
        return
    current = getattr(journey, attr)
    previous_source = journey.sources.get(option)
    if previous_source is not None and current != value:
        raise ConfigurationError(
            f"conflicting {option} for journey {journey.name!r}: {value!r} (from {source}) but "
            f"{current!r} was set before (from {previous_source}); set it in one place"
        )
    setattr(journey, attr, value)
    journey.sources.setdefault(option, source)


def _check_exceptions(name: str, value: object, source: str) -> ExceptionTypes | None:
    if value is None:
        return None
    items: tuple[object, ...]
    if isinstance(value, type):
        items = (value,)
    elif isinstance(value, (tuple, list, set, frozenset)):
        items = tuple(value)
    else:
        items = (value,)
    for item in items:
        if not (isinstance(item, type) and issubclass(item, BaseException)):
            raise ConfigurationError(
                f"invalid success_exceptions entry {item!r} for journey {name!r} (from {source}): "
                "must be exception classes"
            )
    return tuple(items)  # type: ignore[arg-type,return-value]


def _check_statuses(name: str, value: object, source: str) -> frozenset[int] | None:
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ConfigurationError(
            f"invalid failure_statuses {value!r} for journey {name!r} (from {source}): "
            "must be a collection of HTTP status codes such as {500, 502, 503}"
        )
    codes = set()
    for code in cast("Iterable[Any]", value):
        if isinstance(code, bool) or not isinstance(code, int) or not 100 <= code <= 599:
            raise ConfigurationError(
                f"invalid HTTP status {code!r} in failure_statuses for journey {name!r} "
                f"(from {source}): must be an integer from 100 to 599"
            )
        codes.add(code)
    return frozenset(codes)


ThresholdLike = Union[int, float, str]

#: The process-wide registry.
registry = JourneyRegistry()
