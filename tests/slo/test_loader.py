"""The SLO file loader: what a valid file becomes, and the message each kind of mistake produces."""

from __future__ import annotations

import os
import textwrap

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sli_instrument.errors import ConfigurationError
from sli_instrument.slo import default_alerts, dump_slo, load_slo_file, parse_slo
from sli_instrument.slo.loader import WINDOWS, spec_to_data
from sli_instrument.slo.model import SLOSpec

pytestmark = pytest.mark.core

#: SLI_SLO_FUZZ=20 runs every fuzz and property test 20 times longer (a long form, not for CI).
FUZZ = int(os.environ.get("SLI_SLO_FUZZ", "1"))

FULL = """\
service: shop
description: The web shop
journey_cap: 10
defaults:
  window: 30d
  alerts:
    ticket:
      - {long: 3d, short: 6h, budget: 10%}
journeys:
  checkout:
    description: Pay for the cart
    availability: 99.9
    latency: {threshold: 300ms, target: 99}
    routes: ["/checkout", "/api/checkout/<id>"]
  search:
    availability: "99.5%"
    window: 7d
    expected_rate: 30/min
    alerts:
      page:
        - {long: 1h, burn_rate: 14.4}
      ticket: []
  browse:
    availability: 99
    window: calendar-month
"""


def parse(text: str, **kwargs: object) -> SLOSpec:
    return parse_slo(textwrap.dedent(text), "slo.yaml", **kwargs)  # type: ignore[arg-type]


def error_of(text: str, **kwargs: object) -> str:
    with pytest.raises(ConfigurationError) as caught:
        parse(text, **kwargs)
    return str(caught.value)


def test_full_file_becomes_the_typed_model() -> None:
    spec = parse(FULL)
    assert spec.service == "shop"
    assert spec.description == "The web shop"
    assert spec.journey_cap == 10
    assert spec.journey_names == ("checkout", "search", "browse")
    checkout = spec.journey("checkout")
    assert checkout.availability == 99.9
    assert checkout.error_budget == pytest.approx(0.001)
    assert checkout.latency is not None
    assert checkout.latency.threshold == pytest.approx(0.3)
    assert checkout.latency.target == 99.0
    assert checkout.window.label == "30d"
    assert checkout.window.seconds == 30 * 86400
    assert checkout.routes == ("/checkout", "/api/checkout/<id>")
    assert checkout.description == "Pay for the cart"
    assert checkout.line == 10
    # Defaults: the Workbook pages derived from 30 days, the ticket from defaults.alerts.
    assert [(a.severity, a.burn_rate) for a in checkout.alerts] == [
        ("page", pytest.approx(14.4)),
        ("page", pytest.approx(6.0)),
        ("ticket", pytest.approx(1.0)),
    ]
    search = spec.journey("search")
    assert search.availability == 99.5
    assert search.window.label == "7d"
    assert search.expected_rate == pytest.approx(0.5)
    # burn_rate 14.4 over 1h of a 7-day window burns 14.4 * 1 / 168 of the budget.
    (page,) = search.alerts
    assert page.budget_fraction == pytest.approx(14.4 / 168)
    assert page.short_window == 300  # 1/12 of the long window when not given
    browse = spec.journey("browse")
    assert browse.window.kind == "calendar-month"
    assert browse.window.seconds == 30 * 86400
    assert spec.route_map() == {"/checkout": "checkout", "/api/checkout/<id>": "checkout"}


def test_default_window_is_28_days_with_workbook_factors() -> None:
    spec = parse("service: a\njourneys: {x: {availability: 99.9}}\n")
    objective = spec.journey("x")
    assert objective.window.label == "28d"
    assert objective.alerts == default_alerts(objective.window)
    assert [round(a.burn_rate, 4) for a in objective.alerts] == [13.44, 5.6, 0.9333]
    assert objective.latency is None
    assert spec.warnings == ()


@pytest.mark.parametrize(
    ("written", "label"),
    [("7d", "7d"), ("1w", "7d"), ("14d", "14d"), ("4w", "28d"), ("672h", "28d"), ("30d", "30d")],
)
def test_windows_are_normalised(written: str, label: str) -> None:
    spec = parse(f"service: a\njourneys: {{x: {{availability: 99, window: {written}}}}}\n")
    assert spec.journey("x").window.label == label
    assert spec.journey("x").window.seconds == WINDOWS[label]


