"""OpenSLO (``apiVersion: openslo/v1``) import and export, so teams can switch both ways.

Export (:func:`to_openslo`): one ``kind: Service`` document, then per journey one ``kind: SLO`` for
availability and, when the journey has a latency objective, one for latency. Each SLO is
``budgetingMethod: Occurrences`` with an inline ``ratioMetric`` (``counter: true``) of
``bad`` = ``sli.journey.failures`` (availability) or ``sli.journey.slow`` (latency) over ``total`` =
``sli.journey.requests``, written as Prometheus queries on the names that OpenTelemetry's Prometheus
translation gives our counters. ``timeWindow`` is ``{duration: 28d, isRolling: true}`` or, for a
calendar month, ``{duration: 1M, isRolling: false, calendar: {startTime, timeZone: UTC}}``; the
objective is ``target`` (a fraction). What OpenSLO has no field for is kept in
``metadata.annotations`` under ``sli-instrument/``: the journey name (OpenSLO names are RFC 1123
labels, journey names are not), the latency threshold, routes, a non-default alert policy and
``expected_rate``. OpenSLO's ``AlertPolicy`` has one burn-rate lookback window per condition, not
the Workbook's long-and-short pair, so the policy travels as an annotation.

Import (:func:`from_openslo`): ``kind: SLO`` documents with a ``ratioMetric`` (inline ``indicator``
or ``indicatorRef`` to a ``kind: SLI`` in the same text), ``budgetingMethod: Occurrences``, one
objective (``target`` or ``targetPercent``) and a ``timeWindow`` we support. ``Service``,
``DataSource`` and alert kinds are skipped. Without our annotations an SLO becomes the availability
objective of the journey named like the SLO. The result goes through the same validation as an SLO
file, with line numbers pointing into the OpenSLO text.
"""

from __future__ import annotations

import json
import re
from typing import Any, Optional

import yaml

from .._duration import format_duration, parse_duration
from .._names import is_valid_journey_name
from ..errors import ConfigurationError
from ._yaml import Map, Seq, load_documents
from ._yaml import bounded_repr as _q
from .loader import WINDOWS, parse_mapping
from .model import AlertWindow, JourneyObjective, SLOSpec
from .policy import default_alerts

__all__ = ["from_openslo", "to_openslo"]

API_VERSION = "openslo/v1"
PREFIX = "sli-instrument/"
SKIPPED_KINDS = (
    "Service",
    "DataSource",
    "AlertPolicy",
    "AlertCondition",
    "AlertNotificationTarget",
)
_METRIC = {"requests": "sli_journey_requests_total", "failures": "sli_journey_failures_total"}
_METRIC["slow"] = "sli_journey_slow_total"
_CALENDAR_START = "2020-01-01 00:00:00"
_LABEL = re.compile(r"[^a-z0-9-]+")


# -- export ----------------------------------------------------------------------------------------


def _dns_label(text: str) -> str:
    label = _LABEL.sub("-", text.lower()).strip("-")
    label = re.sub("-{2,}", "-", label)[:63].strip("-")
    return label or "slo"


def _query(metric: str, service: str, journey: str) -> str:
    return f'sum({_METRIC[metric]}{{job="{service}",sli_journey="{journey}"}})'


def _source(metric: str, service: str, journey: str) -> dict[str, Any]:
    return {
        "metricSource": {"type": "Prometheus", "spec": {"query": _query(metric, service, journey)}}
    }


def _time_window(objective: JourneyObjective) -> list[dict[str, Any]]:
    if objective.window.kind == "calendar-month":
        return [
            {
                "duration": "1M",
                "isRolling": False,
                "calendar": {"startTime": _CALENDAR_START, "timeZone": "UTC"},
            }
        ]
    return [{"duration": objective.window.label, "isRolling": True}]


def _percent_of(target: float) -> float:
    # 12 significant digits undo the binary noise of x100 (0.999 -> 99.9, not 99.89999999999999).
    return float(format(target * 100, ".12g"))


def _objective(name: str, percent: float) -> dict[str, Any]:
    """``target`` as the fraction people write (0.999); ``targetPercent`` when that would not read
    back as exactly ``percent`` (more than 12 significant digits)."""
    target = float(format(percent / 100.0, ".12g"))
    if _percent_of(target) == percent:
        return {"displayName": name, "target": target}
    return {"displayName": name, "targetPercent": percent}


