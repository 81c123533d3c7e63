"""``collector-config``: the ADOT (OpenTelemetry) collector configuration for one service.

The same shape as the hand-written references in ``examples/collector/`` (documented line by line
there, see docs/aws.md): OTLP in, bound to ``0.0.0.0`` (collectors since v0.104 default to
localhost, which a sidecar's neighbours cannot reach); metrics out through ``awsemf`` with explicit
``metric_declarations`` for our instruments, dimensions ``[service.name, sli.journey]`` (plus
``sli.outcome`` for the duration histogram) and ``NoDimensionRollup`` (no rolled-up combinations,
no accidental cost); traces out through ``awsxray`` with ``sli.journey`` indexed (X-Ray shows it as
annotation ``sli_journey``).

awsemf does not turn cumulative histograms into deltas, so ``cumulativetodelta`` converts our
instruments in the collector (apps keep the default cumulative temporality). Generated from the
SLO file, the config also pins the service: a ``label_matchers`` entry keeps other services'
metrics that reach the same collector out of this service's declarations; one log group per
service.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional

from .. import _contract as c
from ..slo.model import SLOSpec
from ._common import DEFAULT_NAMESPACE, DIMENSION_JOURNEY, DIMENSION_SERVICE

COUNTERS = (c.REQUESTS, c.FAILURES, c.SLOW, c.ABORTED)
INSTRUMENTS = (*COUNTERS, c.DURATION, c.TTFB)


@dataclass(frozen=True)
class CollectorOptions:
    namespace: str = DEFAULT_NAMESPACE
    #: None: the collector takes ``AWS_REGION`` (or the instance metadata).
    region: Optional[str] = None
    traces: bool = True


def selector(names: tuple[str, ...]) -> str:
    """An anchored regular expression matching exactly ``names`` (``^sli\\.journey\\.(a|b)$``)."""
    prefix = "sli.journey."
    assert all(n.startswith(prefix) for n in names)
    alternatives = "|".join(re.escape(n[len(prefix) :]) for n in names)
    body = f"({alternatives})" if len(names) > 1 else alternatives
    return "^" + re.escape(prefix) + body + "$"


def log_group(service: str) -> str:
    return f"/metrics/sli/{service}"


def build(spec: SLOSpec, options: CollectorOptions | None = None) -> dict[str, Any]:
    options = options or CollectorOptions()
    journey_dims = [DIMENSION_SERVICE, DIMENSION_JOURNEY]
    this_service = [{"label_names": [DIMENSION_SERVICE], "regex": f"^{re.escape(spec.service)}$"}]
    awsemf: dict[str, Any] = {
        "namespace": options.namespace,
        "log_group_name": log_group(spec.service),
        "log_stream_name": "sli-metrics",
    }
    if options.region:
        awsemf["region"] = options.region
    awsemf.update(
        {
            "dimension_rollup_option": "NoDimensionRollup",
            "resource_to_telemetry_conversion": {"enabled": True},
            "metric_declarations": [
                {
                    "dimensions": [journey_dims],
                    "label_matchers": this_service,
                    "metric_name_selectors": [selector(COUNTERS)],
                },
                {
                    "dimensions": [journey_dims, [*journey_dims, c.ATTR_OUTCOME]],
                    "label_matchers": this_service,
                    "metric_name_selectors": [selector((c.DURATION,))],
                },
                {
                    "dimensions": [journey_dims],
                    "label_matchers": this_service,
                    "metric_name_selectors": [selector((c.TTFB,))],
                },
            ],
        }
    )
    exporters: dict[str, Any] = {"awsemf/sli": awsemf}
    processors: dict[str, Any] = {
        "cumulativetodelta/sli": {
            "include": {"match_type": "regexp", "metrics": ["^" + re.escape("sli.journey.")]},
            "initial_value": "auto",
            "max_staleness": "15m",
        },
        "batch/sli": {"timeout": "10s"},
    }
    pipelines: dict[str, Any] = {
        "metrics": {
            "receivers": ["otlp"],
            "processors": ["cumulativetodelta/sli", "batch/sli"],
            "exporters": ["awsemf/sli"],
        }
    }
    if options.traces:
        xray: dict[str, Any] = {"indexed_attributes": [c.ATTR_JOURNEY]}
        if options.region:
            xray["region"] = options.region
        exporters["awsxray"] = xray
        pipelines["traces"] = {
            "receivers": ["otlp"],
            "processors": ["batch/sli"],
            "exporters": ["awsxray"],
        }
    return {
        "receivers": {
            "otlp": {
                "protocols": {
                    "grpc": {"endpoint": "0.0.0.0:4317"},
                    "http": {"endpoint": "0.0.0.0:4318"},
                }
            }
        },
        "processors": processors,
        "exporters": exporters,
        "service": {"pipelines": pipelines},
    }


def render(spec: SLOSpec, options: CollectorOptions | None = None) -> str:
    from ._output import dump_yaml

    header = (
        f"# ADOT collector configuration for service {spec.service!r}, generated by "
        "sli-instrument.\n# The same shape as examples/collector/ (documented line by line there). "
        "Do not edit:\n# regenerate with `sli-instrument generate collector-config`.\n"
    )
    return header + dump_yaml(build(spec, options))