def test_load_from_file_names_the_file(tmp_path) -> None:
    path = tmp_path / "slo.yaml"
    path.write_text(FULL, encoding="utf-8")
    spec = load_slo_file(path)
    assert spec.source == str(path)
    assert spec == parse(FULL)
    bad = tmp_path / "bad.yaml"
    bad.write_text("service: shop\njourneys:\n  checkout: {availability: 100}\n")
    with pytest.raises(ConfigurationError, match=rf"^{bad}:3: journeys\.checkout\.availability"):
        load_slo_file(bad)


def test_round_trip_dump_and_parse() -> None:
    spec = parse(FULL)
    text = dump_slo(spec)
    again = parse_slo(text)
    assert again == spec
    assert dump_slo(again) == text
    # Default policies are not written out; overrides are.
    data = spec_to_data(spec)
    assert "alerts" not in data["journeys"]["browse"]
    assert data["journeys"]["search"]["alerts"]["ticket"] == []


def test_warning_for_an_alert_that_can_never_fire() -> None:
    spec = parse(
        """\
        service: a
        defaults: {window: 30d}
        journeys:
          legacy: {availability: 90}
        """
    )
    messages = [w for w in spec.warnings if "can never fire" in w]
    # 2%/1h (14.4 x 0.1 = 1.44) and 5%/6h (6 x 0.1 = 0.6 fires) -> only the first.
    assert len(messages) == 1
    assert messages[0].startswith("slo.yaml:4: journey 'legacy': the page alert '2% of the budget")
    assert "1.44" in messages[0]


def test_warning_for_low_traffic() -> None:
    spec = parse(
        """\
        service: a
        journeys:
          admin: {availability: 99.9, expected_rate: 10/h}
          busy: {availability: 99.9, expected_rate: 100}
        """
    )
    admin = [w for w in spec.warnings if "'admin'" in w]
    assert admin and all("single failure" in w for w in admin)
    assert not [w for w in spec.warnings if "'busy'" in w]


def test_merge_keys_may_be_overridden_but_not_duplicated() -> None:
    spec = parse(
        """\
        service: a
        journeys:
          base: &base {availability: 99, window: 7d}
          other:
            <<: *base
            availability: 99.5
        """
    )
    assert spec.journey("other").availability == 99.5
    assert spec.journey("other").window.label == "7d"


def test_journey_cap_defaults_to_the_argument_or_registry() -> None:
    text = "service: a\njourneys: {a: {availability: 99}, b: {availability: 99}}\n"
    assert len(parse(text).journeys) == 2
    message = error_of(text, journey_cap=1)
    assert message.startswith("slo.yaml:2: journeys.b: journey 'b' is number 2")
    assert "journey cap of 1" in message


