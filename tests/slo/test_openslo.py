"""OpenSLO v1 import and export: round trips, foreign documents, and what cannot be imported."""

from __future__ import annotations

import os
import textwrap

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from sli_instrument.errors import ConfigurationError
from sli_instrument.slo import from_openslo, load_slo_file, parse_slo, to_openslo

pytestmark = pytest.mark.core

#: SLI_SLO_FUZZ=20 runs every fuzz and property test 20 times longer (a long form, not for CI).
FUZZ = int(os.environ.get("SLI_SLO_FUZZ", "1"))

SLO_FILE = """\
service: shop
journeys:
  checkout:
    description: Pay for the cart
    availability: 99.9
    latency: {threshold: 300ms, target: 99}
    window: calendar-month
    routes: ["/checkout", "/api/checkout/<id>"]
  Search_v2:
    availability: 99.5
    window: 7d
    expected_rate: 1/min
    alerts:
      page: [{long: 1h, short: 5m, budget: 2%}]
      ticket: []
"""

# The inline-indicator example of the OpenSLO v1 specification (good/total, Datadog).
FOREIGN = """\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: foo-slo
  displayName: Foo SLO
spec:
  service: foo
  indicator:
    metadata:
      name: foo-error
      displayName: Foo Error
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource:
            metricSourceRef: datadog-datasource
            type: Datadog
            spec:
              query: sum:trace.http.request.hits.by_http_status{http.status_code:200}.as_count()
        total:
          metricSource:
            metricSourceRef: datadog-datasource
            type: Datadog
            spec:
              query: sum:trace.http.request.hits.by_http_status{*}.as_count()
  timeWindow:
    - duration: 4w
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - displayName: Foo Total Errors
      target: 0.98
"""


def test_export_shape() -> None:
    spec = parse_slo(SLO_FILE)
    documents = list(yaml.safe_load_all(to_openslo(spec)))
    assert [d["kind"] for d in documents] == ["Service", "SLO", "SLO", "SLO"]
    assert all(d["apiVersion"] == "openslo/v1" for d in documents)
    availability = documents[1]
    assert availability["metadata"]["name"] == "shop-checkout-availability"
    assert availability["spec"]["service"] == "shop"
    assert availability["spec"]["budgetingMethod"] == "Occurrences"
    assert availability["spec"]["objectives"] == [
        {"displayName": "checkout availability", "target": 0.999}
    ]
    ratio = availability["spec"]["indicator"]["spec"]["ratioMetric"]
    assert ratio["counter"] is True
    assert "sli_journey_failures_total" in ratio["bad"]["metricSource"]["spec"]["query"]
    assert "sli_journey_requests_total" in ratio["total"]["metricSource"]["spec"]["query"]
    assert availability["spec"]["timeWindow"][0]["duration"] == "1M"
    assert availability["spec"]["timeWindow"][0]["isRolling"] is False
    latency = documents[2]
    assert latency["metadata"]["annotations"]["sli-instrument/latency-threshold"] == "300ms"
    assert latency["spec"]["objectives"][0]["target"] == 0.99
    assert (
        "sli_journey_slow_total"
        in (
            latency["spec"]["indicator"]["spec"]["ratioMetric"]["bad"]["metricSource"]["spec"][
                "query"
            ]
        )
    )
    # OpenSLO names are RFC 1123 labels; the journey's own name travels as an annotation.
    search = documents[3]
    assert search["metadata"]["name"] == "shop-search-v2-availability"
    assert search["metadata"]["annotations"]["sli-instrument/journey"] == "Search_v2"
    assert search["spec"]["timeWindow"] == [{"duration": "7d", "isRolling": True}]


def test_round_trip() -> None:
    spec = parse_slo(SLO_FILE)
    exported = to_openslo(spec)
    assert from_openslo(exported) == spec
    # The loader recognises OpenSLO on its own, and the export is deterministic.
    assert parse_slo(exported) == spec
    assert to_openslo(from_openslo(exported)) == exported


def test_round_trip_from_file(tmp_path) -> None:
    path = tmp_path / "openslo.yaml"
    path.write_text(to_openslo(parse_slo(SLO_FILE)))
    assert load_slo_file(path) == parse_slo(SLO_FILE)


