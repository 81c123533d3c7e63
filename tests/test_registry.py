"""The journey registry: validated names and options, idempotent registration, conflicts, cap."""

from __future__ import annotations

import pytest

from sli_instrument import ConfigurationError, registry
from sli_instrument._contract import UNCLAIMED_JOURNEY
from sli_instrument._registry import DEFAULT_JOURNEY_CAP, DEFAULT_LATENCY_THRESHOLD, Journey

pytestmark = [pytest.mark.core, pytest.mark.usefixtures("sli_reset")]


class CardDeclined(Exception):
    pass


def test_register_returns_the_same_journey_every_time() -> None:
    first = registry.register("checkout", latency_threshold="300ms", source="a.py:1")
    again = registry.register("checkout", source="b.py:2")
    same_options = registry.register("checkout", latency_threshold=0.3, source="c.py:3")
    assert first is again is same_options
    assert isinstance(first, Journey)
    assert first.latency_threshold == pytest.approx(0.3)
    assert registry.get("checkout") is first
    assert "checkout" in registry
    assert registry.names() == ["checkout"]
    assert first.sources["latency_threshold"] == "a.py:1"


def test_options_are_stored() -> None:
    def classify(status: object, exc: object, scope: object) -> bool:
        return False

    journey = registry.register(
        "pay",
        latency_threshold="1.5s",
        success_exceptions=[CardDeclined],
        enabled=False,
        failure_statuses={500, 503},
        classifier=classify,
    )
    assert journey.latency_threshold == 1.5
    assert journey.has_own_threshold
    assert journey.success_exceptions == (CardDeclined,)
    assert journey.enabled is False
    assert journey.failure_statuses == frozenset({500, 503})
    assert journey.classifier is classify
    assert registry.register("single", success_exceptions=CardDeclined).success_exceptions == (
        CardDeclined,
    )


def test_default_threshold_applies_until_a_journey_has_its_own() -> None:
    journey = registry.register("search")
    assert not journey.has_own_threshold
    assert journey.latency_threshold == DEFAULT_LATENCY_THRESHOLD
    registry.set_default_latency_threshold("250ms")
    assert journey.latency_threshold == pytest.approx(0.25)
    assert journey.stats.threshold == pytest.approx(0.25)  # the recorder follows
    with pytest.raises(ConfigurationError, match=r"'soon'.*from SLI_LATENCY_THRESHOLD"):
        registry.set_default_latency_threshold("soon", source="SLI_LATENCY_THRESHOLD")


@pytest.mark.parametrize(
    ("option", "first", "second"),
    [
        ("latency_threshold", "300ms", "500ms"),
        ("enabled", True, False),
        ("failure_statuses", {500}, {502}),
        ("success_exceptions", CardDeclined, KeyError),
    ],
)
def test_conflicting_options_raise_naming_both_sources(
    option: str, first: object, second: object
) -> None:
    registry.register("checkout", source="views.py:10", **{option: first})
    with pytest.raises(ConfigurationError) as info:
        registry.register("checkout", source="api.py:20", **{option: second})
    message = str(info.value)
    assert f"conflicting {option} for journey 'checkout'" in message
    assert "views.py:10" in message and "api.py:20" in message


def test_later_registration_may_complete_options() -> None:
    journey = registry.register("browse", source="a")
    registry.register("browse", latency_threshold="2s", source="b")
    assert journey.latency_threshold == 2.0


def test_override_threshold_is_the_slo_file_single_source_of_truth() -> None:
    journey = registry.register("checkout", latency_threshold="300ms", source="views.py:1")
    registry.override_threshold("checkout", 0.5, source="slo.yaml:4")
    assert journey.latency_threshold == 0.5
    assert journey.sources["latency_threshold"] == "slo.yaml:4"
    assert journey.stats.threshold == 0.5


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"latency_threshold": -1}, "greater than zero"),
        ({"latency_threshold": 0}, "greater than zero"),
        ({"latency_threshold": "quick"}, "'quick'"),
        ({"success_exceptions": "ValueError"}, "must be exception classes"),
        ({"success_exceptions": [ValueError, 3]}, "entry 3"),
        ({"success_exceptions": [int]}, "entry <class 'int'>"),
        ({"enabled": "yes"}, "invalid enabled flag 'yes'"),
        ({"failure_statuses": "500"}, "collection of HTTP status codes"),
        ({"failure_statuses": 500}, "collection of HTTP status codes"),
        ({"failure_statuses": [700]}, "invalid HTTP status 700"),
        ({"failure_statuses": [True]}, "invalid HTTP status True"),
        ({"classifier": "strict"}, "invalid classifier 'strict'"),
    ],
)
def test_bad_options_raise_quoting_value_and_source(options: dict, fragment: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        registry.register("checkout", source="shop/views.py:3", **options)
    assert fragment in str(info.value)
    assert "shop/views.py:3" in str(info.value)
    assert "checkout" not in registry  # nothing half-registered


def test_bad_name_raises_before_anything_is_registered() -> None:
    with pytest.raises(ConfigurationError, match=r"invalid journey name 'check out' \(from x\)"):
        registry.register("check out", source="x")
    assert len(registry) == 0


def test_cap_default_and_overflow_is_a_configuration_error() -> None:
    assert registry.cap == DEFAULT_JOURNEY_CAP == 100
    for i in range(100):
        registry.register(f"j{i}")
    registry.register(UNCLAIMED_JOURNEY)  # reserved: never counts against the cap
    registry.register("j5")  # existing names are fine at the cap
    with pytest.raises(ConfigurationError) as info:
        registry.register("one-too-many", source="routes.py:9")
    message = str(info.value)
    assert "'one-too-many'" in message and "cap of 100" in message and "routes.py:9" in message
    assert "SLI_JOURNEY_CAP" in message
    assert "one-too-many" not in registry
    assert len(registry) == 101


def test_cap_is_configurable_and_validated() -> None:
    registry.set_cap(2)
    registry.register("a")
    registry.register("b")
    with pytest.raises(ConfigurationError, match="cap of 2"):
        registry.register("c")
    with pytest.raises(
        ConfigurationError, match=r"journey cap 1 \(from SLI_JOURNEY_CAP\) is below"
    ):
        registry.set_cap(1, source="SLI_JOURNEY_CAP")
    for bad in (0, -3, 2.5, "10", True, None):
        with pytest.raises(ConfigurationError, match=rf"invalid journey cap {bad!r}"):
            registry.set_cap(bad)


def test_listeners_see_existing_and_new_journeys() -> None:
    seen: list[str] = []
    registry.register("first")
    registry.add_listener(lambda journey: seen.append(journey.name))
    try:
        registry.register("second")
        assert seen[:2] == ["first", "second"]
    finally:
        registry._listeners.pop()


def test_every_journey_gets_stats_from_the_recorder() -> None:
    journey = registry.register("checkout")
    assert journey.stats is not None
    assert journey.stats.journey is journey
    assert (journey.stats.requests, journey.stats.failures, journey.stats.slow) == (0, 0, 0)