def _alerts_annotation(alerts: tuple[AlertWindow, ...]) -> str:
    return json.dumps(
        [
            {
                "severity": a.severity,
                "long": format_duration(a.long_window),
                "short": format_duration(a.short_window),
                "budget": f"{format(a.budget_fraction * 100, '.12g')}%",
            }
            for a in alerts
        ],
        separators=(",", ":"),
    )


def _slo_document(
    spec: SLOSpec, objective: JourneyObjective, kind: str, name: str
) -> dict[str, Any]:
    annotations = {f"{PREFIX}journey": objective.name, f"{PREFIX}objective": kind}
    if kind == "latency":
        assert objective.latency is not None
        annotations[f"{PREFIX}latency-threshold"] = format_duration(objective.latency.threshold)
        target = objective.latency.target
        bad = "slow"
    else:
        target = objective.availability
        bad = "failures"
    if objective.routes:
        annotations[f"{PREFIX}routes"] = json.dumps(list(objective.routes))
    if objective.alerts != default_alerts(objective.window):
        annotations[f"{PREFIX}alerts"] = _alerts_annotation(objective.alerts)
    if objective.expected_rate is not None:
        annotations[f"{PREFIX}expected-rate"] = repr(objective.expected_rate)
    spec_block: dict[str, Any] = {}
    if objective.description:
        spec_block["description"] = objective.description
    spec_block["service"] = spec.service
    spec_block["indicator"] = {
        "metadata": {"name": _dns_label(f"{name}-sli")},
        "spec": {
            "ratioMetric": {
                "counter": True,
                "bad": _source(bad, spec.service, objective.name),
                "total": _source("requests", spec.service, objective.name),
            }
        },
    }
    spec_block["timeWindow"] = _time_window(objective)
    spec_block["budgetingMethod"] = "Occurrences"
    spec_block["objectives"] = [_objective(f"{objective.name} {kind}", target)]
    return {
        "apiVersion": API_VERSION,
        "kind": "SLO",
        "metadata": {
            "name": name,
            "displayName": f"{spec.service} {objective.name} {kind}",
            "annotations": annotations,
        },
        "spec": spec_block,
    }


def to_openslo(spec: SLOSpec) -> str:
    """``spec`` as OpenSLO v1 YAML documents (one Service, then the SLOs); deterministic."""
    documents: list[dict[str, Any]] = [
        {
            "apiVersion": API_VERSION,
            "kind": "Service",
            "metadata": {"name": _dns_label(spec.service), "displayName": spec.service},
            "spec": {"description": spec.description or f"Journeys of {spec.service}"},
        }
    ]
    used: set[str] = set()
    for objective in spec.journeys:
        kinds = ["availability"] + (["latency"] if objective.latency is not None else [])
        for kind in kinds:
            base = _dns_label(f"{spec.service}-{objective.name}-{kind}")
            name, counter = base, 2
            while name in used:
                suffix = f"-{counter}"
                name = base[: 63 - len(suffix)] + suffix
                counter += 1
            used.add(name)
            documents.append(_slo_document(spec, objective, kind, name))
    return yaml.safe_dump_all(documents, sort_keys=False, allow_unicode=True, width=1000)


# -- import ----------------------------------------------------------------------------------------


def _map(line: int, items: dict[str, tuple[Any, int]]) -> Map:
    """A :class:`Map` whose lines point into the OpenSLO text."""
    result = Map()
    result.line = line
    result.key_lines = {}
    result.value_lines = {}
    for key, (value, value_line) in items.items():
        result[key] = value
        result.key_lines[key] = value_line
        result.value_lines[key] = value_line
    return result


def _seq(line: int, items: list[tuple[Any, int]]) -> Seq:
    result = Seq(value for value, _ in items)
    result.line = line
    result.item_lines = [item_line for _, item_line in items]
    return result


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, line: int, path: str, message: str) -> ConfigurationError:
        return ConfigurationError(f"{self.source}:{line}: {path}: {message}")

    def get_map(self, parent: Map, key: str, path: str, required: bool = True) -> Optional[Map]:
        if key not in parent:
            if required:
                raise self.error(parent.line, f"{path}.{key}", "missing")
            return None
        value = parent[key]
        if not isinstance(value, Map):
            raise self.error(
                parent.value_line(key), f"{path}.{key}", f"expected a mapping, got {_q(value)}"
            )
        return value

    def get_str(self, parent: Map, key: str, path: str, required: bool = True) -> Optional[str]:
        if key not in parent:
            if required:
                raise self.error(parent.line, f"{path}.{key}", "missing")
            return None
        value = parent[key]
        if not isinstance(value, str) or not value:
            raise self.error(
                parent.value_line(key), f"{path}.{key}", f"expected a string, got {_q(value)}"
            )
        return value


