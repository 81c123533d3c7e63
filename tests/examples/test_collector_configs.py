"""The ADOT collector configurations in examples/collector/: valid, and matching our contract.

Checked against the components' documented schemas (tests/support/collector_schemas.py, encoded from
opentelemetry-collector-contrib's config.schema.yaml files): every key known, every value of the
right type; the pipelines wire only components that are defined; receivers listen on all
interfaces; every metric declaration selects instruments of ours and every instrument is selected.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")

from tests.support.collector_schemas import COMPONENTS  # noqa: E402

jsonschema = pytest.importorskip("jsonschema")  # not a core dependency

from sli_instrument import _contract as c  # noqa: E402

pytestmark = pytest.mark.core

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples" / "collector"
INSTRUMENTS = (c.REQUESTS, c.FAILURES, c.SLOW, c.ABORTED, c.DURATION, c.TTFB)
COUNTERS = (c.REQUESTS, c.FAILURES, c.SLOW, c.ABORTED)


def collector_configs() -> dict[str, dict[str, Any]]:
    configs: dict[str, dict[str, Any]] = {}
    configs["ecs-sidecar.yaml"] = yaml.safe_load((EXAMPLES / "ecs-sidecar.yaml").read_text())
    documents = list(yaml.safe_load_all((EXAMPLES / "eks-daemonset.yaml").read_text()))
    (config_map,) = [d for d in documents if d and d["kind"] == "ConfigMap"]
    configs["eks-daemonset.yaml"] = yaml.safe_load(config_map["data"]["collector.yaml"])
    return configs


CONFIGS = collector_configs()


def test_both_variants_exist() -> None:
    assert set(CONFIGS) == {"ecs-sidecar.yaml", "eks-daemonset.yaml"}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_components_follow_their_documented_schema(name: str) -> None:
    config = CONFIGS[name]
    checked = 0
    for section in ("receivers", "processors", "exporters"):
        for component_id, settings in (config.get(section) or {}).items():
            kind = component_id.split("/", 1)[0]
            if kind in COMPONENTS:
                jsonschema.validate(settings, COMPONENTS[kind])
                checked += 1
    assert checked >= 4  # awsemf, awsxray, cumulativetodelta, batch


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_pipelines_use_defined_components_and_receivers_bind_all_interfaces(name: str) -> None:
    config = CONFIGS[name]
    pipelines = config["service"]["pipelines"]
    assert set(pipelines) == {"metrics", "traces"}
    for pipeline in pipelines.values():
        for section in ("receivers", "processors", "exporters"):
            for component_id in pipeline.get(section, []):
                assert component_id in config[section], f"{component_id} is not defined"
    protocols = config["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"] == "0.0.0.0:4317"
    assert protocols["http"]["endpoint"] == "0.0.0.0:4318"
    # metrics reach awsemf only after the delta conversion; traces reach awsxray
    metrics = pipelines["metrics"]
    assert [p.split("/")[0] for p in metrics["processors"]][0] == "cumulativetodelta"
    assert [e.split("/")[0] for e in metrics["exporters"]] == ["awsemf"]
    assert [e.split("/")[0] for e in pipelines["traces"]["exporters"]] == ["awsxray"]


def _one(config: dict[str, Any], section: str, kind: str) -> dict[str, Any]:
    (settings,) = [v for k, v in config[section].items() if k.split("/", 1)[0] == kind]
    return settings  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_awsemf_declarations_match_our_instruments(name: str) -> None:
    emf = _one(CONFIGS[name], "exporters", "awsemf")
    assert emf["namespace"] and emf["log_group_name"]
    assert emf["dimension_rollup_option"] == "NoDimensionRollup"
    assert emf["resource_to_telemetry_conversion"] == {"enabled": True}
    selected: dict[str, list[list[str]]] = {}
    for declaration in emf["metric_declarations"]:
        for selector in declaration["metric_name_selectors"]:
            pattern = re.compile(selector)  # awsemf: Go regexp.MatchString (a search)
            matched = [n for n in INSTRUMENTS if pattern.search(n)]
            assert matched, f"selector {selector!r} matches none of our instruments"
            for instrument in matched:
                selected.setdefault(instrument, []).extend(declaration["dimensions"])
    assert set(selected) == set(INSTRUMENTS), "every instrument is declared"
    for instrument, dimension_sets in selected.items():
        assert ["service.name", c.ATTR_JOURNEY] in dimension_sets, instrument
        for dimension_set in dimension_sets:
            assert dimension_set[:2] == ["service.name", c.ATTR_JOURNEY]
            assert set(dimension_set) <= {"service.name", c.ATTR_JOURNEY, c.ATTR_OUTCOME}
            if c.ATTR_OUTCOME in dimension_set:
                assert instrument == c.DURATION  # only the duration histogram has sli.outcome
    for counter in COUNTERS:
        assert selected[counter] == [["service.name", c.ATTR_JOURNEY]]


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_delta_conversion_covers_every_instrument(name: str) -> None:
    delta = _one(CONFIGS[name], "processors", "cumulativetodelta")
    include = delta["include"]
    if include["match_type"] == "regexp":
        assert all(any(re.search(p, n) for p in include["metrics"]) for n in INSTRUMENTS)
    else:
        assert set(INSTRUMENTS) <= set(include["metrics"])
    assert delta["initial_value"] == "auto"
    assert delta["max_staleness"] != "0"  # bounded state as workers come and go


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_awsxray_indexes_the_journey(name: str) -> None:
    xray = _one(CONFIGS[name], "exporters", "awsxray")
    assert xray["indexed_attributes"] == [c.ATTR_JOURNEY]
    # X-Ray turns the dot into an underscore: that is the annotation our docs and the SDK use.
    assert c.ATTR_JOURNEY.replace(".", "_") == c.XRAY_ANNOTATION


def test_schema_rejects_an_invented_key() -> None:
    bad = {**_one(CONFIGS["ecs-sidecar.yaml"], "exporters", "awsemf"), "dimension_rollup": "x"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, COMPONENTS["awsemf"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"indexed_attribute": ["x"]}, COMPONENTS["awsxray"])


def test_daemonset_mounts_the_config_and_exposes_otlp_on_the_node() -> None:
    documents = list(yaml.safe_load_all((EXAMPLES / "eks-daemonset.yaml").read_text()))
    (daemonset,) = [d for d in documents if d and d["kind"] == "DaemonSet"]
    (config_map,) = [d for d in documents if d and d["kind"] == "ConfigMap"]
    spec = daemonset["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert {(p["containerPort"], p["hostPort"]) for p in container["ports"]} == {
        (4317, 4317),
        (4318, 4318),
    }
    (volume,) = spec["volumes"]
    assert volume["configMap"]["name"] == config_map["metadata"]["name"]
    mount = container["volumeMounts"][0]
    assert mount["name"] == volume["name"]
    path = volume["configMap"]["items"][0]["path"]
    assert f"--config={mount['mountPath']}/{path}" in container["args"]


@pytest.mark.parametrize("path", ["ecs-sidecar.yaml", "eks-daemonset.yaml"])
def test_every_setting_line_is_documented(path: str) -> None:
    lines = (EXAMPLES / path).read_text().splitlines()
    # the ECS file is the line-by-line reference: every key line of a top-level section carries a
    # comment, except list items and the block's obvious structure keys
    if path != "ecs-sidecar.yaml":
        return
    undocumented = [
        line
        for line in lines
        if line.strip()
        and not line.lstrip().startswith(("#", "-"))
        and "#" not in line
        and line.strip() not in ("receivers:", "processors:", "exporters:", "service:")
        and not line.strip().startswith(
            (
                "metric_name_selectors:",
                "pipelines:",
                "receivers: [",
                "processors: [",
                "exporters: [",
            )
        )
    ]
    assert not undocumented, undocumented
