"""Opt-in tracing (``configure(traces=True)``): a tracer provider X-Ray accepts.

X-Ray needs trace ids whose first 32 bits are the start time in epoch seconds; the AWS SDK
extension's ``AwsXRayIdGenerator`` makes them. Propagation keeps W3C trace context and baggage and
adds the X-Ray header, unless ``OTEL_PROPAGATORS`` says otherwise (then it is respected as is).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from opentelemetry import trace

logger = logging.getLogger("sli_instrument")


def _id_generator() -> Any:
    try:
        from opentelemetry.sdk.extension.aws.trace import AwsXRayIdGenerator

        return AwsXRayIdGenerator()
    except ImportError:
        from ._xray_ids import XRayIdGenerator

        return XRayIdGenerator()


def install_propagators() -> None:
    if os.environ.get("OTEL_PROPAGATORS", "").strip():
        return  # the user chose; the API already built that propagator from the variable
    from opentelemetry.baggage.propagation import W3CBaggagePropagator
    from opentelemetry.propagate import set_global_textmap
    from opentelemetry.propagators.composite import CompositePropagator
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    propagators: list[Any] = [TraceContextTextMapPropagator(), W3CBaggagePropagator()]
    try:
        from opentelemetry.propagators.aws import AwsXRayPropagator

        propagators.append(AwsXRayPropagator())
    except ImportError:
        logger.info(
            "sli_instrument: opentelemetry-propagator-aws-xray is not installed; X-Ray headers "
            "are not propagated (install sli_instrument[xray])"
        )
    set_global_textmap(CompositePropagator(propagators))


def install_tracing(resource: Any, settings: Any) -> Any:
    """Install (or, when one exists, reuse) a tracer provider; return it."""
    existing = trace.get_tracer_provider()
    if type(existing).__name__ not in ("ProxyTracerProvider", "_ProxyTracerProvider"):
        logger.info("sli_instrument: a TracerProvider is already installed; using it")
        return existing
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    provider = TracerProvider(
        resource=resource, id_generator=_id_generator(), shutdown_on_exit=False
    )
    destination = span_destination(settings)
    if destination == "otlp":
        provider.add_span_processor(BatchSpanProcessor(_span_exporter(settings)))
    elif destination == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    if settings.install_global:
        trace.set_tracer_provider(provider)
        install_propagators()
    return provider


def span_destination(settings: Any) -> str:
    """Where spans go: ``otlp``, ``console`` or ``none``.

    ``OTEL_TRACES_EXPORTER`` decides when set. Otherwise spans follow the metrics exporter, except
    that metrics which need no collector (``emf``, ``memory``) do not stop spans from reaching an
    OTLP endpoint that is configured (in Lambda, the ADOT layer's collector on localhost).
    """
    chosen = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if chosen:
        return chosen if chosen in ("otlp", "console") else "none"
    if settings.exporter in ("otlp", "console"):
        return str(settings.exporter)
    endpoint_set = settings.endpoint is not None or any(
        os.environ.get(name, "").strip()
        for name in ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
    )
    return "otlp" if endpoint_set else "none"


def _span_exporter(settings: Any) -> Any:
    from urllib.parse import urlparse

    if settings.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        if settings.endpoint is None:
            return OTLPSpanExporter()
        return OTLPSpanExporter(
            endpoint=settings.endpoint, insecure=urlparse(settings.endpoint).scheme == "http"
        )
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HTTPSpanExporter,
    )

    if settings.endpoint is None:
        return HTTPSpanExporter()
    endpoint = settings.endpoint
    if urlparse(endpoint).path in ("", "/"):
        endpoint = endpoint.rstrip("/") + "/v1/traces"
    return HTTPSpanExporter(endpoint=endpoint)
