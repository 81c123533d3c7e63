"""The CloudWatch EMF exporter: documents valid per the specification, numbers add up, limits."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

import sli_instrument as sli
from sli_instrument import _contract as c
from sli_instrument._recorder import recorder
from sli_instrument.exporters._emf_documents import documents
from sli_instrument.exporters.emf import EMFExporter

jsonschema = pytest.importorskip("jsonschema")  # not a core dependency

pytestmark = [pytest.mark.core, pytest.mark.usefixtures("sli_reset")]

SCHEMA = json.loads((Path(__file__).parent / "emf_schema.json").read_text())
VALIDATOR = jsonschema.Draft7Validator(SCHEMA)  # the schema declares draft-07
UNITS_OK = {"Count", "Seconds", "None"}


def check_document(doc: dict[str, Any]) -> None:
    """The schema, then what it cannot express: the target members the references point to."""
    VALIDATOR.validate(doc)
    for directive in doc["_aws"]["CloudWatchMetrics"]:
        names = [m["Name"] for m in directive["Metrics"]]
        assert len(names) == len(set(names)), "a metric appears twice in one document"
        for dimension_set in directive["Dimensions"]:
            for key in dimension_set:
                assert isinstance(doc.get(key), str) and doc[key].strip(), key
        for name in names:
            value = doc[name]
            if isinstance(value, dict):  # Values/Counts distribution
                assert set(value) == {"Values", "Counts", "Max", "Min", "Count", "Sum"}
                assert 0 < len(value["Values"]) <= 100
                assert len(value["Values"]) == len(value["Counts"])
                assert sum(value["Counts"]) == value["Count"]
                assert value["Min"] <= min(value["Values"]) <= max(value["Values"]) <= value["Max"]
            elif isinstance(value, list):
                assert len(value) <= 100
                assert all(isinstance(v, (int, float)) for v in value)
            else:
                assert isinstance(value, (int, float)) and not isinstance(value, bool)
                assert math.isfinite(value)


def read_documents(path: Path) -> list[dict[str, Any]]:
    docs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    for doc in docs:
        check_document(doc)
    return docs


def totals(docs: list[dict[str, Any]]) -> dict[tuple[str, str], float]:
    result: dict[tuple[str, str], float] = {}
    for doc in docs:
        if c.ATTR_JOURNEY not in doc:
            # Not ours: e.g. the SDK's own otel.sdk.* metrics, which some SDK versions export
            # through the same pipeline by default.
            continue
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = doc[metric["Name"]]
                if isinstance(value, dict):
                    key = (metric["Name"] + "#count", doc[c.ATTR_JOURNEY])
                    result[key] = result.get(key, 0) + value["Count"]
                    key = (metric["Name"] + "#sum", doc[c.ATTR_JOURNEY])
                    result[key] = result.get(key, 0) + value["Sum"]
                else:
                    key = (metric["Name"], doc[c.ATTR_JOURNEY])
                    result[key] = result.get(key, 0) + value
    return result


def test_documents_validate_and_numbers_add_up(tmp_path: Path) -> None:
    out = tmp_path / "emf.log"
    config = sli.configure(
        service_name="shop",
        exporter=EMFExporter(namespace="Shop", output=str(out)),
        export_interval="1h",
        install_global=False,
    )
    checkout = sli.journey("checkout", latency_threshold="50ms")
    search = sli.journey("search")
    recorded_sum = 0.0
    for i in range(30):
        duration = 0.01 * (i % 7)  # 0 .. 60 ms: some slower than checkout's 50 ms
        recorder.record(checkout.journey.stats, duration, "failure" if i % 5 == 0 else "success")
        recorded_sum += duration
    for _ in range(7):
        recorder.record(search.journey.stats, 0.2, "success")
    config.force_flush()
    docs = read_documents(out)
    got = totals(docs)
    assert got[(c.REQUESTS, "checkout")] == 30
    assert got[(c.FAILURES, "checkout")] == 6
    assert got[(c.SLOW, "checkout")] == sum(1 for i in range(30) if 0.01 * (i % 7) > 0.05)
    assert got[(c.REQUESTS, "search")] == 7
    assert got[(c.FAILURES, "search")] == 0
    assert got[(c.DURATION + "#count", "checkout")] == 30
    assert got[(c.DURATION + "#sum", "checkout")] == pytest.approx(recorded_sum)
    assert got[(c.DURATION + "#count", "search")] == 7
    for doc in docs:
        directive = doc["_aws"]["CloudWatchMetrics"][0]
        assert directive["Namespace"] == "Shop"
        assert doc["service.name"] == "shop"
        dims = directive["Dimensions"][0]
        assert dims[:2] == ["service.name", c.ATTR_JOURNEY]
        if any(m["Name"] == c.DURATION for m in directive["Metrics"]):
            assert dims == ["service.name", c.ATTR_JOURNEY, c.ATTR_OUTCOME]
            assert doc[c.DURATION]["Values"], "histograms keep their distribution"
        units = {m["Name"]: m["Unit"] for m in directive["Metrics"]}
        assert set(units.values()) <= UNITS_OK
        if c.REQUESTS in units:
            assert units[c.REQUESTS] == "Count"
    # Checkout's distribution: 50 ms is a bucket edge, so the Values split exactly at it.
    success = [
        d[c.DURATION]
        for d in docs
        if d.get(c.ATTR_JOURNEY) == "checkout" and d.get(c.ATTR_OUTCOME) == "success"
    ]
    assert success and sum(sum(h["Counts"]) for h in success) == 24


def test_delta_semantics_each_document_reports_only_new_events(tmp_path: Path) -> None:
    out = tmp_path / "emf.log"
    config = sli.configure(
        service_name="shop",
        exporter=EMFExporter(output=str(out)),
        export_interval="1h",
        install_global=False,
    )
    handle = sli.journey("pay")
    for _ in range(4):
        recorder.record(handle.journey.stats, 0.001, "success")
    config.force_flush()
    first = read_documents(out)
    out.write_text("")
    recorder.record(handle.journey.stats, 0.001, "failure")
    config.force_flush()
    second = read_documents(out)
    out.write_text("")
    config.force_flush()
    third = read_documents(out)
    assert totals(first)[(c.REQUESTS, "pay")] == 4
    assert totals(second)[(c.REQUESTS, "pay")] == 1
    assert totals(second)[(c.FAILURES, "pay")] == 1
    assert totals(second)[(c.DURATION + "#count", "pay")] == 1
    # Nothing happened: the counters still report (zero) so ratios never divide missing data,
    # and no empty distribution is written.
    assert totals(third)[(c.REQUESTS, "pay")] == 0
    assert (c.DURATION + "#count", "pay") not in totals(third)


def test_250_journeys_times_4_metrics_split_within_limits() -> None:
    stream = io.StringIO()
    sli.registry.set_cap(300)
    config = sli.configure(
        service_name="shop",
        exporter=EMFExporter(output=stream),
        export_interval="1h",
        install_global=False,
    )
    handles = [sli.journey(f"j{i:03d}") for i in range(250)]
    for i, handle in enumerate(handles):
        for k in range(i % 4 + 1):
            recorder.record(handle.journey.stats, 0.002, "failure" if k == 0 else "success")
    config.force_flush()
    docs = [json.loads(line) for line in stream.getvalue().splitlines()]
    for doc in docs:
        check_document(doc)
    got = totals(docs)
    for i in range(250):
        name = f"j{i:03d}"
        assert got[(c.REQUESTS, name)] == i % 4 + 1
        assert got[(c.FAILURES, name)] == 1
        assert got[(c.SLOW, name)] == 0
        assert got[(c.ABORTED, name)] == 0
    counter_docs = [d for d in docs if c.REQUESTS in d]
    assert len(counter_docs) == 250  # one set of dimension values per document


def _metrics_data(metrics: list[Metric], attributes: dict[str, Any]) -> MetricsData:
    return MetricsData(
        resource_metrics=[
            ResourceMetrics(
                resource=Resource.create({"service.name": "svc", **attributes}),
                scope_metrics=[
                    ScopeMetrics(scope=InstrumentationScope("x"), metrics=metrics, schema_url="")
                ],
                schema_url="",
            )
        ]
    )


def _sum(name: str, value: int, attrs: dict[str, Any]) -> Metric:
    point = NumberDataPoint(
        attributes=attrs, start_time_unix_nano=1, time_unix_nano=2_000_000_000, value=value
    )
    return Metric(
        name=name,
        description="",
        unit="{request}",
        data=Sum(
            data_points=[point],
            aggregation_temporality=AggregationTemporality.DELTA,
            is_monotonic=True,
        ),
    )


def test_split_at_100_metrics_30_dimensions_and_100_values() -> None:
    # 1000 metrics (250 journeys x 4 names) sharing one set of dimension values: 10 documents.
    attrs = {"team": "a"}
    many = [
        _sum(f"j{i:03d}.{kind}", i, attrs)
        for i in range(250)
        for kind in ("requests", "failures", "slow", "aborted")
    ]
    docs = documents(
        _metrics_data(many, {}), namespace="N", dimension_keys=("service.name", "team")
    )
    assert [len(d["_aws"]["CloudWatchMetrics"][0]["Metrics"]) for d in docs] == [100] * 10
    for doc in docs:
        check_document(doc)
    assert sum(
        doc[m["Name"]] for doc in docs for m in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
    ) == 4 * sum(range(250))

    # 40 attributes asked for as dimensions: 30 are dimensions, the rest plain members.
    wide = {f"k{i:02d}": f"v{i}" for i in range(40)}
    docs = documents(
        _metrics_data([_sum("m", 1, wide)], {}),
        namespace="N",
        dimension_keys=[f"k{i:02d}" for i in range(40)],
    )
    (doc,) = docs
    check_document(doc)
    assert len(doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]) == 30
    assert doc["k39"] == "v39"

    # A histogram with 250 non-empty buckets: 3 pieces, counts and sum still exact.
    bounds = [float(i) for i in range(1, 250)]
    counts = [1 + (i % 3) for i in range(250)]
    total = sum((i + 0.5) * n for i, n in enumerate(counts))
    point = HistogramDataPoint(
        attributes={},
        start_time_unix_nano=1,
        time_unix_nano=2_000_000_000,
        count=sum(counts),
        sum=total,
        bucket_counts=counts,
        explicit_bounds=bounds,
        min=0.5,
        max=249.5,
    )
    histogram = Metric(
        name="lat",
        description="",
        unit="s",
        data=Histogram(data_points=[point], aggregation_temporality=AggregationTemporality.DELTA),
    )
    docs = documents(
        _metrics_data([histogram], {}), namespace="N", dimension_keys=("service.name",)
    )
    for doc in docs:
        check_document(doc)
    pieces = [doc["lat"] for doc in docs]
    assert [len(p["Values"]) for p in pieces] == [100, 100, 50]
    assert sum(p["Count"] for p in pieces) == sum(counts)
    assert sum(p["Sum"] for p in pieces) == pytest.approx(total)


def test_cumulative_input_is_converted_to_deltas() -> None:
    from sli_instrument.exporters._emf_documents import CumulativeToDelta

    deltas = CumulativeToDelta()

    def cumulative(value: int) -> MetricsData:
        point = NumberDataPoint(
            attributes={}, start_time_unix_nano=1, time_unix_nano=2_000_000_000, value=value
        )
        metric = Metric(
            name="m",
            description="",
            unit="1",
            data=Sum(
                data_points=[point],
                aggregation_temporality=AggregationTemporality.CUMULATIVE,
                is_monotonic=True,
            ),
        )
        return _metrics_data([metric], {})

    values = [
        documents(cumulative(v), namespace="N", dimension_keys=(), deltas=deltas)[0]["m"]
        for v in (5, 7, 7, 3)
    ]
    assert values == [5, 2, 0, 3]  # the drop to 3 is a restart: 3 new events


def test_configure_exporter_emf_writes_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    config = sli.configure(
        service_name="fn", exporter="emf", export_interval="1h", install_global=False
    )
    handle = sli.journey("invoke")

    @handle
    def work() -> int:
        return 1

    work()
    work()
    config.force_flush()
    lines = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")
    ]
    for doc in lines:
        check_document(doc)
    assert totals(lines)[(c.REQUESTS, "invoke")] == 2
    assert lines[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "SLI"


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"namespace": "AWS/Lambda"}, "'AWS/Lambda'"),
        ({"namespace": ""}, "namespace ''"),
        ({"dimensions": [f"d{i}" for i in range(31)]}, "at most 30"),
        ({"dimensions": [":bad"]}, "':bad'"),
        ({"storage_resolution": 5}, "storage resolution 5"),
        ({"output": "/nonexistent-dir/x.log"}, "does not exist"),
    ],
)
def test_misconfiguration_fails_at_construction(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(sli.ConfigurationError, match=None) as info:
        EMFExporter(**kwargs)
    assert fragment in str(info.value)


def test_environment_namespace_and_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "env.log"
    monkeypatch.setenv("SLI_EMF_NAMESPACE", "FromEnv")
    monkeypatch.setenv("SLI_EMF_OUTPUT", str(out))
    config = sli.configure(
        service_name="shop", exporter="emf", export_interval="1h", install_global=False
    )
    recorder.record(sli.journey("a").journey.stats, 0.001, "success")
    config.force_flush()
    docs = read_documents(out)
    assert {d["_aws"]["CloudWatchMetrics"][0]["Namespace"] for d in docs} == {"FromEnv"}
    monkeypatch.setenv("SLI_EMF_NAMESPACE", "AWS/x")
    with pytest.raises(sli.ConfigurationError, match="SLI_EMF_NAMESPACE"):
        EMFExporter()


def test_write_failure_is_reported_not_raised(tmp_path: Path) -> None:
    class Broken(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError("disk full")

    exporter = EMFExporter(output=Broken())
    data = _metrics_data([_sum("m", 1, {})], {})
    from opentelemetry.sdk.metrics.export import MetricExportResult

    assert exporter.export(data) is MetricExportResult.FAILURE


def test_the_schema_itself_enforces_the_limits() -> None:
    jsonschema.Draft7Validator.check_schema(SCHEMA)

    def doc(dimensions: list[str], metrics: int, unit: str = "Count") -> dict[str, Any]:
        return {
            "_aws": {
                "Timestamp": 1,
                "CloudWatchMetrics": [
                    {
                        "Namespace": "N",
                        "Dimensions": [dimensions],
                        "Metrics": [{"Name": f"m{i}", "Unit": unit} for i in range(metrics)],
                    }
                ],
            }
        }

    assert VALIDATOR.is_valid(doc([f"d{i}" for i in range(30)], 100))
    assert not VALIDATOR.is_valid(doc([f"d{i}" for i in range(31)], 1))
    assert not VALIDATOR.is_valid(doc([], 101))
    assert not VALIDATOR.is_valid(doc([], 1, unit="Requests"))
    assert not VALIDATOR.is_valid({"_aws": {"CloudWatchMetrics": []}})  # Timestamp is required
