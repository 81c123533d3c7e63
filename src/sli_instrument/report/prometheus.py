"""Read journey counts from a Prometheus HTTP API (Prometheus, Thanos, Amazon Managed Prometheus
behind a SigV4 proxy, ...). Standard library only (``urllib``).

Counts over a window are ``sum by (sli_journey) (increase(<counter>{<selector>}[<window>]))``
evaluated at ``now``: Prometheus handles counter resets and process restarts, and the ratio of two
increases over the same window is the window's error ratio, the same number the generated
recording rules hold. Series names are those of OpenTelemetry's Prometheus translation.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import Any, Optional

from .._duration import format_duration
from ..generate._common import (
    PROM_DURATION_BUCKET,
    PROM_FAILURES,
    PROM_JOURNEY_LABEL,
    PROM_REQUESTS,
    PROM_SLOW,
)
from ..generate.prometheus_rules import default_selector
from ..slo.model import SLOSpec
from .model import JourneySeries, ReportData
from .sources import SourceError, cumulative
from .summary import Counts

_METRICS = (("requests", PROM_REQUESTS), ("failures", PROM_FAILURES), ("slow", PROM_SLOW))
_QUANTILES = (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))


class PrometheusSource:
    def __init__(self, url: str, *, selector: Optional[str] = None, timeout: float = 10.0) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise SourceError(f"--prometheus {url!r} is not an http(s) URL")
        self.url = url.rstrip("/")
        self.selector = selector
        self.timeout = timeout
        self.description = f"prometheus {self.url}"

    # -- Source -------------------------------------------------------------------------------

    def window_counts(
        self, spec: SLOSpec, windows: Sequence[float], now: float
    ) -> dict[str, dict[float, Counts]]:
        selector = self._selector(spec)
        values: dict[str, dict[float, dict[str, float]]] = {
            j.name: {w: {} for w in windows} for j in spec.journeys
        }
        for window in windows:
            w = _range(window)
            for field_name, metric in _METRICS:
                query = f"sum by ({PROM_JOURNEY_LABEL}) (increase({metric}{{{selector}}}[{w}]))"
                for labels, value in self._instant(query, now):
                    journey = labels.get(PROM_JOURNEY_LABEL)
                    if journey in values and not math.isnan(value):
                        values[journey][window][field_name] = value
        return {
            journey: {w: Counts(**fields) for w, fields in by_window.items()}
            for journey, by_window in values.items()
        }

    def report_data(self, spec: SLOSpec, start: float, end: float, step: float) -> ReportData:
        selector = self._selector(spec)
        times = _steps(start, end, step)
        increments: dict[str, dict[str, list[Optional[float]]]] = {
            j.name: {name: [None] * len(times) for name, _ in _METRICS} for j in spec.journeys
        }
        s = _range(step)
        for field_name, metric in _METRICS:
            query = f"sum by ({PROM_JOURNEY_LABEL}) (increase({metric}{{{selector}}}[{s}]))"
            for labels, points in self._range_query(query, times[0], times[-1], step):
                journey = labels.get(PROM_JOURNEY_LABEL)
                if journey in increments:
                    _place(increments[journey][field_name], times, points, step)
        latency: dict[str, dict[str, list[Optional[float]]]] = {
            j.name: {name: [None] * len(times) for name, _ in _QUANTILES} for j in spec.journeys
        }
        for name, q in _QUANTILES:
            query = (
                f"histogram_quantile({q}, sum by ({PROM_JOURNEY_LABEL}, le) "
                f"(rate({PROM_DURATION_BUCKET}{{{selector}}}[{s}])))"
            )
            for labels, points in self._range_query(query, times[0], times[-1], step):
                journey = labels.get(PROM_JOURNEY_LABEL)
                if journey in latency:
                    _place(latency[journey][name], times, points, step)
        journeys = []
        for objective in spec.journeys:
            mine = increments[objective.name]
            journeys.append(
                JourneySeries(
                    name=objective.name,
                    objective=objective,
                    timestamps=list(times),
                    requests=cumulative(mine["requests"]),
                    failures=cumulative(mine["failures"]),
                    slow=cumulative(mine["slow"]),
                    latency=latency[objective.name],
                )
            )
        return ReportData(spec.service, end, self.description, journeys)

    # -- HTTP API -----------------------------------------------------------------------------

    def _selector(self, spec: SLOSpec) -> str:
        return self.selector if self.selector is not None else default_selector(spec.service)

    def _instant(self, query: str, at: float) -> list[tuple[dict[str, str], float]]:
        data = self._get("/api/v1/query", {"query": query, "time": f"{at:.3f}"})
        if data.get("resultType") != "vector":
            raise SourceError(f"{self.description}: expected a vector for {query!r}")
        return [(item["metric"], float(item["value"][1])) for item in data.get("result", [])]

    def _range_query(
        self, query: str, start: float, end: float, step: float
    ) -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
        params = {"query": query, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        data = self._get("/api/v1/query_range", params)
        return [
            (item["metric"], [(float(t), float(v)) for t, v in item.get("values", [])])
            for item in data.get("result", [])
        ]

    def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        url = f"{self.url}{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as response:
                body = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            detail = _error_detail(exc)
            raise SourceError(f"{self.description}: HTTP {exc.code} {detail}".rstrip()) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SourceError(f"cannot reach {self.description}: {reason}") from None
        except ValueError:
            raise SourceError(f"{self.description}: the answer is not JSON") from None
        if not isinstance(body, dict) or body.get("status") != "success":
            error = body.get("error") if isinstance(body, dict) else None
            raise SourceError(f"{self.description}: query failed: {error or body!r}")
        data = body.get("data")
        if not isinstance(data, dict):
            raise SourceError(f"{self.description}: malformed answer (no data)")
        return data


def _range(seconds: float) -> str:
    """A PromQL range: whole seconds at least, in the largest unit that divides it."""
    whole = max(round(seconds), 1)
    text = format_duration(whole)
    return text if not text.endswith("ms") else f"{whole}s"


def _steps(start: float, end: float, step: float) -> list[float]:
    if step <= 0 or end < start:
        raise SourceError(f"bad report range: start={start}, end={end}, step={step}")
    count = int((end - start) // step) + 1
    return [start + i * step for i in range(count)]


def _place(
    target: list[Optional[float]],
    times: list[float],
    points: list[tuple[float, float]],
    step: float,
) -> None:
    for t, v in points:
        index = round((t - times[0]) / step)
        if 0 <= index < len(target) and not math.isnan(v):
            target[index] = v


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read().decode("utf-8"))
        return str(body.get("error", ""))
    except Exception:
        return ""
