"""Journey names: 1-64 characters from [A-Za-z0-9_.-], errors quote the value, rule and source."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sli_instrument import ConfigurationError
from sli_instrument._names import (
    MAX_NAME_LENGTH,
    NAME_RULE,
    is_valid_journey_name,
    validate_journey_name,
)

pytestmark = pytest.mark.core

ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"


@pytest.mark.parametrize(
    "name", ["checkout", "a", "Sign-In", "search.v2", "cart_add", "0", "x" * MAX_NAME_LENGTH]
)
def test_valid_names_are_returned_unchanged(name: str) -> None:
    assert validate_journey_name(name) == name
    assert is_valid_journey_name(name)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "x" * (MAX_NAME_LENGTH + 1),
        "check out",
        "checkout\n",
        "caf\u00e9",
        "a/b",
        "a:b",
        "a,b",
        "${journey}",
        None,
        42,
        b"checkout",
        ["checkout"],
    ],
)
def test_invalid_names_raise_quoting_value_rule_and_source(bad: object) -> None:
    with pytest.raises(ConfigurationError) as info:
        validate_journey_name(bad, source="slo.yaml:12")
    message = str(info.value)
    assert repr(bad) in message
    assert NAME_RULE in message
    assert "slo.yaml:12" in message
    assert isinstance(info.value, ValueError)
    assert not is_valid_journey_name(bad)


def test_rule_names_the_backends_it_protects() -> None:
    assert "[A-Za-z0-9_.-]" in NAME_RULE
    assert "64" in NAME_RULE
    assert "CloudWatch" in NAME_RULE and "X-Ray" in NAME_RULE


@given(st.text(alphabet=ALPHABET, min_size=1, max_size=MAX_NAME_LENGTH))
def test_every_name_from_the_alphabet_is_valid(name: str) -> None:
    assert validate_journey_name(name) == name


@given(st.text(min_size=1, max_size=80))
def test_validity_matches_the_rule(name: str) -> None:
    expected = len(name) <= MAX_NAME_LENGTH and all(ch in ALPHABET for ch in name)
    assert is_valid_journey_name(name) is expected
