"""Building exporters for the pipeline that ``configure()`` owns."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import AggregationTemporality, ConsoleMetricExporter

from .errors import ConfigurationError


def preferred_temporality(settings: Any) -> dict[type, AggregationTemporality]:
    """OpenTelemetry's temporality presets (OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE)."""
    delta = AggregationTemporality.DELTA
    cumulative = AggregationTemporality.CUMULATIVE
    if settings.temporality == "delta" or settings.temporality == "lowmemory":
        monotonic = delta
    else:
        monotonic = cumulative
    counter_temporality = monotonic
    observable_counter = delta if settings.temporality == "delta" else cumulative
    return {
        Counter: counter_temporality,
        UpDownCounter: cumulative,
        Histogram: monotonic,
        ObservableCounter: observable_counter,
        ObservableUpDownCounter: cumulative,
        ObservableGauge: cumulative,
    }


def build_exporter(settings: Any) -> Any:
    temporality = preferred_temporality(settings)
    if settings.exporter == "console":
        return ConsoleMetricExporter(preferred_temporality=temporality)
    if settings.exporter == "emf":
        # EMF values are deltas whatever the temporality setting (CloudWatch adds them up).
        from .exporters.emf import EMFExporter

        return EMFExporter()
    if settings.exporter != "otlp":
        raise ConfigurationError(f"no exporter can be built for {settings.exporter!r}")
    kwargs: dict[str, Any] = {"preferred_temporality": temporality}
    if settings.protocol == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        except ImportError as exc:
            raise ConfigurationError(
                f"OTLP protocol 'grpc' (from {settings.source_of('protocol')}) needs "
                f"opentelemetry-exporter-otlp-proto-grpc: {exc}"
            ) from None
        if settings.endpoint is not None:
            parsed = urlparse(settings.endpoint)
            kwargs["endpoint"] = settings.endpoint
            kwargs["insecure"] = parsed.scheme == "http"
        return OTLPMetricExporter(**kwargs)
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
        OTLPMetricExporter as HTTPExporter,
    )

    if settings.endpoint is not None:
        parsed = urlparse(settings.endpoint)
        endpoint = settings.endpoint
        if parsed.path in ("", "/"):
            endpoint = endpoint.rstrip("/") + "/v1/metrics"
        kwargs["endpoint"] = endpoint
    return HTTPExporter(**kwargs)
