"""What every generator shares: the SLIs of a journey, backend metric names, stable identifiers.

Each journey has an availability SLI (bad = ``sli.journey.failures``) and, when the SLO file gives a
latency objective, a latency SLI (bad = ``sli.journey.slow``); both count against
``sli.journey.requests``. Generators iterate over :func:`slis` so they agree on names and order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from .. import _contract as c
from .._duration import format_duration
from ..errors import ConfigurationError
from ..slo.model import AlertWindow, JourneyObjective, SLOSpec

SLIKind = Literal["availability", "latency"]

#: CloudWatch namespace used when none is given: the one of examples/collector/ and of the EMF
#: exporter, so that alarms, dashboards, SLOs and reports find the metrics without options.
DEFAULT_NAMESPACE = "SLI"

#: CloudWatch dimension names, as the awsemf exporter (and our EMF exporter) emit them.
DIMENSION_SERVICE = "service.name"
DIMENSION_JOURNEY = c.ATTR_JOURNEY


@dataclass(frozen=True)
class SLI:
    """One objective of one journey: which counter is bad, and the target in percent."""

    journey: JourneyObjective
    kind: SLIKind
    #: Target in percent (99.9).
    target: float
    #: Contract name of the counter of bad events.
    bad_metric: str

    @property
    def budget(self) -> float:
        """Allowed fraction of bad events."""
        return 1.0 - self.target / 100.0

    @property
    def alerts(self) -> tuple[AlertWindow, ...]:
        return self.journey.alerts


def slis(spec: SLOSpec) -> list[SLI]:
    """Every SLI of the file, journeys in file order, availability before latency."""
    found: list[SLI] = []
    for journey in spec.journeys:
        found.append(SLI(journey, "availability", journey.availability, c.FAILURES))
        if journey.latency is not None:
            found.append(SLI(journey, "latency", journey.latency.target, c.SLOW))
    return found


def number(value: float) -> str:
    """A float written the shortest way that survives a round trip of 10 significant digits."""
    text = f"{value:.10g}"
    return text


def duration(seconds: float) -> str:
    """``300`` -> ``5m``: the form Prometheus, labels and names use."""
    return format_duration(seconds)


def whole_minutes(seconds: float, *, what: str, source: str) -> int:
    minutes = seconds / 60.0
    if minutes < 1 or abs(minutes - round(minutes)) > 1e-9:
        raise ConfigurationError(
            f"{what} {duration(seconds)!r} (from {source}) is not a whole number of minutes; "
            "CloudWatch periods are multiples of 60 seconds"
        )
    return round(minutes)


_WORD = re.compile(r"[A-Za-z0-9]+")


def logical_id(*parts: str) -> str:
    """A CloudFormation logical ID (alphanumeric): ``checkout-v2`` -> ``CheckoutV2``."""
    words = [w for part in parts for w in _WORD.findall(part)]
    return "".join(w[:1].upper() + w[1:] for w in words)


def unique_ids(keys: list[tuple[str, ...]]) -> dict[tuple[str, ...], str]:
    """Logical IDs for ``keys``; two keys that flatten to the same ID get a numbered suffix."""
    seen: dict[str, int] = {}
    result: dict[tuple[str, ...], str] = {}
    for key in keys:
        base = logical_id(*key)
        count = seen.get(base, 0)
        seen[base] = count + 1
        result[key] = base if count == 0 else f"{base}{count + 1}"
    return result


def prometheus_name(instrument: str, *, counter: bool, unit: str) -> str:
    """The metric name OpenTelemetry's Prometheus translation gives an instrument of ours.

    Dots become underscores; a unit in braces (``{request}``) is an annotation and is dropped; the
    unit ``s`` becomes the ``_seconds`` suffix; monotonic counters get ``_total``.
    """
    name = instrument.replace(".", "_")
    if unit == c.SECONDS:
        name += "_seconds"
    if counter:
        name += "_total"
    return name


PROM_REQUESTS = prometheus_name(c.REQUESTS, counter=True, unit=c.COUNTER_UNIT)
PROM_FAILURES = prometheus_name(c.FAILURES, counter=True, unit=c.COUNTER_UNIT)
PROM_SLOW = prometheus_name(c.SLOW, counter=True, unit=c.COUNTER_UNIT)
PROM_DURATION_BUCKET = prometheus_name(c.DURATION, counter=False, unit=c.SECONDS) + "_bucket"
#: Attribute ``sli.journey`` as a Prometheus label.
PROM_JOURNEY_LABEL = c.ATTR_JOURNEY.replace(".", "_")
