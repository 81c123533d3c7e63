"""Hostile configuration: journey names and SLO files from a fuzzer, and files built to exhaust the
loader (alias bombs, deep nesting, huge files).

The SLO loader's own suite fuzzes its grammar (tests/slo/test_loader.py); this tier checks the
paths an application takes at start-up, ``sli.journey(name)`` and ``configure(slo_file=...)``:
whatever the input, the outcome is a working configuration or a ``ConfigurationError`` whose
message quotes where the problem is, within a bounded time and without touching the registry
when the input is rejected.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sli_instrument as sli
from sli_instrument import ConfigurationError
from sli_instrument._names import is_valid_journey_name
from sli_instrument.testing import reset_state

pytestmark = [pytest.mark.core, pytest.mark.usefixtures("sli_reset")]

_FUZZ = settings(
    max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None
)


@_FUZZ
@given(st.one_of(st.text(max_size=100), st.binary(max_size=20), st.integers()))
def test_journey_names_from_a_fuzzer(name: Any) -> None:
    before = sli.registry.names()
    if is_valid_journey_name(name):
        handle = sli.journey(name)
        assert handle.name == name and name in sli.registry.names()
        return
    with pytest.raises(ConfigurationError) as error:
        sli.journey(name)
    message = str(error.value)
    assert repr(name)[:40] in message
    assert "journey" in message and "test_hostile_config.py" in message, message
    assert sli.registry.names() == before


_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**30), 10**30),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=30),
        st.sampled_from(["300ms", "28d", "1h", "99.9", "-1s", "0", "1e999", "calendar-month"]),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


def _valid() -> dict[str, Any]:
    return {
        "version": 1,
        "service": "shop",
        "journeys": {
            "checkout": {"availability": 99.9, "latency": {"threshold": "300ms", "target": 99}},
            "search": {"availability": 99.5},
        },
    }


@st.composite
def slo_documents(draw: Any) -> Any:
    """A valid SLO file with one value, anywhere, replaced by anything YAML can hold."""
    doc = _valid()
    paths: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in list(node):
                paths.append((node, key))
                walk(node[key])

    walk(doc)
    for _ in range(draw(st.integers(1, 3))):
        parent, key = draw(st.sampled_from(paths))
        if draw(st.booleans()):
            parent[key] = draw(_values)
        else:
            parent[draw(st.text(max_size=12))] = draw(_values)
    return doc


@_FUZZ
@given(slo_documents())
def test_configure_with_fuzzed_slo_files(tmp_path_factory: Any, doc: Any) -> None:
    path = tmp_path_factory.mktemp("slo") / "slo.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    reset_state()
    start = time.perf_counter()
    try:
        config = sli.configure(exporter="none", slo_file=str(path), install_global=False)
    except ConfigurationError as error:
        message = str(error)
        assert str(path) in message, message
        assert message.strip() and len(message) < 2000, message
        assert "Traceback" not in message
    else:
        assert config.slo is not None
        for objective in config.slo.journeys:
            assert objective.name in sli.registry.names()
    finally:
        sli.shutdown()
    assert time.perf_counter() - start < 2.0


def _load(path: Path) -> tuple[str, float]:
    reset_state()
    start = time.perf_counter()
    try:
        sli.configure(exporter="none", slo_file=str(path), install_global=False)
        outcome = "ok"
    except ConfigurationError as error:
        outcome = str(error)
    finally:
        sli.shutdown()
    return outcome, time.perf_counter() - start


def _alias_bomb(where: str, levels: int = 9) -> str:
    """9 levels of 9 aliases: a few hundred bytes, 9**9 items when written out."""
    items = ['&a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        items.append(f"&a{i} [" + ",".join(f"*a{i - 1}" for _ in range(9)) + "]")
    return where.replace("BOMB", "[" + ", ".join(items) + "]")


_JOURNEY = "service: shop\njourneys:\n  checkout:\n    availability: 99.9\n"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("alias bomb as a description", _alias_bomb(_JOURNEY + "    description: BOMB\n")),
        ("alias bomb as availability", _alias_bomb(_JOURNEY.replace("99.9", "BOMB"))),
        ("alias bomb as the service", _alias_bomb("service: BOMB\njourneys: {}\n")),
        ("alias bomb as journeys", _alias_bomb("service: shop\njourneys: BOMB\n")),
        ("alias bomb as routes", _alias_bomb(_JOURNEY + "    routes: BOMB\n")),
        ("deep nesting", "service: shop\njourneys: " + "[" * 1200 + "]" * 1200 + "\n"),
        (
            "deep mapping",
            "service: shop\njourneys:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 400)),
        ),
        (
            "many journeys",
            "service: shop\njourneys:\n"
            + "".join(f"  j{i}:\n    availability: 99.9\n" for i in range(1000)),
        ),
        ("huge string", "service: shop\ndescription: " + "x" * 1_000_000 + "\njourneys: {}\n"),
        ("5000-digit number", "service: shop\njourney_cap: " + "9" * 5000 + "\njourneys: {}\n"),
        ("python tag", "!!python/object/apply:os.system ['echo pwned']\n"),
        ("binary", "\x00\x01\x02service: shop"),
        ("empty", ""),
        ("only a comment", "# nothing\n"),
        ("unicode journey", "service: shop\njourneys:\n  çheckout:\n    availability: 99.9\n"),
    ],
)
def test_slo_files_built_to_exhaust_the_loader(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / "slo.yaml"
    path.write_text(content)
    outcome, seconds = _load(path)
    assert seconds < 10.0, f"{name}: took {seconds:.1f}s"
    assert outcome != "ok", f"{name}: accepted"
    assert str(path) in outcome, f"{name}: {outcome[:300]}"
    assert len(outcome) < 1000, f"{name}: message of {len(outcome)} characters"
    assert "pwned" not in outcome or name == "python tag"


def test_slo_file_that_is_not_a_file(tmp_path: Path) -> None:
    for path in (tmp_path / "missing.yaml", tmp_path):
        outcome, _ = _load(path)
        assert outcome != "ok" and str(path) in outcome, outcome
