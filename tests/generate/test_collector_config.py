"""collector-config: the generated ADOT config has the shape of examples/collector/ and passes the
same documented component schemas (tests/support/collector_schemas.py)."""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from sli_instrument import _contract as c
from sli_instrument.generate.collector_config import CollectorOptions, build, render
from sli_instrument.slo.model import SLOSpec
from tests.support.collector_schemas import COMPONENTS
from tests.support.slo_specs import journey, shop_spec

INSTRUMENTS = (c.REQUESTS, c.FAILURES, c.SLOW, c.ABORTED, c.DURATION, c.TTFB)
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "collector" / "ecs-sidecar.yaml"


@pytest.mark.parametrize(
    "options",
    [CollectorOptions(), CollectorOptions(namespace="Shop/SLI", region="eu-west-1", traces=False)],
)
def test_every_component_follows_its_documented_schema(options: CollectorOptions) -> None:
    config = build(shop_spec(), options)
    checked = 0
    for section in ("receivers", "processors", "exporters"):
        for component_id, settings in config[section].items():
            kind = component_id.split("/", 1)[0]
            if kind in COMPONENTS:
                jsonschema.validate(settings, COMPONENTS[kind])
                checked += 1
    assert checked == (3 if not options.traces else 4)


def test_same_structure_as_the_hand_written_reference() -> None:
    reference = yaml.safe_load(EXAMPLE.read_text())
    generated = build(shop_spec())
    for section in ("receivers", "processors", "exporters"):
        assert set(generated[section]) == set(reference[section]), section
    assert generated["receivers"] == reference["receivers"]
    assert generated["processors"] == reference["processors"] | {
        "batch/sli": generated["processors"]["batch/sli"]
    }
    assert generated["service"] == reference["service"]
    emf, ref = generated["exporters"]["awsemf/sli"], reference["exporters"]["awsemf/sli"]
    assert emf["namespace"] == ref["namespace"] == "SLI"
    for key in ("dimension_rollup_option", "resource_to_telemetry_conversion"):
        assert emf[key] == ref[key]
    assert [d["dimensions"] for d in emf["metric_declarations"]] == [
        d["dimensions"] for d in ref["metric_declarations"]
    ]


def test_declarations_select_exactly_our_instruments_of_this_service() -> None:
    spec = SLOSpec("shop.v2", (journey("checkout"),))
    emf = build(spec, CollectorOptions(namespace="Shop/SLI"))["exporters"]["awsemf/sli"]
    assert emf["namespace"] == "Shop/SLI" and emf["log_group_name"] == "/metrics/sli/shop.v2"
    selected: dict[str, list[list[str]]] = {}
    for declaration in emf["metric_declarations"]:
        (matcher,) = declaration["label_matchers"]
        assert re.search(matcher["regex"], "shop.v2") and not re.search(matcher["regex"], "shopXv2")
        for pattern in declaration["metric_name_selectors"]:
            for name in INSTRUMENTS:
                if re.search(pattern, name):
                    selected.setdefault(name, []).extend(declaration["dimensions"])
            for other in ("sli.journey.requests.x", "http.server.duration", "sliXjourneyXslow"):
                assert not re.search(pattern, other)
    assert set(selected) == set(INSTRUMENTS)
    assert selected[c.DURATION] == [
        ["service.name", "sli.journey"],
        ["service.name", "sli.journey", "sli.outcome"],
    ]
    assert selected[c.REQUESTS] == [["service.name", "sli.journey"]]


def test_output_is_deterministic_yaml() -> None:
    text = render(shop_spec())
    assert text == render(shop_spec())
    assert yaml.safe_load(text) == build(shop_spec())