# Each bad file -> the start of the message (file:line: field) and a fragment quoting the value.
BAD_FILES = {
    "unknown top-level key": (
        "service: a\njournies: {}\n",
        "slo.yaml:2: journies: unknown key 'journies'; did you mean 'journeys'?",
    ),
    "unknown journey key": (
        "service: a\njourneys:\n  x:\n    availabilty: 99\n",
        "slo.yaml:4: journeys.x.availabilty: unknown key 'availabilty'; did you mean "
        "'availability'?",
    ),
    "unknown key without a close match": (
        "service: a\njourneys:\n  x: {availability: 99, colour: red}\n",
        "slo.yaml:3: journeys.x.colour: unknown key 'colour'; known keys: description,",
    ),
    "objective of 100": (
        "service: a\njourneys:\n  x: {availability: 100}\n",
        "slo.yaml:3: journeys.x.availability: availability 100 is outside (0, 100)",
    ),
    "objective of 0": (
        "service: a\njourneys:\n  x: {availability: 0}\n",
        "slo.yaml:3: journeys.x.availability: availability 0 is outside (0, 100)",
    ),
    "negative objective": (
        "service: a\njourneys:\n  x: {availability: -5}\n",
        "slo.yaml:3: journeys.x.availability: availability -5 is outside (0, 100)",
    ),
    "objective as a fraction above 100 percent": (
        "service: a\njourneys:\n  x: {availability: 999}\n",
        "availability 999 is outside (0, 100)",
    ),
    "NaN objective": (
        "service: a\njourneys:\n  x: {availability: .nan}\n",
        "slo.yaml:3: journeys.x.availability: availability nan is outside (0, 100)",
    ),
    "objective that is not a number": (
        "service: a\njourneys:\n  x: {availability: high}\n",
        "slo.yaml:3: journeys.x.availability: availability 'high' is not a number",
    ),
    "latency target outside (0, 100)": (
        "service: a\njourneys:\n  x:\n    availability: 99\n"
        "    latency: {threshold: 1s, target: 100}\n",
        "slo.yaml:5: journeys.x.latency.target: latency target 100 is outside (0, 100)",
    ),
    "threshold without a unit": (
        "service: a\njourneys:\n  x:\n    availability: 99\n    latency:\n      threshold: '300'\n"
        "      target: 99\n",
        "slo.yaml:6: journeys.x.latency.threshold: invalid latency threshold '300'",
    ),
    "threshold that does not parse": (
        "service: a\njourneys:\n  x:\n    availability: 99\n"
        "    latency: {threshold: fast, target: 99}\n",
        "slo.yaml:5: journeys.x.latency.threshold: invalid latency threshold 'fast'",
    ),
    "negative threshold": (
        "service: a\njourneys:\n  x:\n    availability: 99\n"
        "    latency: {threshold: -1, target: 99}\n",
        "journeys.x.latency.threshold: invalid latency threshold -1",
    ),
    "latency target missing": (
        "service: a\njourneys:\n  x:\n    availability: 99\n    latency: {threshold: 300ms}\n",
        "slo.yaml:5: journeys.x.latency.target: missing",
    ),
    "duplicate journey": (
        "service: a\njourneys:\n  checkout: {availability: 99}\n  checkout: {availability: 98}\n",
        "slo.yaml:4: journeys.checkout: duplicate key 'checkout' (first written on line 3)",
    ),
    "duplicate key inside a journey": (
        "service: a\njourneys:\n  x:\n    availability: 99\n    availability: 98\n",
        "slo.yaml:5: journeys.x.availability: duplicate key 'availability' (first written "
        "on line 4)",
    ),
    "invalid journey name": (
        "service: a\njourneys:\n  check out: {availability: 99}\n",
        "slo.yaml:3: journeys.check out: invalid journey name 'check out'",
    ),
    "journey name that is not a string": (
        "service: a\njourneys:\n  123: {availability: 99}\n",
        "slo.yaml:3: journeys.123: invalid journey name 123",
    ),
    "journeys over the cap": (
        "service: a\njourney_cap: 2\njourneys:\n  a: {availability: 99}\n  b: {availability: 99}\n"
        "  c: {availability: 99}\n",
        "slo.yaml:6: journeys.c: journey 'c' is number 3, over the journey cap of 2",
    ),
    "bad journey cap": (
        "service: a\njourney_cap: zero\njourneys: {a: {availability: 99}}\n",
        "slo.yaml:2: journey_cap: journey cap 'zero' is not a whole number >= 1",
    ),
    "window not allowed": (
        "service: a\njourneys:\n  x: {availability: 99, window: 29d}\n",
        "slo.yaml:3: journeys.x.window: window '29d' is not one of 7d, 14d, 28d, 30d, "
        "calendar-month",
    ),
    "window misspelt": (
        "service: a\ndefaults: {window: calendar-moth}\njourneys:\n  x: {availability: 99}\n",
        "slo.yaml:2: defaults.window: window 'calendar-moth' is not one of 7d, 14d, 28d, 30d, "
        "calendar-month; did you mean 'calendar-month'?",
    ),
    "window as a number": (
        "service: a\njourneys:\n  x: {availability: 99, window: 28}\n",
        "slo.yaml:3: journeys.x.window: window 28 is not one of",
    ),
    "alert budget above 100%": (
        "service: a\njourneys:\n  x:\n    availability: 99\n    alerts:\n      page:\n"
        "        - {long: 1h, budget: 200%}\n",
        "slo.yaml:7: journeys.x.alerts.page[0].budget: budget '200%' is not a percentage",
    ),
    "alert budget that is not a percentage": (
        "service: a\njourneys:\n  x:\n    availability: 99\n    alerts:\n      page:\n"
        "        - {long: 1h, budget: lots}\n",
        "slo.yaml:7: journeys.x.alerts.page[0].budget: budget 'lots' is not a percentage",
    ),
    "alert with both budget and burn rate": (
        "service: a\njourneys:\n  x:\n    availability: 99\n    alerts:\n      page:\n"
        "        - {long: 1h, budget: 2%, burn_rate: 14.4}\n",
        "slo.yaml:7: journeys.x.alerts.page[0]: give exactly one of 'budget'",
    ),
    "alert burn rate that is not positive": (
        "service: a\njourneys:\n  x:\n    availability: 99\n    alerts:\n      ticket:\n"
        "        - {long: 1d, burn_rate: 0}\n",
        "slo.yaml:7: journeys.x.alerts.ticket[0].burn_rate: burn rate 0 is not a positive number",
    ),
    "short window not shorter than the long one": (
        "service: a\njourneys:\n  x:\n    availability: 99\n    alerts:\n      page:\n"
        "        - {long: 1h, short: 2h, budget: 2%}\n",
        "slo.yaml:7: journeys.x.alerts.page[0].short: short window '2h' must be shorter than the "
        "long window '1h'",
    ),
    "long window beyond the SLO window": (
        "service: a\njourneys:\n  x:\n    availability: 99\n    window: 7d\n    alerts:\n"
        "      ticket:\n        - {long: 14d, budget: 10%}\n",
        "slo.yaml:8: journeys.x.alerts.ticket[0].long: long window '14d' is longer than the SLO "
        "window '7d' (line 5)",
    ),
    "alert window under a minute": (
        "service: a\njourneys:\n  x:\n    availability: 99\n    alerts:\n      page:\n"
        "        - {long: 5m, short: 10s, budget: 1%}\n",
        "slo.yaml:7: journeys.x.alerts.page[0].short: short window '10s' is shorter than 1m",
    ),
    "unknown severity": (
        "service: a\njourneys:\n  x:\n    availability: 99\n    alerts:\n      pager: []\n",
        "slo.yaml:6: journeys.x.alerts.pager: unknown key 'pager'; did you mean 'page'?",
    ),
    "conditions not a list": (
        "service: a\njourneys:\n  x:\n    availability: 99\n    alerts: {page: 1h}\n",
        "slo.yaml:5: journeys.x.alerts.page: expected a list of conditions",
    ),
    "journeys as a list": (
        "service: a\njourneys:\n  - checkout\n",
        "slo.yaml:3: journeys: expected a mapping (journey name -> objectives), got list "
        "['checkout']",
    ),
    "journey as a scalar": (
        "service: a\njourneys:\n  checkout: 99.9\n",
        "slo.yaml:3: journeys.checkout: expected a mapping (availability: 99.9, ...), "
        "got float 99.9",
    ),
    "no journeys": ("service: a\njourneys: {}\n", "slo.yaml:2: journeys: no journeys"),
    "missing service": (
        "journeys:\n  x: {availability: 99}\n",
        "slo.yaml:1: service: missing; name the service",
    ),
    "invalid service name": (
        "service: my shop\njourneys: {x: {availability: 99}}\n",
        "slo.yaml:1: service: invalid service name 'my shop'",
    ),
    "missing availability": (
        "service: a\njourneys:\n  x:\n    window: 28d\n",
        "slo.yaml:4: journeys.x.availability: missing; give the objective",
    ),
    "missing journeys": ("service: a\n", "slo.yaml:1: journeys: missing"),
    "empty file": ("# nothing here\n", "slo.yaml:1: the SLO file is empty"),
    "not a mapping": ("- a\n- b\n", "slo.yaml:1: the SLO file must be a mapping"),
    "scalar file": ("just text\n", "slo.yaml:1: the SLO file must be a mapping"),
    "YAML syntax error": (
        "service: a\njourneys:\n  x: {availability: 99\n",
        "slo.yaml:4:1: invalid YAML",
    ),
    "bad indentation": (
        "service: a\njourneys:\n  x:\n    availability: 99\n   window: 7d\n",
        "slo.yaml:5:",
    ),
    "tab indentation": ("service: a\njourneys:\n\tx: {}\n", "slo.yaml:3:1: invalid YAML"),
    "python object tag": (
        "service: !!python/object/apply:os.system ['true']\njourneys: {}\n",
        "slo.yaml:1:10: invalid YAML",
    ),
    "unhashable key": ("? [a, b]\n: 1\n", "slo.yaml:1:3: invalid YAML"),
    "two documents": ("service: a\n---\nservice: b\n", "slo.yaml: holds 2 YAML documents"),
    "route not a path": (
        "service: a\njourneys:\n  x:\n    availability: 99\n    routes: [checkout]\n",
        "slo.yaml:5: journeys.x.routes[0]: route 'checkout' is not a route template",
    ),
    "route in two journeys": (
        "service: a\njourneys:\n  x:\n    availability: 99\n    routes: [/a]\n  y:\n"
        "    availability: 99\n    routes:\n      - /a\n",
        "slo.yaml:9: journeys.y.routes[0]: route '/a' already belongs to journey 'x' (line 5)",
    ),
    "route twice in one journey": (
        "service: a\njourneys:\n  x:\n    availability: 99\n    routes: [/a, /a]\n",
        "slo.yaml:5: journeys.x.routes[1]: route '/a' is listed twice",
    ),
    "unsupported version": (
        "version: 2\nservice: a\njourneys: {x: {availability: 99}}\n",
        "slo.yaml:1: version: version 2 is not supported",
    ),
    "bad expected rate": (
        "service: a\njourneys:\n  x: {availability: 99, expected_rate: lots}\n",
        "slo.yaml:3: journeys.x.expected_rate: expected rate 'lots' is not a positive request rate",
    ),
    "description not text": (
        "service: a\njourneys:\n  x: {availability: 99, description: [1]}\n",
        "slo.yaml:3: journeys.x.description: expected text, got list [1]",
    ),
    "defaults not a mapping": (
        "service: a\ndefaults: 28d\njourneys: {x: {availability: 99}}\n",
        "slo.yaml:2: defaults: expected a mapping",
    ),
    "bad default alert": (
        "service: a\ndefaults:\n  alerts:\n    page:\n      - {long: 1h}\n"
        "journeys: {x: {availability: 99}}\n",
        "slo.yaml:5: defaults.alerts.page[0]: give exactly one of 'budget'",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES), ids=sorted(BAD_FILES))
