"""aws-xray-sdk integration: the journey (and the outcome) as annotations on the X-Ray segment.

For applications traced with the AWS X-Ray SDK for Python (extra ``xray``)::

    from aws_xray_sdk.core import xray_recorder
    from sli_instrument.integrations import xray

    xray.install()                       # or xray.install(recorder=my_recorder)

Then the segment of every request whose journey is known gets annotation ``sli_journey`` (the
journey's name), searchable with the filter expression ``annotation.sli_journey = "checkout"``,
and ``sli_outcome`` (``success``/``failure``/``aborted``) when the event ends while its segment is
still open (a ``@journey`` function called by the request, or SLI middleware that runs inside the
X-Ray middleware). The annotation keys and every journey name are validated against X-Ray's rules
when ``install()`` runs: the SDK silently drops an annotation with a bad key, we refuse it loudly.

OpenTelemetry traces sent through the ADOT collector need none of this: the span attribute
``sli.journey`` becomes the same annotation via the ``awsxray`` exporter's ``indexed_attributes``
(see docs/aws.md).
"""

from __future__ import annotations

import re
import threading
from typing import Any, Optional

from .. import _contract as c
from .. import _observers
from .._registry import Journey, registry
from .._safety import report_internal_error
from ..errors import ConfigurationError

__all__ = [
    "ANNOTATION_KEY_RULE",
    "XRayAnnotator",
    "install",
    "uninstall",
    "validate_annotation_key",
    "validate_annotation_value",
]

#: X-Ray annotation rules (AWS X-Ray developer guide, "Add annotations and metadata to segments"):
#: keys are up to 500 alphanumeric characters or underscores, no spaces or other symbols; string
#: values are up to 1,000 Unicode characters; at most 50 annotations per trace.
MAX_KEY_LENGTH = 500
MAX_VALUE_LENGTH = 1000
MAX_ANNOTATIONS_PER_TRACE = 50
ANNOTATION_KEY_RULE = (
    f"an X-Ray annotation key is 1 to {MAX_KEY_LENGTH} characters from [A-Za-z0-9_] "
    "(no spaces, dots or other symbols)"
)
_KEY = re.compile(r"[A-Za-z0-9_]{1,500}")  # MAX_KEY_LENGTH

DEFAULT_OUTCOME_KEY = "sli_outcome"


def validate_annotation_key(key: object, *, source: str = "argument") -> str:
    if not isinstance(key, str) or not key.isascii() or _KEY.fullmatch(key) is None:
        raise ConfigurationError(
            f"invalid X-Ray annotation key {key!r} (from {source}): {ANNOTATION_KEY_RULE}"
        )
    return key


def validate_annotation_value(value: object, *, source: str = "argument") -> Any:
    if isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str) and len(value) <= MAX_VALUE_LENGTH:
        return value
    raise ConfigurationError(
        f"invalid X-Ray annotation value {value!r} (from {source}): a string of at most "
        f"{MAX_VALUE_LENGTH} characters, a number or a boolean"
    )


class XRayAnnotator:
    """Puts the journey and the outcome on the current X-Ray segment. Never raises."""

    def __init__(
        self,
        recorder: Any,
        *,
        journey_key: str = c.XRAY_ANNOTATION,
        outcome_key: Optional[str] = DEFAULT_OUTCOME_KEY,
        source: str = "argument",
    ) -> None:
        self.recorder = recorder
        self.journey_key = validate_annotation_key(journey_key, source=source)
        self.outcome_key = (
            None if outcome_key is None else validate_annotation_key(outcome_key, source=source)
        )
        if self.outcome_key == self.journey_key:
            raise ConfigurationError(
                f"X-Ray annotation keys for the journey and the outcome are both "
                f"{journey_key!r} (from {source}): use two different keys"
            )
        self._source = source
        self._installed = False

    # -- configuration time ---------------------------------------------------------------------
    def check_journey(self, journey: Journey) -> None:
        """Registry listener: every journey name must be a valid annotation value."""
        validate_annotation_value(journey.name, source=f"journey {journey.name!r}")

    # -- request time ---------------------------------------------------------------------------
    def _segment(self) -> Any:
        # Read the context's entity stack directly: get_trace_entity() would log (or raise, per
        # the recorder's context_missing strategy) whenever no segment is open, and events
        # outside any traced request are normal for us.
        context = getattr(self.recorder, "context", None)
        local = getattr(context, "_local", None)
        entities = getattr(local, "entities", None)
        if not entities:
            return None
        entity = entities[-1]
        segment = getattr(entity, "parent_segment", None) or entity
        if not getattr(segment, "in_progress", False):
            return None
        return segment

    def on_claim(self, journey: Journey) -> None:
        try:
            segment = self._segment()
            if segment is not None:
                segment.put_annotation(self.journey_key, journey.name)
        except Exception as exc:
            report_internal_error("annotating an X-Ray segment", exc)

    def on_event(self, journey: Journey, outcome: str) -> None:
        try:
            segment = self._segment()
            if segment is None:
                return
            segment.put_annotation(self.journey_key, journey.name)
            if self.outcome_key is not None:
                segment.put_annotation(self.outcome_key, outcome)
        except Exception as exc:
            report_internal_error("annotating an X-Ray segment", exc)


_lock = threading.Lock()
_active: Optional[XRayAnnotator] = None


def install(
    recorder: Any = None,
    *,
    journey_key: str = c.XRAY_ANNOTATION,
    outcome_key: Optional[str] = DEFAULT_OUTCOME_KEY,
) -> XRayAnnotator:
    """Annotate X-Ray segments with the journey and the outcome; returns the annotator.

    ``recorder`` defaults to ``aws_xray_sdk.core.xray_recorder``. Keys are checked now; a second
    call replaces the first.
    """
    global _active
    annotator = XRayAnnotator(recorder, journey_key=journey_key, outcome_key=outcome_key)
    if annotator.recorder is None:
        try:
            from aws_xray_sdk.core import xray_recorder
        except ImportError as exc:
            raise ConfigurationError(
                f"sli_instrument.integrations.xray needs aws-xray-sdk ({exc}); install "
                "sli_instrument[xray]"
            ) from None
        annotator.recorder = xray_recorder
    with _lock:
        _uninstall_locked()
        registry.add_listener(annotator.check_journey)  # existing journeys are checked now
        _observers.claim_observers.append(annotator.on_claim)
        _observers.event_observers.append(annotator.on_event)
        annotator._installed = True
        _active = annotator
    return annotator


def uninstall() -> None:
    """Stop annotating (tests, or before installing with other keys)."""
    with _lock:
        _uninstall_locked()


def _uninstall_locked() -> None:
    global _active
    annotator, _active = _active, None
    if annotator is None:
        return
    for observers, method in (
        (_observers.claim_observers, annotator.on_claim),
        (_observers.event_observers, annotator.on_event),
    ):
        while method in observers:
            observers.remove(method)  # type: ignore[arg-type]
    annotator._installed = False
