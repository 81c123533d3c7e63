"""configure(): settings resolve argument > environment variable > default; errors say whence."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics.export import ConsoleMetricExporter

import sli_instrument as sli
from sli_instrument import ConfigurationError, registry
from sli_instrument._handoff import OwnedInMemoryReader, OwnedPeriodicReader
from sli_instrument.config import current_configuration
from sli_instrument.testing import journey_metrics

pytestmark = [pytest.mark.core, pytest.mark.usefixtures("sli_reset", "clean_env")]

ENV_PREFIXES = ("OTEL_", "SLI_")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith(ENV_PREFIXES):
            monkeypatch.delenv(name)
    yield


def memory(**kwargs: Any) -> Any:
    return sli.configure(exporter="memory", install_global=False, **kwargs)


def resource_of(config: Any) -> dict[str, Any]:
    with sli.journey("probe"):
        pass
    data = config.reader.get_metrics_data()
    return dict(data.resource_metrics[0].resource.attributes)


def test_defaults_work_with_no_collector() -> None:
    config = sli.configure(install_global=False)
    s = config.settings
    assert (s.exporter, s.protocol, s.export_interval, s.temporality) == (
        "memory",
        "http/protobuf",
        60.0,
        "cumulative",
    )
    assert s.source_of("exporter") == "default"
    assert config.owned and isinstance(config.reader, OwnedInMemoryReader)
    assert current_configuration() is config


def test_endpoint_in_the_environment_selects_otlp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
    config = sli.configure(install_global=False, export_interval=3600)
    assert config.settings.exporter == "otlp"
    assert isinstance(config.reader, OwnedPeriodicReader)


def test_service_name_and_resource_attributes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod,team=payments")
    resource = resource_of(memory())
    assert resource["service.name"] == "from-env"
    assert resource["deployment.environment"] == "prod" and resource["team"] == "payments"
    assert len(resource["service.instance.id"]) == 36
    sli.shutdown()
    resource = resource_of(memory(service_name="shop", resource_attributes={"team": "core"}))
    assert resource["service.name"] == "shop"  # argument beats OTEL_SERVICE_NAME
    assert resource["team"] == "core"  # argument beats OTEL_RESOURCE_ATTRIBUTES
    assert resource["deployment.environment"] == "prod"


def test_service_instance_id_from_the_environment_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "service.instance.id=pod-7")
    assert resource_of(memory())["service.instance.id"] == "pod-7"


def test_one_instance_id_per_process() -> None:
    first = resource_of(memory())["service.instance.id"]
    sli.shutdown()
    assert resource_of(memory())["service.instance.id"] == first


@pytest.mark.parametrize(
    ("env", "argument", "expected", "source"),
    [
        ({"OTEL_METRICS_EXPORTER": "console"}, None, "console", "OTEL_METRICS_EXPORTER"),
        (
            {"OTEL_METRICS_EXPORTER": "console", "SLI_EXPORTER": "none"},
            None,
            "none",
            "SLI_EXPORTER",
        ),
        ({"SLI_EXPORTER": "console"}, "none", "none", "argument"),
    ],
)
def test_exporter_precedence(
    monkeypatch: pytest.MonkeyPatch, env: dict, argument: Any, expected: str, source: str
) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    config = sli.configure(exporter=argument, install_global=False, export_interval=3600)
    assert config.settings.exporter == expected
    assert source in config.settings.source_of("exporter")
    if expected == "console":
        assert isinstance(config.reader._exporter.inner, ConsoleMetricExporter)
    if expected == "none":
        assert config.reader is None


def test_protocol_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    assert sli.configure(exporter="none", install_global=False).settings.protocol == "grpc"
    sli.shutdown()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http")  # signal-specific wins
    settings = sli.configure(exporter="none", install_global=False).settings
    assert settings.protocol == "http/protobuf"
    assert settings.source_of("protocol") == (
        "environment variable OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"
    )
    sli.shutdown()
    settings = sli.configure(exporter="none", protocol="grpc", install_global=False).settings
    assert (settings.protocol, settings.source_of("protocol")) == ("grpc", "argument")


def test_export_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_METRIC_EXPORT_INTERVAL", "5000")
    assert memory().settings.export_interval == 5.0
    sli.shutdown()
    assert memory(export_interval="2s").settings.export_interval == 2.0
    sli.shutdown()
    assert memory(export_interval=0.5).settings.export_interval == 0.5


def test_temporality(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "DELTA")
    assert memory().settings.temporality == "delta"
    sli.shutdown()
    assert memory(temporality="cumulative").settings.temporality == "cumulative"


def test_sli_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLI_JOURNEY_CAP", "250")
    monkeypatch.setenv("SLI_LATENCY_THRESHOLD", "400ms")
    config = memory()
    assert registry.cap == 250
    assert registry.default_latency_threshold == pytest.approx(0.4)
    assert config.settings.source_of("journey_cap") == "environment variable SLI_JOURNEY_CAP"
    sli.shutdown()
    memory(journey_cap=300, default_latency_threshold="1s")
    assert registry.cap == 300 and registry.default_latency_threshold == 1.0


@pytest.mark.parametrize(
    ("env", "kwargs", "fragments"),
    [
        ({"SLI_EXPORTER": "kafka"}, {}, ["'kafka'", "environment variable SLI_EXPORTER"]),
        ({}, {"exporter": "zipkin"}, ["'zipkin'", "argument", "otlp, console, memory"]),
        (
            {"OTEL_EXPORTER_OTLP_PROTOCOL": "thrift"},
            {},
            ["'thrift'", "OTEL_EXPORTER_OTLP_PROTOCOL"],
        ),
        ({}, {"endpoint": "localhost:4317"}, ["'localhost:4317'", "use a URL"]),
        (
            {"OTEL_METRIC_EXPORT_INTERVAL": "soon"},
            {},
            ["'soon'", "OTEL_METRIC_EXPORT_INTERVAL", "milliseconds"],
        ),
        ({"OTEL_METRIC_EXPORT_INTERVAL": "0"}, {}, ["'0'", "OTEL_METRIC_EXPORT_INTERVAL"]),
        ({}, {"export_interval": -1}, ["export interval -1", "greater than zero"]),
        (
            {"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "sometimes"},
            {},
            ["'sometimes'", "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"],
        ),
        ({"SLI_JOURNEY_CAP": "ten"}, {}, ["'ten'", "environment variable SLI_JOURNEY_CAP"]),
        ({}, {"journey_cap": 0}, ["journey cap 0", "argument", ">= 1"]),
        ({"SLI_LATENCY_THRESHOLD": "fast"}, {}, ["'fast'", "SLI_LATENCY_THRESHOLD"]),
        ({"SLI_TRACES": "maybe"}, {}, ["'maybe'", "SLI_TRACES", "true or false"]),
    ],
)
def test_bad_settings_raise_quoting_value_and_source(
    monkeypatch: pytest.MonkeyPatch, env: dict, kwargs: dict, fragments: list[str]
) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(ConfigurationError) as info:
        sli.configure(install_global=False, **kwargs)
    for fragment in fragments:
        assert fragment in str(info.value)
    assert current_configuration() is None


def test_calling_twice() -> None:
    first = memory(service_name="shop")
    assert memory(service_name="shop") is first
    with pytest.raises(ConfigurationError) as info:
        memory(service_name="other")
    assert "service_name: 'shop' before, 'other' now" in str(info.value)
    assert "shutdown()" in str(info.value)
    assert current_configuration() is first  # the running pipeline is untouched


def test_two_different_exporter_instances_are_not_silently_merged() -> None:
    a, b = ConsoleMetricExporter(), ConsoleMetricExporter()
    config = sli.configure(exporter=a, install_global=False, export_interval=3600)
    assert sli.configure(exporter=a, install_global=False, export_interval=3600) is config
    with pytest.raises(ConfigurationError, match="exporter instance"):
        sli.configure(exporter=b, install_global=False, export_interval=3600)


def test_shutdown_is_idempotent_and_events_after_it_are_harmless() -> None:
    config = memory()
    with sli.journey("after"):
        pass
    sli.shutdown()
    sli.shutdown()
    assert current_configuration() is None
    with sli.journey("after"):
        pass  # counted in process, exported by the next configuration
    again = memory()
    assert again is not config
    assert journey_metrics(again.reader.get_metrics_data())["after"].requests == 2


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_child_counts_only_its_own_events_under_a_new_instance_id() -> None:
    config = memory(service_name="forky")
    handle = sli.journey("work")
    for _ in range(3):
        with handle:
            pass
    parent_id = resource_of(config)["service.instance.id"]
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            for _ in range(2):
                with handle:
                    pass
            child = current_configuration()
            assert child is not None
            data = child.reader.get_metrics_data()
            out = {
                "requests": journey_metrics(data)["work"].requests,
                "instance": dict(data.resource_metrics[0].resource.attributes)[
                    "service.instance.id"
                ],
                "service": dict(data.resource_metrics[0].resource.attributes)["service.name"],
            }
            os.write(write_end, json.dumps(out).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    _, status = os.waitpid(pid, 0)
    payload = b""
    while chunk := os.read(read_end, 65536):
        payload += chunk
    os.close(read_end)
    assert os.waitstatus_to_exitcode(status) == 0
    child = json.loads(payload)
    assert child["requests"] == 2
    assert child["service"] == "forky"
    assert child["instance"] != parent_id
    data = config.reader.get_metrics_data()
    assert journey_metrics(data)["work"].requests == 3  # the child's events are not ours
    assert dict(data.resource_metrics[0].resource.attributes)["service.instance.id"] == parent_id
