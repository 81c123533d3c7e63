"""What ``configure(exporter="otlp")`` actually sends, decoded from the wire.

A real OTLP receiver on loopback (gRPC and HTTP, ``tests/support/otlp_receiver``) decodes the
export requests with opentelemetry-proto; we assert names, units, descriptions, attribute sets,
values, histogram buckets and the resource, in cumulative and delta temporality.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

import sli_instrument as sli
from sli_instrument import _contract as c
from tests.support.otlp_receiver import (
    AGGREGATION_CUMULATIVE,
    AGGREGATION_DELTA,
    OTLPReceiver,
    points,
    resource_attributes,
    series_key,
    totals,
)

pytestmark = [pytest.mark.core, pytest.mark.usefixtures("sli_reset", "clean_env")]

J, OUT = c.ATTR_JOURNEY, c.ATTR_OUTCOME


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith(("OTEL_", "SLI_")):
            monkeypatch.delenv(name)
    yield


class Declined(Exception):
    pass


def _define() -> tuple[Any, Any]:
    @sli.journey("checkout", latency_threshold="50ms", success_exceptions=[Declined])
    def checkout(kind: str) -> None:
        if kind == "error":
            raise RuntimeError()
        if kind == "declined":
            raise Declined()

    search = sli.journey("search", latency_threshold="300ms")
    sli.journey("idle")  # registered, never called: its series must still be sent at 0
    return checkout, search


def _traffic(checkout: Any, search: Any, durations: list[float]) -> None:
    from sli_instrument._recorder import recorder

    for kind in ("ok", "ok", "error", "declined"):
        try:
            checkout(kind)
        except (RuntimeError, Declined):
            pass
    stats = search.journey.stats
    for d in durations:  # exact durations through the same entry point middleware uses
        recorder.record(stats, d, c.OUTCOME_SUCCESS)


def _endpoint(receiver: OTLPReceiver, protocol: str) -> str:
    return receiver.grpc_endpoint if protocol == "grpc" else receiver.http_endpoint


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
@pytest.mark.parametrize("temporality", ["cumulative", "delta"])
def test_what_leaves_the_process(
    otlp_receiver: OTLPReceiver, protocol: str, temporality: str
) -> None:
    checkout, search = _define()
    config = sli.configure(
        service_name="shop",
        resource_attributes={"deployment.environment": "test"},
        exporter="otlp",
        protocol=protocol,
        endpoint=_endpoint(otlp_receiver, protocol),
        export_interval=3600,
        temporality=temporality,
        install_global=False,
    )
    _traffic(checkout, search, [0.01, 0.3, 0.31, 2.0])
    assert config.force_flush(10_000)
    otlp_receiver.wait_for(lambda r: len(r.metrics) >= 1)
    _traffic(checkout, search, [0.02])
    assert config.force_flush(10_000)
    otlp_receiver.wait_for(lambda r: len(r.metrics) >= 2)

    transports = {r.transport for r in otlp_receiver.received}
    assert transports == {"grpc" if protocol == "grpc" else "http"}
    requests = otlp_receiver.metrics

    resource = resource_attributes(requests[0])
    assert resource["service.name"] == "shop"
    assert resource["deployment.environment"] == "test"
    assert len(resource["service.instance.id"]) == 36
    assert (
        resource_attributes(requests[1])["service.instance.id"] == resource["service.instance.id"]
    )

    ours = [p for p in points(requests) if p.scope == c.METER_NAME]
    by_name: dict[str, list[Any]] = {}
    for p in ours:
        by_name.setdefault(p.name, []).append(p)
    assert set(by_name) == {c.REQUESTS, c.FAILURES, c.SLOW, c.ABORTED, c.DURATION}
    expected_temporality = AGGREGATION_DELTA if temporality == "delta" else AGGREGATION_CUMULATIVE
    for name in (c.REQUESTS, c.FAILURES, c.SLOW, c.ABORTED):
        for p in by_name[name]:
            assert (p.kind, p.unit, p.monotonic) == ("sum", "{request}", True)
            assert p.description == c.DESCRIPTIONS[name]
            assert p.temporality == expected_temporality
            assert set(p.attributes) == {J}
    for p in by_name[c.DURATION]:
        assert (p.kind, p.unit, p.description) == ("histogram", "s", c.DESCRIPTIONS[c.DURATION])
        assert p.temporality == expected_temporality
        assert set(p.attributes) == {J, OUT}
        assert len(p.bucket_counts) == len(p.explicit_bounds) + 1
        # Each journey's histogram has its own threshold as a bucket edge.
        threshold = {"checkout": 0.05, "search": 0.3, "idle": 1.0}[p.attributes[J]]
        assert threshold in p.explicit_bounds

    # The first batch already carries every registered journey, the idle one at 0.
    first = {p.key: p for p in points(requests[0])}
    for name in ("checkout", "search", "idle"):
        for counter in (c.REQUESTS, c.FAILURES, c.SLOW, c.ABORTED):
            assert series_key(counter, **{J: name}) in first
    assert first[series_key(c.REQUESTS, **{J: "idle"})].value == 0

    total = totals(requests)
    req = lambda n: total[series_key(c.REQUESTS, **{J: n})]  # noqa: E731
    assert req("checkout") == 8
    assert total[series_key(c.FAILURES, **{J: "checkout"})] == 2  # "declined" is a success
    assert req("search") == 5
    assert total[series_key(c.SLOW, **{J: "search"})] == 2  # 0.31 and 2.0 (0.3 is not > 0.3)
    assert total[series_key(c.ABORTED, **{J: "search"})] == 0
    assert req("idle") == 0

    hist = total[series_key(c.DURATION, **{J: "search", OUT: "success"})]
    assert hist.count == 5
    assert hist.sum == pytest.approx(0.01 + 0.3 + 0.31 + 2.0 + 0.02)
    bounds = hist.explicit_bounds
    expected = [0] * (len(bounds) + 1)
    import bisect

    for d in (0.01, 0.3, 0.31, 2.0, 0.02):
        expected[bisect.bisect_left(bounds, d)] += 1
    assert hist.bucket_counts == expected
    assert hist.bucket_counts[bounds.index(0.3)] == 1  # le=0.3 holds 0.3 itself
    checkout_hist = {
        outcome: total[series_key(c.DURATION, **{J: "checkout", OUT: outcome})].count
        for outcome in ("success", "failure")
    }
    assert checkout_hist == {"success": 6, "failure": 2}
    sli.shutdown()


def test_environment_only_configuration_over_grpc(
    otlp_receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_SERVICE_NAME", "env-shop")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", otlp_receiver.grpc_endpoint)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_INSECURE", "true")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    monkeypatch.setenv("OTEL_METRIC_EXPORT_INTERVAL", "3600000")
    config = sli.configure(install_global=False)
    assert (config.settings.exporter, config.settings.protocol) == ("otlp", "grpc")
    with sli.journey("env"):
        pass
    assert config.force_flush(10_000)
    otlp_receiver.wait_for_metric(c.REQUESTS)
    assert resource_attributes(otlp_receiver.metrics[0])["service.name"] == "env-shop"
    assert totals(otlp_receiver.metrics)[series_key(c.REQUESTS, **{J: "env"})] == 1
    assert {r.transport for r in otlp_receiver.received} == {"grpc"}
    sli.shutdown()  # while the receiver still listens


def test_environment_only_configuration_over_http(
    otlp_receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", otlp_receiver.http_endpoint)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta")
    config = sli.configure(service_name="env-http", install_global=False, export_interval=3600)
    assert config.settings.protocol == "http/protobuf"
    with sli.journey("env"):
        pass
    assert config.force_flush(10_000)
    received = otlp_receiver.wait_for_metric(c.REQUESTS)
    assert received[0].temporality == AGGREGATION_DELTA
    assert {r.transport for r in otlp_receiver.received} == {"http"}
    sli.shutdown()
