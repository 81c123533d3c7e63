"""Generators: backend artefacts from one SLO file (``sli-instrument generate <target>``).

Each target is one module with a ``render(spec, options, ...) -> str``; this registry maps target
names to them so the CLI, the docs and the tests list the same set. Output is deterministic: the
same SLO file always gives byte-identical output (no timestamps, no absolute paths, fixed order).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable, Optional

from ..slo.model import SLOSpec
from ._common import DEFAULT_NAMESPACE

__all__ = ["DEFAULT_NAMESPACE", "TARGETS", "GenerateOptions", "Target", "generate", "target_names"]


@dataclass(frozen=True)
class GenerateOptions:
    #: ``yaml`` or ``json`` (for targets that offer both); None: the target's default.
    fmt: Optional[str] = None
    #: CloudWatch namespace of our metrics (CloudWatch targets, collector config).
    namespace: str = DEFAULT_NAMESPACE
    #: Prometheus label matchers selecting the service's series; None: ``job="<service>"``.
    selector: Optional[str] = None
    #: AWS region (dashboard body JSON; collector config).
    region: Optional[str] = None
    #: Dashboard: the body JSON only, not a CloudFormation template.
    body_only: bool = False
    #: Dashboard: add p50/p95/p99 of the duration histogram.
    percentiles: bool = False


@dataclass(frozen=True)
class Target:
    name: str
    summary: str
    formats: tuple[str, ...]
    render: Callable[[SLOSpec, GenerateOptions], str]
    #: Module that must import for the target to be offered (optional features).
    requires: Optional[str] = None
    #: Attribute of ``requires`` that must exist.
    requires_attr: Optional[str] = None

    def available(self) -> bool:
        if self.requires is None:
            return True
        try:
            module = importlib.import_module(self.requires)
        except ImportError:
            return False
        return self.requires_attr is None or hasattr(module, self.requires_attr)


def _alarms(spec: SLOSpec, options: GenerateOptions) -> str:
    from .cloudwatch_alarms import AlarmOptions, render

    return render(spec, AlarmOptions(namespace=options.namespace), fmt=options.fmt or "yaml")


def _application_signals(spec: SLOSpec, options: GenerateOptions) -> str:
    from .application_signals import ApplicationSignalsOptions, render

    return render(
        spec, ApplicationSignalsOptions(namespace=options.namespace), fmt=options.fmt or "yaml"
    )


def _dashboard(spec: SLOSpec, options: GenerateOptions) -> str:
    from .cloudwatch_dashboard import DashboardOptions, render

    dashboard = DashboardOptions(
        namespace=options.namespace,
        region=options.region or DashboardOptions.region,
        percentiles=options.percentiles,
    )
    return render(spec, dashboard, fmt=options.fmt or "yaml", body_only=options.body_only)


def _prometheus(spec: SLOSpec, options: GenerateOptions) -> str:
    from .prometheus_rules import PrometheusOptions, render

    return render(spec, PrometheusOptions(selector=options.selector))


def _collector(spec: SLOSpec, options: GenerateOptions) -> str:
    from .collector_config import CollectorOptions, render

    return render(spec, CollectorOptions(namespace=options.namespace, region=options.region))


def _openslo(spec: SLOSpec, options: GenerateOptions) -> str:
    from ..slo import openslo

    exported = openslo.to_openslo(spec)  # type: ignore[attr-defined]
    if isinstance(exported, str):
        return exported
    from ._output import dump_yaml

    if isinstance(exported, (list, tuple)):
        return "---\n".join(dump_yaml(document) for document in exported)
    return dump_yaml(exported)


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target(
            "cloudwatch-alarms",
            "CloudFormation: burn-rate metric-math alarms joined by composite alarms (page/ticket)",
            ("yaml", "json"),
            _alarms,
        ),
        Target(
            "application-signals",
            "CloudFormation: Application Signals request-based SLOs with burn-rate windows",
            ("yaml", "json"),
            _application_signals,
        ),
        Target(
            "cloudwatch-dashboard",
            "CloudFormation (or --body-only JSON): availability, latency, budget, burn rates",
            ("yaml", "json"),
            _dashboard,
        ),
        Target(
            "prometheus-rules",
            "Prometheus/AMP rule groups: error-ratio recording rules and burn-rate alerts",
            ("yaml",),
            _prometheus,
        ),
        Target(
            "collector-config",
            "ADOT collector config: OTLP in, CloudWatch EMF (and X-Ray) out",
            ("yaml",),
            _collector,
        ),
        Target(
            "openslo",
            "OpenSLO v1 documents (kind: SLO, ratio metrics)",
            ("yaml",),
            _openslo,
            requires="sli_instrument.slo.openslo",
            requires_attr="to_openslo",
        ),
    )
}


def target_names() -> list[str]:
    """Names of the targets this installation can generate, in a fixed order."""
    return [name for name, target in TARGETS.items() if target.available()]


def generate(target: str, spec: SLOSpec, options: Optional[GenerateOptions] = None) -> str:
    """The artefact ``target`` for ``spec`` as text. Raises KeyError for an unknown target."""
    chosen = TARGETS[target]
    options = options or GenerateOptions()
    if options.fmt is not None and options.fmt not in chosen.formats:
        raise ValueError(
            f"target {target!r} is written as {' or '.join(chosen.formats)}, not {options.fmt!r}"
        )
    return chosen.render(spec, options)
