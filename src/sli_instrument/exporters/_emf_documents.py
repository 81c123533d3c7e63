"""Turn OpenTelemetry metric data into CloudWatch Embedded Metric Format (EMF) documents.

Pure functions, no I/O. The limits come from the EMF specification
(docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
a MetricDirective holds at most 100 MetricDefinitions, a DimensionSet at most 30 keys, a numeric
array target at most 100 values. Dimension values live on the root node, so one document carries
exactly one value per dimension: points with different dimension values go to different documents.

Histograms are written as ``{"Values", "Counts", "Max", "Min", "Count", "Sum"}`` (the form the
CloudWatch agent and the collector's ``awsemf`` exporter write), so CloudWatch keeps the
distribution and can answer percentiles and ``TM``/``PR`` statistics, not only the average.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    ExponentialHistogram,
    Gauge,
    Histogram,
    MetricsData,
    Sum,
)

MAX_METRICS_PER_DOCUMENT = 100
MAX_DIMENSIONS = 30
MAX_VALUES_PER_METRIC = 100

#: OpenTelemetry (UCUM) unit -> CloudWatch unit. Annotations such as ``{request}`` are counts.
_UNITS = {
    "s": "Seconds",
    "ms": "Milliseconds",
    "us": "Microseconds",
    "By": "Bytes",
    "KiBy": "Kilobytes",
    "MiBy": "Megabytes",
    "GiBy": "Gigabytes",
    "bit": "Bits",
    "%": "Percent",
    "1": "None",
    "": "None",
}

Target = Union[float, int, dict[str, Any]]


def cloudwatch_unit(unit: Optional[str]) -> str:
    unit = unit or ""
    if unit in _UNITS:
        return _UNITS[unit]
    if unit.startswith("{") and unit.endswith("}"):
        return "Count"
    return "None"


@dataclass
class _Group:
    """Everything that shares one set of root-node values (one document, or several if large)."""

    timestamp_ms: int
    dimensions: list[str]
    root: dict[str, Any]
    metrics: list[tuple[str, str, Target]] = field(default_factory=list)


class CumulativeToDelta:
    """Delta values from cumulative points, per series (for data a cumulative reader hands us).

    EMF values are added up by CloudWatch within each period, so a cumulative value would be
    counted again in every document. The first cumulative point of a series is a delta from its
    start time, so it is kept; a value that goes down means the series restarted.
    """

    def __init__(self) -> None:
        self._last: dict[tuple[Any, ...], tuple[int, Any]] = {}

    def number(self, key: tuple[Any, ...], start_ns: int, value: float) -> float:
        previous = self._last.get(key)
        self._last[key] = (start_ns, value)
        if previous is None or previous[0] != start_ns or value < previous[1]:
            return value
        return float(value - previous[1])

    def histogram(
        self, key: tuple[Any, ...], start_ns: int, counts: Sequence[int], count: int, total: float
    ) -> tuple[list[int], int, float]:
        previous = self._last.get(key)
        self._last[key] = (start_ns, (list(counts), count, total))
        if previous is None or previous[0] != start_ns or count < previous[1][1]:
            return list(counts), count, total
        prev_counts, prev_count, prev_total = previous[1]
        return [a - b for a, b in zip(counts, prev_counts)], count - prev_count, total - prev_total


def documents(
    data: MetricsData,
    *,
    namespace: str,
    dimension_keys: Sequence[str],
    properties: Sequence[str] = (),
    storage_resolution: Optional[int] = None,
    deltas: Optional[CumulativeToDelta] = None,
) -> list[dict[str, Any]]:
    """EMF documents for ``data``; each fits the format's limits.

    ``dimension_keys``: attribute keys (resource or point) used as dimensions when present, in this
    order, at most 30. Other point attributes are written as plain root members (searchable in
    Logs Insights, no metric cost). ``properties``: resource attributes written as plain members.
    """
    deltas = deltas if deltas is not None else CumulativeToDelta()
    groups: dict[tuple[Any, ...], _Group] = {}
    for resource_metrics in data.resource_metrics:
        resource = dict(resource_metrics.resource.attributes)
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                unit = cloudwatch_unit(metric.unit)
                for point in metric.data.data_points:
                    target = _target(metric, point, resource, deltas)
                    if target is None:
                        continue
                    attrs = {**resource, **dict(point.attributes or {})}
                    dims = [k for k in dimension_keys if _is_dimension_value(attrs.get(k))]
                    dims = dims[:MAX_DIMENSIONS]
                    root: dict[str, Any] = {k: str(attrs[k]) for k in dims}
                    for key, value in (point.attributes or {}).items():
                        if key not in root:
                            root[key] = _json_value(value)
                    for key in properties:
                        if key in resource and key not in root:
                            root[key] = _json_value(resource[key])
                    timestamp_ms = point.time_unix_nano // 1_000_000
                    group_key = (
                        timestamp_ms,
                        tuple(dims),
                        tuple(sorted((k, repr(v)) for k, v in root.items())),
                    )
                    group = groups.get(group_key)
                    if group is None:
                        group = groups[group_key] = _Group(timestamp_ms, dims, root)
                    group.metrics.append((metric.name, unit, target))
    result: list[dict[str, Any]] = []
    for group in groups.values():
        result.extend(_group_documents(group, namespace, storage_resolution))
    return result


def _group_documents(
    group: _Group, namespace: str, storage_resolution: Optional[int]
) -> Iterable[dict[str, Any]]:
    # A metric name may appear once per document; histogram pieces beyond the first (more than
    # 100 distinct values) and repeated names go to further documents with the same root values.
    pending: list[list[tuple[str, str, Target]]] = []
    for name, unit, target in group.metrics:
        pieces: list[Target] = (
            list(_split_histogram(target)) if isinstance(target, dict) else [target]
        )
        for i, piece in enumerate(pieces):
            for batch in pending[i:]:
                if (
                    all(existing[0] != name for existing in batch)
                    and len(batch) < MAX_METRICS_PER_DOCUMENT
                ):
                    batch.append((name, unit, piece))
                    break
            else:
                pending.append([(name, unit, piece)])
    for batch in pending:
        definitions: list[dict[str, Any]] = []
        document: dict[str, Any] = {
            "_aws": {
                "Timestamp": group.timestamp_ms,
                "CloudWatchMetrics": [
                    {
                        "Namespace": namespace,
                        "Dimensions": [group.dimensions],
                        "Metrics": definitions,
                    }
                ],
            },
            **group.root,
        }
        for name, unit, target in batch:
            definition: dict[str, Any] = {"Name": name, "Unit": unit}
            if storage_resolution is not None:
                definition["StorageResolution"] = storage_resolution
            definitions.append(definition)
            document[name] = target
        yield document


def _target(
    metric: Any, point: Any, resource: Mapping[str, Any], deltas: CumulativeToDelta
) -> Optional[Target]:
    data = metric.data
    series = (
        metric.name,
        tuple(sorted(resource.items())),
        tuple(sorted((point.attributes or {}).items())),
    )
    if isinstance(data, Sum):
        value = point.value
        if data.aggregation_temporality is AggregationTemporality.CUMULATIVE and data.is_monotonic:
            value = deltas.number(series, point.start_time_unix_nano, value)
        return _number(value)
    if isinstance(data, Gauge):
        return _number(point.value)
    if isinstance(data, Histogram):
        counts, count, total = list(point.bucket_counts), point.count, point.sum
        if data.aggregation_temporality is AggregationTemporality.CUMULATIVE:
            counts, count, total = deltas.histogram(
                series, point.start_time_unix_nano, counts, count, total
            )
        if count <= 0:
            return None
        return _explicit_histogram(list(point.explicit_bounds), counts, count, total, point)
    if isinstance(data, ExponentialHistogram):
        if data.aggregation_temporality is AggregationTemporality.CUMULATIVE:
            return None  # not produced by our pipelines; converting buckets is not worth it
        if point.count <= 0:
            return None
        return _exponential_histogram(point)
    return None


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool):
        return None
    number = float(value)
    if math.isnan(number) or math.isinf(number):
        return None
    return int(number) if number.is_integer() else number


def _explicit_histogram(
    bounds: list[float], counts: list[int], count: int, total: float, point: Any
) -> dict[str, Any]:
    lo_seen = point.min if math.isfinite(getattr(point, "min", math.nan) or math.nan) else None
    hi_seen = point.max if math.isfinite(getattr(point, "max", math.nan) or math.nan) else None
    values: list[float] = []
    weights: list[int] = []
    for i, n in enumerate(counts):
        if n <= 0:
            continue
        lower = bounds[i - 1] if i > 0 else (lo_seen if lo_seen is not None else 0.0)
        upper = bounds[i] if i < len(bounds) else (hi_seen if hi_seen is not None else lower)
        lower = min(lower, upper)
        value = (lower + upper) / 2.0
        if lo_seen is not None:
            value = max(value, lo_seen)
        if hi_seen is not None:
            value = min(value, hi_seen)
        values.append(value)
        weights.append(n)
    minimum = lo_seen if lo_seen is not None else (min(values) if values else 0.0)
    maximum = hi_seen if hi_seen is not None else (max(values) if values else 0.0)
    return {
        "Values": values,
        "Counts": weights,
        "Max": maximum,
        "Min": minimum,
        "Count": count,
        "Sum": total,
    }


def _exponential_histogram(point: Any) -> dict[str, Any]:
    base = 2.0 ** (2.0**-point.scale)
    values: list[float] = []
    weights: list[int] = []

    def add(buckets: Any, sign: float) -> None:
        for i, n in enumerate(buckets.bucket_counts):
            if n > 0:
                index = buckets.offset + i
                lower, upper = base**index, base ** (index + 1)
                values.append(sign * (lower + upper) / 2.0)
                weights.append(n)

    add(point.negative, -1.0)
    if point.zero_count:
        values.append(0.0)
        weights.append(point.zero_count)
    add(point.positive, 1.0)
    return {
        "Values": values,
        "Counts": weights,
        "Max": point.max,
        "Min": point.min,
        "Count": point.count,
        "Sum": point.sum,
    }


def _split_histogram(target: dict[str, Any]) -> list[dict[str, Any]]:
    """Pieces of at most 100 values; counts and the sum still add up to the whole exactly."""
    values, counts = target["Values"], target["Counts"]
    if len(values) <= MAX_VALUES_PER_METRIC:
        return [target]
    pieces: list[dict[str, Any]] = []
    estimates: list[float] = []
    for start in range(0, len(values), MAX_VALUES_PER_METRIC):
        chunk_values = values[start : start + MAX_VALUES_PER_METRIC]
        chunk_counts = counts[start : start + MAX_VALUES_PER_METRIC]
        estimates.append(sum(v * n for v, n in zip(chunk_values, chunk_counts)))
        pieces.append(
            {
                "Values": chunk_values,
                "Counts": chunk_counts,
                "Max": max(min(max(chunk_values), target["Max"]), target["Min"]),
                "Min": min(max(min(chunk_values), target["Min"]), target["Max"]),
                "Count": sum(chunk_counts),
                "Sum": 0.0,
            }
        )
    # The true sum is known only in total: share it out in proportion to the bucket estimates and
    # give the rounding remainder to the last piece, so CloudWatch's Sum statistic stays exact.
    total, estimated = target["Sum"], sum(estimates)
    assigned = 0.0
    for piece, estimate in zip(pieces[:-1], estimates[:-1]):
        share = total * (estimate / estimated) if estimated else total / len(pieces)
        piece["Sum"] = share
        assigned += share
    pieces[-1]["Sum"] = total - assigned
    return pieces


def _is_dimension_value(value: Any) -> bool:
    # CloudWatch dimension values: 1 to 1024 ASCII characters, at least one not whitespace.
    if value is None or isinstance(value, (list, tuple, dict)):
        return False
    text = str(value)
    return 0 < len(text) <= 1024 and text.isascii() and bool(text.strip())


def _json_value(value: Any) -> Any:
    if isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    return str(value)
