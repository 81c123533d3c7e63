"""Read journey counts from CloudWatch with ``GetMetricData`` (boto3 is imported only here).

Our metrics arrive through the collector's ``awsemf`` exporter (or our EMF exporter) as
``<namespace>/sli.journey.{requests,failures,slow}`` with dimensions ``service.name`` and
``sli.journey``; as EMF counters are deltas, the ``Sum`` statistic over a window is the window's
count. Periods follow CloudWatch's retention: 1 minute for windows up to a day, 5 minutes up to
7 days, 1 hour beyond (1-minute data are kept 15 days, 5-minute data 63 days). A window ends at the
last whole minute; where CloudWatch rounds the start of a long window down to its period, the window
reads up to one period more (an hour of 28 days: 0.15%).
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Sequence
from typing import Any, Optional

from .. import _contract as c
from ..generate._common import DEFAULT_NAMESPACE, DIMENSION_JOURNEY, DIMENSION_SERVICE
from ..slo.model import SLOSpec
from .model import JourneySeries, ReportData
from .sources import SourceError, cumulative
from .summary import Counts

_METRICS = (("requests", c.REQUESTS), ("failures", c.FAILURES), ("slow", c.SLOW))
#: GetMetricData accepts at most 500 queries per call.
_BATCH = 500


def period_for(window: float) -> int:
    if window <= 86400:
        return 60
    if window <= 7 * 86400:
        return 300
    return 3600


class CloudWatchSource:
    def __init__(
        self,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        region: Optional[str] = None,
        endpoint_url: Optional[str] = None,
        client: Any = None,
    ) -> None:
        self.namespace = namespace
        if client is None:
            try:
                import boto3
            except ImportError:
                raise SourceError(
                    "--cloudwatch needs boto3: pip install 'sli_instrument[aws]'"
                ) from None
            try:
                client = boto3.client("cloudwatch", region_name=region, endpoint_url=endpoint_url)
            except Exception as exc:  # botocore raises many kinds (no region, bad endpoint, ...)
                raise SourceError(f"cannot create a CloudWatch client: {exc}") from None
        self.client = client
        where = f" at {endpoint_url}" if endpoint_url else ""
        self.description = f"cloudwatch {namespace}{where}"

    # -- Source -------------------------------------------------------------------------------

    def window_counts(
        self, spec: SLOSpec, windows: Sequence[float], now: float
    ) -> dict[str, dict[float, Counts]]:
        result: dict[str, dict[float, Counts]] = {j.name: {} for j in spec.journeys}
        for window in windows:
            period = period_for(window)
            end = math.floor(now / 60) * 60
            start = end - max(period, math.ceil(window / 60) * 60)
            sums = self._sums(spec, start, end, period)
            for journey in spec.journeys:
                values = sums.get(journey.name, {})
                result[journey.name][window] = Counts(
                    **{
                        name: sum(v for v in values.get(name, []) if v is not None)
                        for name, _ in _METRICS
                    }
                )
        return result

    def report_data(self, spec: SLOSpec, start: float, end: float, step: float) -> ReportData:
        period = max(60, int(step) // 60 * 60)
        first = math.floor(start / period) * period
        last = math.floor(end / period) * period
        times = [float(first + i * period) for i in range(int((last - first) // period) + 1)]
        per_step = self._series(spec, first, last + period, period, times)
        journeys = []
        for objective in spec.journeys:
            mine = per_step.get(objective.name, {})
            journeys.append(
                JourneySeries(
                    name=objective.name,
                    objective=objective,
                    timestamps=times,
                    requests=cumulative(mine.get("requests", [None] * len(times))),
                    failures=cumulative(mine.get("failures", [None] * len(times))),
                    slow=cumulative(mine.get("slow", [None] * len(times))),
                )
            )
        return ReportData(spec.service, end, self.description, journeys)

    # -- GetMetricData ------------------------------------------------------------------------

    def _queries(self, spec: SLOSpec, period: int) -> list[tuple[str, str, str, dict[str, Any]]]:
        queries = []
        for index, journey in enumerate(spec.journeys):
            for name, metric in _METRICS:
                query_id = f"m{index}_{name}"
                queries.append(
                    (
                        query_id,
                        journey.name,
                        name,
                        {
                            "Id": query_id,
                            "MetricStat": {
                                "Metric": {
                                    "Namespace": self.namespace,
                                    "MetricName": metric,
                                    "Dimensions": [
                                        {"Name": DIMENSION_SERVICE, "Value": spec.service},
                                        {"Name": DIMENSION_JOURNEY, "Value": journey.name},
                                    ],
                                },
                                "Period": period,
                                "Stat": "Sum",
                            },
                            "ReturnData": True,
                        },
                    )
                )
        return queries

    def _fetch(
        self, spec: SLOSpec, start: float, end: float, period: int
    ) -> dict[str, tuple[str, str, list[tuple[float, float]]]]:
        queries = self._queries(spec, period)
        found: dict[str, tuple[str, str, list[tuple[float, float]]]] = {
            q[0]: (q[1], q[2], []) for q in queries
        }
        for offset in range(0, len(queries), _BATCH):
            batch = [q[3] for q in queries[offset : offset + _BATCH]]
            token: Optional[str] = None
            while True:
                kwargs: dict[str, Any] = {
                    "MetricDataQueries": batch,
                    "StartTime": _utc(start),
                    "EndTime": _utc(end),
                    "ScanBy": "TimestampAscending",
                }
                if token:
                    kwargs["NextToken"] = token
                answer = self._call(kwargs)
                for item in answer.get("MetricDataResults", []):
                    points = list(zip(item.get("Timestamps", []), item.get("Values", [])))
                    if item.get("Id") in found:
                        found[item["Id"]][2].extend(
                            (stamp.timestamp(), float(value)) for stamp, value in points
                        )
                token = answer.get("NextToken")
                if not token:
                    break
        return found

    def _sums(
        self, spec: SLOSpec, start: float, end: float, period: int
    ) -> dict[str, dict[str, list[Optional[float]]]]:
        sums: dict[str, dict[str, list[Optional[float]]]] = {}
        for journey, name, points in self._fetch(spec, start, end, period).values():
            inside = [v for t, v in points if start <= t < end]
            sums.setdefault(journey, {})[name] = list(inside)
        return sums

    def _series(
        self, spec: SLOSpec, start: float, end: float, period: int, times: list[float]
    ) -> dict[str, dict[str, list[Optional[float]]]]:
        result: dict[str, dict[str, list[Optional[float]]]] = {}
        for journey, name, points in self._fetch(spec, start, end, period).values():
            values: list[Optional[float]] = [None] * len(times)
            for t, v in points:
                index = round((t - times[0]) / period)
                if 0 <= index < len(values):
                    values[index] = (values[index] or 0.0) + v
            result.setdefault(journey, {})[name] = values
        return result

    def _call(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = self.client.get_metric_data(**kwargs)
        except (
            Exception
        ) as exc:  # botocore's ClientError, EndpointConnectionError, NoCredentials...
            raise SourceError(f"{self.description}: GetMetricData failed: {exc}") from None
        return answer


def _utc(moment: float) -> _dt.datetime:
    return _dt.datetime.fromtimestamp(moment, tz=_dt.timezone.utc)
