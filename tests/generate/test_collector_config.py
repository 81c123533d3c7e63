"""collector-config: the ADOT collector configuration generated for one service."""

from __future__ import annotations

import re

import yaml
from tests.support.slo_specs import shop_spec

from sli_instrument import _contract as c
from sli_instrument.generate.collector_config import CollectorOptions, build, render


def test_metrics_go_to_awsemf_with_our_two_dimensions_only() -> None:
    config = build(shop_spec(), CollectorOptions(namespace="Shop/SLI", region="eu-west-1"))
    emf = config["exporters"]["awsemf"]
    assert emf["namespace"] == "Shop/SLI" and emf["region"] == "eu-west-1"
    assert emf["dimension_rollup_option"] == "NoDimensionRollup"
    assert emf["resource_to_telemetry_conversion"] == {"enabled": True}
    (declaration,) = emf["metric_declarations"]
    assert declaration["dimensions"] == [["service.name", "sli.journey"]]
    (selector,) = declaration["metric_name_selectors"]
    for name in (c.REQUESTS, c.FAILURES, c.SLOW, c.ABORTED, c.DURATION, c.TTFB):
        assert re.search(selector, name), name
    for other in ("sli.journey.requests.extra", "http.server.duration", "sliXjourneyXrequests"):
        assert not re.search(selector, other), other
    (matcher,) = declaration["label_matchers"]
    assert re.search(matcher["regex"], "shop") and not re.search(matcher["regex"], "shop2")


def test_pipelines_receivers_and_traces() -> None:
    config = build(shop_spec())
    protocols = config["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"] == "0.0.0.0:4317"
    assert protocols["http"]["endpoint"] == "0.0.0.0:4318"
    pipelines = config["service"]["pipelines"]
    assert pipelines["metrics"]["exporters"] == ["awsemf"]
    # Histograms reach awsemf as deltas.
    assert pipelines["metrics"]["processors"][0] == "cumulativetodelta"
    assert config["processors"]["cumulativetodelta"]["include"]["metrics"] == [
        c.DURATION,
        c.TTFB,
    ]
    assert config["exporters"]["awsxray"]["indexed_attributes"] == ["sli.journey"]
    for pipeline in pipelines.values():
        for kind in ("receivers", "processors", "exporters"):
            for name in pipeline[kind]:
                assert name in config[kind], f"{kind} {name} used but not defined"
    no_traces = build(shop_spec(), CollectorOptions(traces=False))
    assert "traces" not in no_traces["service"]["pipelines"]


def test_output_is_deterministic_yaml() -> None:
    text = render(shop_spec())
    assert text == render(shop_spec())
    assert yaml.safe_load(text) == build(shop_spec())
