"""The target registry: every target renders, deterministically, and unknown ones are refused."""

from __future__ import annotations

import pytest

from sli_instrument.generate import TARGETS, GenerateOptions, generate, target_names
from tests.support.slo_specs import shop_spec

CORE_TARGETS = [
    "cloudwatch-alarms",
    "application-signals",
    "cloudwatch-dashboard",
    "prometheus-rules",
    "collector-config",
]


def test_every_target_is_registered_and_renders_deterministically() -> None:
    names = target_names()
    assert names[: len(CORE_TARGETS)] == CORE_TARGETS
    for name in names:
        first = generate(name, shop_spec())
        assert first and first == generate(name, shop_spec()), name
        assert "/tmp" not in first and "/work" not in first


def test_format_choice_is_checked() -> None:
    assert generate("cloudwatch-alarms", shop_spec(), GenerateOptions(fmt="json")).startswith("{")
    with pytest.raises(ValueError, match="prometheus-rules"):
        generate("prometheus-rules", shop_spec(), GenerateOptions(fmt="json"))
    with pytest.raises(KeyError):
        generate("nagios", shop_spec())
    assert all(t.formats for t in TARGETS.values())
