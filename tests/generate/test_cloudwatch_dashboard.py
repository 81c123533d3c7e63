"""cloudwatch-dashboard: a valid dashboard body in a template that cfn-lint accepts."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from sli_instrument.generate.cloudwatch_dashboard import (
    DashboardOptions,
    body,
    build,
    dashboard_name,
    render,
)
from sli_instrument.slo.model import SLOSpec
from tests.support.slo_specs import journey, shop_spec
from tests.support.tools import assert_cfn_lint_clean

_ID = re.compile(r"^[a-z][A-Za-z0-9_]*$")
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FUNCTIONS = {"FILL"}


def check_body(data: dict[str, Any]) -> None:
    """The dashboard body rules CloudWatch documents that our generator could break."""
    assert set(data) == {"widgets"}
    cells: set[tuple[int, int]] = set()
    for widget in data["widgets"]:
        assert widget["type"] in {"metric", "text"}
        x, y, w, h = widget["x"], widget["y"], widget["width"], widget["height"]
        assert all(isinstance(v, int) for v in (x, y, w, h))
        assert 0 <= x and x + w <= 24 and 1 <= h <= 1000
        mine = {(cx, cy) for cx in range(x, x + w) for cy in range(y, y + h)}
        assert not (mine & cells), f"widgets overlap at {sorted(mine & cells)[:3]}"
        cells |= mine
        if widget["type"] == "text":
            assert widget["properties"]["markdown"]
            continue
        properties = widget["properties"]
        assert properties["view"] in {"timeSeries", "singleValue"}
        assert properties["region"] and properties["title"]
        ids: set[str] = set()
        expressions: list[str] = []
        for entry in properties["metrics"]:
            if isinstance(entry[0], dict):
                assert len(entry) == 1
                spec = entry[0]
                assert set(spec) <= {"expression", "id", "label", "visible", "yAxis"}
                expressions.append(spec["expression"])
            else:
                *names, options = entry
                assert isinstance(options, dict)
                namespace, metric, *dimensions = names
                assert namespace and metric.startswith("sli.journey.")
                assert len(dimensions) % 2 == 0
                assert dimensions[0::2] == ["service.name", "sli.journey"]
                assert set(options) <= {"id", "visible", "stat", "label", "period", "yAxis"}
                spec = options
            if "id" in spec:
                assert _ID.match(spec["id"]), spec["id"]
                assert spec["id"] not in ids, f"duplicate id {spec['id']}"
                ids.add(spec["id"])
        for expression in expressions:
            for token in _TOKEN.findall(expression):
                assert token in ids or token in _FUNCTIONS, f"{token} undefined in {expression}"


def test_body_structure() -> None:
    spec = SLOSpec(
        "shop",
        (*shop_spec().journeys, journey("browse-v2.x", 99.5, calendar=True)),
    )
    data = body(spec, DashboardOptions(region="eu-west-1", percentiles=True))
    check_body(data)
    titles = [w["properties"].get("title") for w in data["widgets"]]
    assert titles[1:5] == [
        "checkout: availability (objective 99.9%)",
        "checkout: latency (99% under 300ms)",
        "checkout: error budget remaining (28d)",
        "checkout: availability burn rates",
    ]
    budget = data["widgets"][3]["properties"]
    assert budget["view"] == "singleValue" and budget["setPeriodToTimeRange"] is True
    assert budget["start"] == "-PT672H"
    expressions = [m[0]["expression"] for m in budget["metrics"] if isinstance(m[0], dict)]
    assert expressions == [
        "100 * (1 - (FILL(failures, 0) / FILL(requests, 1)) / 0.001)",
        "100 * (1 - (FILL(slow, 0) / FILL(requests, 1)) / 0.01)",
    ]
    burn = data["widgets"][4]["properties"]
    assert [line["value"] for line in burn["annotations"]["horizontal"]] == [13.44, 5.6, 0.9333]


def test_body_only_output_is_the_json_body() -> None:
    options = DashboardOptions(region="us-east-1")
    text = render(shop_spec(), options, body_only=True)
    assert json.loads(text) == body(shop_spec(), options)
    with pytest.raises(ValueError, match="region"):
        render(shop_spec(), DashboardOptions(), body_only=True)


def test_template_passes_cfn_lint_and_embeds_the_body(tmp_path: Path) -> None:
    paths = []
    for fmt in ("yaml", "json"):
        path = tmp_path / f"dashboard.{fmt}"
        path.write_text(render(shop_spec(), DashboardOptions(namespace="Shop/SLI"), fmt=fmt))
        paths.append(path)
    assert_cfn_lint_clean(paths)
    resource = build(shop_spec())["Resources"]["ShopDashboard"]["Properties"]
    assert resource["DashboardName"] == dashboard_name("shop") == "sli-shop"
    substituted = (
        resource["DashboardBody"]["Fn::Sub"]
        .replace("${MetricNamespace}", "SLI")
        .replace("${AWS::Region}", "eu-west-1")
    )
    check_body(json.loads(substituted))
    assert render(shop_spec()) == render(shop_spec())