def test_bad_file_message(case: str) -> None:
    text, expected = BAD_FILES[case]
    with pytest.raises(ConfigurationError) as caught:
        parse_slo(text, "slo.yaml")
    message = str(caught.value)
    assert expected in message
    assert message.startswith("slo.yaml")
    assert "\n" not in message


def test_at_least_fifteen_kinds_of_bad_file() -> None:
    assert len(BAD_FILES) >= 15


def test_file_problems(tmp_path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(ConfigurationError, match=r"SLO file '.*missing\.yaml' not found"):
        load_slo_file(missing)
    with pytest.raises(ConfigurationError, match=r"is a directory, not a file"):
        load_slo_file(tmp_path)
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"service: \xff\xfe\n")
    with pytest.raises(ConfigurationError, match=r"binary\.yaml: not UTF-8 text \(byte 9"):
        load_slo_file(binary)
    with pytest.raises(ConfigurationError, match=r"SLO file path 3 is not a path"):
        load_slo_file(3)
    bom = tmp_path / "bom.yaml"
    bom.write_bytes("\ufeffservice: a\njourneys: {x: {availability: 99}}\n".encode())
    assert load_slo_file(bom).service == "a"


# -- fuzzing: whatever the text, only ConfigurationError escapes --------------------------------

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1000, 1000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["28d", "7d", "calendar-month", "300ms", "2%", "99.9%", "1h", "/a", "x y", ""]),
    st.text(max_size=8),
)
_KEYS = st.sampled_from(
    [
        "service",
        "journeys",
        "defaults",
        "journey_cap",
        "version",
        "description",
        "availability",
        "latency",
        "threshold",
        "target",
        "window",
        "alerts",
        "page",
        "ticket",
        "long",
        "short",
        "budget",
        "burn_rate",
        "routes",
        "expected_rate",
        "checkout",
    ]
)
_VALUES = st.recursive(
    _SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(_KEYS, children, max_size=5)
    ),
    max_leaves=25,
)


