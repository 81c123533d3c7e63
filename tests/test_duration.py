"""Durations written by people: numbers are seconds, strings need a unit; nonsense is rejected."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sli_instrument import ConfigurationError
from sli_instrument._duration import format_duration, parse_duration

pytestmark = pytest.mark.core


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (0.3, 0.3),
        (2, 2.0),
        ("300ms", 0.3),
        ("1.5s", 1.5),
        (" 2 s ", 2.0),
        (".5s", 0.5),
        ("250us", 0.00025),
        ("250\u00b5s", 0.00025),
        ("2m", 120.0),
        ("2min", 120.0),
        ("1h", 3600.0),
        ("28d", 28 * 86400.0),
        ("1w", 7 * 86400.0),
    ],
)
def test_accepted_forms(value: object, seconds: float) -> None:
    assert parse_duration(value) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (0, "greater than zero"),
        (0.0, "greater than zero"),
        (-1, "greater than zero"),
        ("0ms", "greater than zero"),
        ("-5s", "use seconds"),
        ("300", "use seconds"),
        ("fast", "use seconds"),
        ("1.5 parsecs", "use seconds"),
        ("", "use seconds"),
        (math.nan, "finite"),
        (math.inf, "finite"),
        (True, "use seconds"),
        (None, "of type NoneType"),
        ([0.3], "of type list"),
    ],
)
def test_rejected_values_quote_value_what_and_source(bad: object, reason: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_duration(bad, what="latency threshold of journey 'checkout'", source="slo.yaml:7")
    message = str(info.value)
    assert repr(bad) in message
    assert "latency threshold of journey 'checkout'" in message
    assert "slo.yaml:7" in message
    assert reason in message


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.3, "300ms"), (1.0, "1s"), (1.5, "1500ms"), (60.0, "1m"), (3600.0, "1h"), (86400.0, "1d")],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == pytest.approx(seconds)


@given(st.integers(min_value=1, max_value=10**7))
def test_format_then_parse_round_trips_whole_milliseconds(ms: int) -> None:
    seconds = ms / 1000
    assert parse_duration(format_duration(seconds)) == pytest.approx(seconds)