def _window_label(reader: _Reader, spec: Map, path: str) -> tuple[str, int]:
    if "timeWindow" not in spec:
        return "28d", spec.line
    windows = spec["timeWindow"]
    line = spec.value_line("timeWindow")
    if not isinstance(windows, Seq) or len(windows) != 1 or not isinstance(windows[0], Map):
        raise reader.error(
            line,
            f"{path}.timeWindow",
            f"expected a list with exactly one time window, got {_q(windows)}",
        )
    window = windows[0]
    duration = window.get("duration")
    rolling = window.get("isRolling", "calendar" not in window)
    if rolling is True:
        try:
            seconds = parse_duration(duration, what="timeWindow duration")
        except ConfigurationError:
            seconds = -1.0
        for label, size in WINDOWS.items():
            if label != "calendar-month" and size == seconds:
                return label, window.value_line("duration")
    elif duration == "1M":
        return "calendar-month", window.value_line("duration")
    raise reader.error(
        window.value_line("duration") if "duration" in window else window.line,
        f"{path}.timeWindow[0]",
        f"time window {_q(window)} is not supported: use a rolling 7d, 14d, 28d (4w) or 30d, "
        "or a calendar-aligned 1M",
    )


def _ratio_metric(reader: _Reader, slo: Map, spec: Map, path: str, slis: dict[str, Map]) -> None:
    indicator = reader.get_map(spec, "indicator", path, required=False)
    if indicator is None:
        ref = reader.get_str(spec, "indicatorRef", path, required=False)
        if ref is None:
            raise reader.error(spec.line, f"{path}.indicator", "missing (or indicatorRef)")
        if ref not in slis:
            raise reader.error(
                spec.value_line("indicatorRef"),
                f"{path}.indicatorRef",
                f"no kind: SLI named {_q(ref)} in this file",
            )
        indicator = slis[ref]
    indicator_spec = reader.get_map(indicator, "spec", f"{path}.indicator")
    assert indicator_spec is not None
    if "ratioMetric" not in indicator_spec:
        raise reader.error(
            indicator_spec.line,
            f"{path}.indicator.spec",
            "only ratioMetric indicators (good/total or bad/total counts) can be imported; "
            f"got {', '.join(map(str, indicator_spec)) or 'nothing'}",
        )
    ratio = reader.get_map(indicator_spec, "ratioMetric", f"{path}.indicator.spec")
    assert ratio is not None
    if "total" not in ratio or ("good" in ratio) == ("bad" in ratio):
        raise reader.error(
            ratio.line,
            f"{path}.indicator.spec.ratioMetric",
            "needs 'total' and exactly one of 'good' or 'bad' (a precomputed 'raw' ratio "
            f"cannot be imported); got {', '.join(map(str, ratio))}",
        )


def _objective_percent(reader: _Reader, spec: Map, path: str) -> tuple[Any, int]:
    objectives = spec.get("objectives")
    line = spec.value_line("objectives")
    if (
        not isinstance(objectives, Seq)
        or len(objectives) != 1
        or not isinstance(objectives[0], Map)
    ):
        raise reader.error(
            line if "objectives" in spec else spec.line,
            f"{path}.objectives",
            f"expected exactly one objective (one SLO per journey objective), got {_q(objectives)}",
        )
    objective = objectives[0]
    if ("target" in objective) == ("targetPercent" in objective):
        raise reader.error(
            objective.line, f"{path}.objectives[0]", "give exactly one of target or targetPercent"
        )
    if "targetPercent" in objective:
        return objective["targetPercent"], objective.value_line("targetPercent")
    target = objective["target"]
    tline = objective.value_line("target")
    if isinstance(target, bool) or not isinstance(target, (int, float)) or not 0 < target < 1:
        raise reader.error(
            tline,
            f"{path}.objectives[0].target",
            f"target {_q(target)} is not a fraction in (0, 1)",
        )
    return _percent_of(target), tline


