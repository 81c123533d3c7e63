"""Fixtures shared by every test directory.

``sli_reset``: opt in (``pytestmark = pytest.mark.usefixtures("sli_reset")`` or as an argument) to
start a test with no configuration, no journeys, no counts and a fresh internal-error log, and to
leave it that way. Clearing the registry forgets journeys decorated at import time in the test
module: decorate inside the test (or re-register) when you use it.

``otlp_receiver``: a started :class:`tests.support.otlp_receiver.OTLPReceiver` (gRPC and HTTP on
loopback), stopped after the test.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# `tests` has no __init__.py: make `tests.support` importable from any rootdir invocation.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.support.otlp_receiver import OTLPReceiver  # noqa: E402


def _reset() -> None:
    from sli_instrument.testing import reset_state

    reset_state()


@pytest.fixture
def sli_reset() -> Iterator[None]:
    _reset()
    yield
    _reset()


@pytest.fixture
def otlp_receiver() -> Iterator[OTLPReceiver]:
    receiver = OTLPReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()
