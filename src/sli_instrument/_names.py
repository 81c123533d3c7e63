"""Journey-name rules, shared by the registry, the SLO loader and the X-Ray integration."""

from __future__ import annotations

import re
from typing import Final

from .errors import ConfigurationError

MAX_NAME_LENGTH: Final = 64
_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
NAME_RULE: Final = (
    f"a journey name is 1 to {MAX_NAME_LENGTH} characters from [A-Za-z0-9_.-] "
    "(so it is a valid CloudWatch dimension value and X-Ray annotation value)"
)


def is_valid_journey_name(name: object) -> bool:
    return isinstance(name, str) and _NAME.fullmatch(name) is not None


def validate_journey_name(name: object, *, source: str = "argument") -> str:
    """Return ``name`` if it follows the rule, else raise quoting the value, rule and source."""
    if not is_valid_journey_name(name):
        raise ConfigurationError(f"invalid journey name {name!r} (from {source}): {NAME_RULE}")
    assert isinstance(name, str)
    return name
