"""The Prometheus names of the contract, as OpenTelemetry's Prometheus exporter writes them.

docs/metrics.md promises these names; the Prometheus rules and dashboards are generated for them.
"""

from __future__ import annotations

import pytest

import sli_instrument as sli

pytestmark = pytest.mark.usefixtures("sli_reset")

prometheus_client = pytest.importorskip("prometheus_client")
prometheus_exporter = pytest.importorskip("opentelemetry.exporter.prometheus")


def test_prometheus_names_and_labels() -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from prometheus_client.parser import text_string_to_metric_families

    registry = prometheus_client.CollectorRegistry()
    reader = prometheus_exporter.PrometheusMetricReader()
    # The reader registers its collector on the default registry; scrape it through ours too.
    registry.register(reader._collector)
    provider = MeterProvider(metric_readers=[reader])
    sli.configure(meter_provider=provider)
    with sli.journey("checkout", latency_threshold="300ms"):
        pass
    try:
        text = prometheus_client.generate_latest(registry).decode()
    finally:
        registry.unregister(reader._collector)
        provider.shutdown()  # also unregisters it from the default registry
    for line in (
        "# TYPE sli_journey_requests_total counter",
        "# TYPE sli_journey_failures_total counter",
        "# TYPE sli_journey_slow_total counter",
        "# TYPE sli_journey_aborted_total counter",
        "# TYPE sli_journey_duration_seconds histogram",
    ):
        assert line in text
    samples = {
        (s.name, s.labels.get("sli_journey"), s.labels.get("sli_outcome"), s.labels.get("le")): s
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("sli_journey_requests_total", "checkout", None, None)].value == 1
    assert samples[("sli_journey_failures_total", "checkout", None, None)].value == 0
    bucket = samples[("sli_journey_duration_seconds_bucket", "checkout", "success", "0.3")]
    assert bucket.value == 1
    assert samples[("sli_journey_duration_seconds_count", "checkout", "success", None)].value == 1