@settings(max_examples=200 * FUZZ, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_KEYS, _VALUES, max_size=6))
def test_fuzz_structured_files_raise_only_configuration_errors(data: dict) -> None:
    text = yaml.safe_dump(data)
    try:
        spec = parse_slo(text, "fuzz.yaml")
    except ConfigurationError as exc:
        assert str(exc).startswith("fuzz.yaml")
    else:
        assert parse_slo(dump_slo(spec)) == spec


@settings(max_examples=300 * FUZZ, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("ab: -[]{}\n\t#&*!|>'\"%@`,?0123456789.\x00\x85\u2028")),
        max_size=80,
    )
)
def test_fuzz_garbage_raises_only_configuration_errors(text: str) -> None:
    try:
        parse_slo(text, "fuzz.yaml")
    except ConfigurationError:
        pass


@settings(max_examples=150 * FUZZ, deadline=None)
@given(st.data())
def test_fuzz_mutated_valid_file(data: st.DataObject) -> None:
    lines = FULL.splitlines()
    index = data.draw(st.integers(0, len(lines) - 1))
    replacement = data.draw(st.text(max_size=20))
    lines[index] = data.draw(st.sampled_from([replacement, lines[index] + replacement, ""]))
    try:
        parse_slo("\n".join(lines), "fuzz.yaml")
    except ConfigurationError:
        pass


