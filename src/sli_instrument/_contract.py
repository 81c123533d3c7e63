"""The metrics contract: instrument names, units and attribute keys.

Every backend (OTLP, EMF, Prometheus rules, CloudWatch alarms, dashboards) is generated against
these constants, so they live in one module and nothing else spells them out.
See docs/metrics.md for the meaning of each.
"""

from __future__ import annotations

from typing import Final

METER_NAME: Final = "sli_instrument"

REQUESTS: Final = "sli.journey.requests"
FAILURES: Final = "sli.journey.failures"
SLOW: Final = "sli.journey.slow"
ABORTED: Final = "sli.journey.aborted"
DURATION: Final = "sli.journey.duration"
TTFB: Final = "sli.journey.ttfb"

COUNTER_UNIT: Final = "{request}"
SECONDS: Final = "s"

ATTR_JOURNEY: Final = "sli.journey"
ATTR_OUTCOME: Final = "sli.outcome"

OUTCOME_SUCCESS: Final = "success"
OUTCOME_FAILURE: Final = "failure"
OUTCOME_ABORTED: Final = "aborted"

#: Baggage key that carries a journey to downstream services.
BAGGAGE_KEY: Final = "sli.journey"

#: X-Ray rewrites dots in indexed attribute names; this is the annotation our traces end up with.
XRAY_ANNOTATION: Final = "sli_journey"

#: Reserved journey for requests that no journey claims (see docs/metrics.md).
UNCLAIMED_JOURNEY: Final = "unclaimed"

DESCRIPTIONS: Final = {
    REQUESTS: "Completed events of a critical user journey (valid events of its SLIs).",
    FAILURES: "Events of a journey that failed the availability SLI.",
    SLOW: "Events of a journey slower than its latency threshold.",
    ABORTED: "Events of a journey abandoned by the client before the response completed.",
    DURATION: "Duration of a journey event, including streaming the whole response body.",
    TTFB: "Time from the start of a request to the first byte of its response body.",
}

#: Default histogram bounds (seconds). Every configured latency threshold is merged in, so the
#: threshold is always a bucket edge and "slow" can be read exactly from the histogram too.
DEFAULT_BOUNDS: Final = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
)