@settings(max_examples=40 * FUZZ, deadline=None)
@given(
    st.dictionaries(
        st.from_regex(r"[A-Za-z0-9_.\-]{1,20}", fullmatch=True),
        st.tuples(
            st.floats(0.01, 99.99),
            st.sampled_from(["7d", "14d", "28d", "30d", "calendar-month"]),
            st.one_of(st.none(), st.tuples(st.integers(1, 10_000), st.floats(1.0, 99.9))),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_round_trip_property(journeys: dict) -> None:
    lines = ["service: svc", "journeys:"]
    for name, (availability, window, latency) in journeys.items():
        lines.append(f"  '{name}':")
        lines.append(f"    availability: {availability!r}")
        lines.append(f"    window: {window}")
        if latency is not None:
            lines.append(f"    latency: {{threshold: {latency[0]}ms, target: {latency[1]!r}}}")
    spec = parse_slo("\n".join(lines) + "\n")
    assert from_openslo(to_openslo(spec)) == spec


def test_foreign_good_total_slo() -> None:
    spec = from_openslo(FOREIGN, "foo.yaml")
    assert spec.service == "foo"
    (journey,) = spec.journeys
    assert journey.name == "foo-slo"
    assert journey.availability == 98.0
    assert journey.window.label == "28d"
    assert journey.latency is None
    assert [round(a.burn_rate, 2) for a in journey.alerts] == [13.44, 5.6, 0.93]


def test_indicator_ref_to_an_sli_document() -> None:
    text = textwrap.dedent(
        """\
        apiVersion: openslo/v1
        kind: SLI
        metadata: {name: errors}
        spec:
          ratioMetric:
            bad: {metricSource: {type: Prometheus, spec: {query: errors}}}
            total: {metricSource: {type: Prometheus, spec: {query: total}}}
        ---
        apiVersion: openslo/v1
        kind: SLO
        metadata: {name: login}
        spec:
          service: auth
          indicatorRef: errors
          budgetingMethod: Occurrences
          objectives: [{targetPercent: 99.95}]
          alertPolicies: [{alertPolicyRef: pager}]
        """
    )
    spec = from_openslo(text, "auth.yaml")
    assert spec.journey("login").availability == 99.95
    assert spec.journey("login").window.label == "28d"
    assert any("alertPolicies were not imported" in w for w in spec.warnings)


def _foreign(**replacements: str) -> str:
    text = FOREIGN
    for old, new in replacements.items():
        text = text.replace(old.replace("_", " "), new)
    return text


BAD = {
    "timeslices": (
        FOREIGN.replace("Occurrences", "Timeslices"),
        "foo.yaml:30: SLO foo-slo.spec.budgetingMethod: budgetingMethod 'Timeslices' cannot be "
        "imported",
    ),
    "threshold metric": (
        FOREIGN.replace("ratioMetric:", "thresholdMetric:"),
        "foo.yaml:13: SLO foo-slo.spec.indicator.spec: only ratioMetric indicators",
    ),
    "unsupported window": (
        FOREIGN.replace("duration: 4w", "duration: 5d"),
        "foo.yaml:28: SLO foo-slo.spec.timeWindow[0]: time window",
    ),
    "old api version": (
        FOREIGN.replace("openslo/v1", "openslo/v1alpha"),
        "foo.yaml:1: document 1.apiVersion: apiVersion 'openslo/v1alpha' is not supported",
    ),
    "target out of range": (
        FOREIGN.replace("target: 0.98", "target: 98"),
        "foo.yaml:33: SLO foo-slo.spec.objectives[0].target: target 98 is not a fraction in (0, 1)",
    ),
    "two objectives": (
        FOREIGN + "    - target: 0.9\n",
        "foo.yaml:32: SLO foo-slo.spec.objectives: expected exactly one objective",
    ),
    "good and bad": (
        FOREIGN.replace("        total:", "        bad: {}\n        total:", 1),
        "SLO foo-slo.spec.indicator.spec.ratioMetric: needs 'total' and exactly one of",
    ),
    "missing ref": (
        FOREIGN.replace("  indicator:\n", "  indicatorRef: nope\n  unused:\n"),
        "foo.yaml:8: SLO foo-slo.spec.indicatorRef: no kind: SLI named 'nope'",
    ),
    "unknown kind": (
        FOREIGN.replace("kind: SLO", "kind: Dashboard"),
        "foo.yaml:2: document 1.kind: kind 'Dashboard' is not an OpenSLO kind",
    ),
    "no SLO": (
        "apiVersion: openslo/v1\nkind: Service\nmetadata: {name: x}\n",
        "foo.yaml: no OpenSLO 'kind: SLO' document",
    ),
    "two services": (
        FOREIGN
        + "---\n"
        + FOREIGN.replace("foo-slo", "bar-slo").replace("service: foo", "service: bar"),
        "SLO bar-slo.spec.service: service 'bar' differs from 'foo' (line 7)",
    ),
    "same journey twice": (
        FOREIGN + "---\n" + FOREIGN,
        "SLO foo-slo: a second availability SLO for journey 'foo-slo' (the first is on line",
    ),
    "objective outside (0, 100) via targetPercent": (
        FOREIGN.replace("target: 0.98", "targetPercent: 100"),
        "foo.yaml:33: journeys.foo-slo.availability: availability 100 is outside (0, 100)",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD), ids=sorted(BAD))
def test_what_cannot_be_imported(case: str) -> None:
    text, expected = BAD[case]
    with pytest.raises(ConfigurationError) as caught:
        from_openslo(text, "foo.yaml")
    assert expected in str(caught.value)
    assert str(caught.value).startswith("foo.yaml")


# -- fuzzing: a valid export with one value replaced still fails only as ConfigurationError -------

_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 200),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["1M", "4w", "Timeslices", "SLO", "SLI", "openslo/v1", "[1]", '{"a": 1}', ""]),
    st.text(max_size=6),
    st.lists(st.integers(0, 3), max_size=2),
    st.dictionaries(st.sampled_from(["duration", "target", "spec"]), st.integers(), max_size=2),
)


_EXPORTED = to_openslo(parse_slo(SLO_FILE))
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_FAST_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


@settings(max_examples=200 * FUZZ, deadline=None)
@given(st.data())
def test_fuzz_mutated_export(data: st.DataObject) -> None:
    documents = list(yaml.load_all(_EXPORTED, Loader=_FAST_LOADER))
    paths = [p for p in _paths(documents) if p]
    path = data.draw(st.sampled_from(paths))
    parent = documents
    for key in path[:-1]:
        parent = parent[key]
    if data.draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = data.draw(_LEAVES)
    text = yaml.dump_all(documents, Dumper=_FAST_DUMPER)
    try:
        from_openslo(text, "fuzz.yaml")
    except ConfigurationError as exc:
        assert str(exc).startswith("fuzz.yaml")