def _annotation_json(reader: _Reader, annotations: Map, key: str, path: str) -> Any:
    text = annotations[key]
    try:
        return json.loads(text) if isinstance(text, str) else None
    except ValueError:
        raise reader.error(
            annotations.value_line(key), f"{path}.{key}", f"annotation {_q(text)} is not JSON"
        ) from None


def _alerts_map(reader: _Reader, annotations: Map, key: str, path: str) -> Map:
    line = annotations.value_line(key)
    items = _annotation_json(reader, annotations, key, path)
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise reader.error(
            line, f"{path}.{key}", f"expected a JSON list of conditions, got {_q(items)}"
        )
    grouped: dict[str, list[tuple[Any, int]]] = {"page": [], "ticket": []}
    for item in items:
        severity = item.get("severity")
        if severity not in grouped:
            raise reader.error(
                line, f"{path}.{key}", f"severity {_q(severity)} is not page or ticket"
            )
        condition = {k: (v, line) for k, v in item.items() if k != "severity"}
        grouped[severity].append((_map(line, condition), line))
    return _map(line, {s: (_seq(line, conditions), line) for s, conditions in grouped.items()})


def spec_from_documents(
    documents: list[Any], source: str, *, journey_cap: Optional[int] = None
) -> SLOSpec:
    """Build a spec from parsed OpenSLO documents (see the module docstring for what maps how)."""
    reader = _Reader(source)
    slis: dict[str, Map] = {}
    slos: list[Map] = []
    notes: list[str] = []
    for index, document in enumerate(documents):
        path = f"document {index + 1}"
        if not isinstance(document, Map):
            raise ConfigurationError(f"{source}: {path}: expected a mapping, got {_q(document)}")
        version = document.get("apiVersion")
        if version != API_VERSION:
            raise reader.error(
                document.value_line("apiVersion"),
                f"{path}.apiVersion",
                f"apiVersion {_q(version)} is not supported; use {API_VERSION}",
            )
        kind = document.get("kind")
        if kind == "SLO":
            slos.append(document)
        elif kind == "SLI":
            metadata = reader.get_map(document, "metadata", path)
            assert metadata is not None
            name = reader.get_str(metadata, "name", f"{path}.metadata")
            assert name is not None
            slis[name] = document
        elif kind not in SKIPPED_KINDS:
            raise reader.error(
                document.value_line("kind"),
                f"{path}.kind",
                f"kind {_q(kind)} is not an OpenSLO kind (SLO, SLI, {', '.join(SKIPPED_KINDS)})",
            )
    if not slos:
        raise ConfigurationError(f"{source}: no OpenSLO 'kind: SLO' document to import")
    service: Optional[tuple[str, int]] = None
    journeys: dict[str, dict[str, tuple[Any, int]]] = {}
    journey_lines: dict[str, int] = {}
    for slo in slos:
        metadata = reader.get_map(slo, "metadata", "SLO")
        assert metadata is not None
        slo_name = reader.get_str(metadata, "name", "SLO.metadata")
        assert slo_name is not None
        path = f"SLO {slo_name}"
        spec = reader.get_map(slo, "spec", path)
        assert spec is not None
        slo_service = reader.get_str(spec, "service", f"{path}.spec")
        assert slo_service is not None
        if service is None:
            service = (slo_service, spec.value_line("service"))
        elif slo_service != service[0]:
            raise reader.error(
                spec.value_line("service"),
                f"{path}.spec.service",
                f"service {_q(slo_service)} differs from {_q(service[0])} (line {service[1]}); "
                "an SLO file describes one service",
            )
        method = spec.get("budgetingMethod")
        if method != "Occurrences":
            raise reader.error(
                spec.value_line("budgetingMethod"),
                f"{path}.spec.budgetingMethod",
                f"budgetingMethod {_q(method)} cannot be imported: our SLIs count events, so only "
                "Occurrences applies",
            )
        _ratio_metric(reader, slo, spec, f"{path}.spec", slis)
        if "alertPolicies" in spec:
            notes.append(
                f"{source}:{spec.key_line('alertPolicies')}: {path}: alertPolicies were not "
                "imported; the multi-window burn-rate policy applies (see docs/slo-file.md)"
            )
        annotations = metadata.get("annotations")
        if not isinstance(annotations, Map):
            annotations = _map(metadata.line, {})
        apath = f"{path}.metadata.annotations"
        journey: Any = annotations.get(f"{PREFIX}journey", slo_name)
        kind = annotations.get(f"{PREFIX}objective", "availability")
        if kind not in ("availability", "latency"):
            raise reader.error(
                annotations.value_line(f"{PREFIX}objective"),
                f"{apath}.{PREFIX}objective",
                f"objective {_q(kind)} is not availability or latency",
            )
        if not is_valid_journey_name(journey):
            raise reader.error(
                metadata.line, path, f"journey name {_q(journey)} is not a valid journey name"
            )
        entry = journeys.setdefault(journey, {})
        journey_lines.setdefault(journey, metadata.line)
        if kind in entry:
            raise reader.error(
                metadata.line,
                path,
                f"a second {kind} SLO for journey {_q(journey)} (the first is on line "
                f"{entry[kind][1]})",
            )
        percent, percent_line = _objective_percent(reader, spec, f"{path}.spec")
        window = _window_label(reader, spec, f"{path}.spec")
        if "window" in entry and entry["window"][0] != window[0]:
            raise reader.error(
                window[1],
                f"{path}.spec.timeWindow",
                f"window {_q(window[0])} differs from {_q(entry['window'][0])} (line "
                f"{entry['window'][1]}) of the other SLO of journey {_q(journey)}",
            )
        entry["window"] = window
        if kind == "latency":
            key = f"{PREFIX}latency-threshold"
            if key not in annotations:
                raise reader.error(
                    annotations.line, f"{apath}.{key}", "missing: the latency SLO's threshold"
                )
            threshold = (annotations[key], annotations.value_line(key))
            entry["latency"] = (
                _map(percent_line, {"threshold": threshold, "target": (percent, percent_line)}),
                percent_line,
            )
        else:
            entry["availability"] = (percent, percent_line)
        if "description" in spec and kind == "availability":
            entry["description"] = (spec["description"], spec.value_line("description"))
        if f"{PREFIX}routes" in annotations:
            routes = _annotation_json(reader, annotations, f"{PREFIX}routes", apath)
            line = annotations.value_line(f"{PREFIX}routes")
            entry["routes"] = (
                _seq(line, [(r, line) for r in routes]) if isinstance(routes, list) else routes,
                line,
            )
        if f"{PREFIX}alerts" in annotations:
            alerts = _alerts_map(reader, annotations, f"{PREFIX}alerts", apath)
            entry["alerts"] = (alerts, alerts.line)
        if f"{PREFIX}expected-rate" in annotations:
            key = f"{PREFIX}expected-rate"
            raw = annotations[key]
            try:
                rate: Any = float(raw)
            except (TypeError, ValueError):
                rate = raw
            entry["expected_rate"] = (rate, annotations.value_line(key))
    assert service is not None
    journeys_map = _map(
        1,
        {
            name: (_journey_map(reader, name, entry, journey_lines[name]), journey_lines[name])
            for name, entry in journeys.items()
        },
    )
    top = _map(1, {"service": service, "journeys": (journeys_map, 1)})
    parsed = parse_mapping(top, source, journey_cap=journey_cap)
    return SLOSpec(
        service=parsed.service,
        journeys=parsed.journeys,
        source=source,
        warnings=tuple(notes) + parsed.warnings,
        journey_cap=parsed.journey_cap,
        description=parsed.description,
    )


def _journey_map(reader: _Reader, name: str, entry: dict[str, tuple[Any, int]], line: int) -> Map:
    if "availability" not in entry:
        raise reader.error(
            line,
            f"journey {name}",
            "has a latency SLO but no availability SLO; every journey needs an availability "
            "objective",
        )
    return _map(line, entry)


def from_openslo(
    text: str, source: str = "<string>", *, journey_cap: Optional[int] = None
) -> SLOSpec:
    """Parse OpenSLO v1 YAML (one or more documents) into an :class:`SLOSpec`."""
    documents = [d for d in load_documents(text, source) if d is not None]
    if not documents:
        raise ConfigurationError(f"{source}:1: empty: no OpenSLO documents")
    return spec_from_documents(documents, source, journey_cap=journey_cap)