@settings(max_examples=100 * FUZZ, deadline=None)
@given(
    availability=st.floats(0.001, 99.999),
    target=st.floats(0.001, 99.999),
    threshold_ms=st.integers(1, 60_000),
    window=st.sampled_from(sorted(WINDOWS)),
    budget=st.decimals(min_value="0.01", max_value="100", places=2).map(str),
)
def test_round_trip_property(
    availability: float, target: float, threshold_ms: int, window: str, budget: str
) -> None:
    text = (
        f"service: s\njourneys:\n  j:\n    availability: {availability!r}\n"
        f"    latency: {{threshold: {threshold_ms}ms, target: {target!r}}}\n"
        f"    window: {window}\n    alerts: {{page: [{{long: 1h, budget: '{budget}%'}}]}}\n"
    )
    spec = parse_slo(text)
    assert parse_slo(dump_slo(spec)) == spec


def test_the_documented_example_is_valid() -> None:
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "slo-file.md").read_text()
    example = re.search(r"## A complete example\n\n```yaml\n(.*?)```", doc, re.S)
    assert example is not None
    spec = parse_slo(example.group(1), "slo.yaml")
    assert spec.journey_names == ("checkout", "search", "browse")
    assert spec.warnings == ()
    assert parse_slo(dump_slo(spec)) == spec


_LEAVES = st.one_of(
    _SCALARS,
    st.lists(_SCALARS, max_size=2),
    st.dictionaries(_KEYS, _SCALARS, max_size=2),
)


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
def test_fuzz_one_value_replaced_in_a_valid_file(data: st.DataObject) -> None:
    document = yaml.safe_load(FULL)
    paths = [p for p in _paths(document) if p]
    path = data.draw(st.sampled_from(paths))
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    if data.draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = data.draw(_LEAVES)
    try:
        spec = parse_slo(yaml.safe_dump(document), "fuzz.yaml")
    except ConfigurationError as exc:
        assert str(exc).startswith("fuzz.yaml")
    else:
        assert parse_slo(dump_slo(spec)) == spec


def test_messages_quote_huge_values_briefly() -> None:
    huge = "9" * 100_000
    for text in (
        f"service: a\njourneys:\n  x: {{availability: '{huge}'}}\n",
        f"service: a\njourneys:\n  '{huge}': {{availability: 99}}\n",
        f"service: a\n'{huge}': 1\njourneys: {{x: {{availability: 99}}}}\n",
        "service: a\njourneys:\n  x: {availability: 99, routes: [" + "1, " * 5000 + "]}\n",
    ):
        message = error_of(text)
        assert message.startswith("slo.yaml:")
        assert len(message) < 600
