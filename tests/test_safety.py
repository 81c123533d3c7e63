"""Our own faults are logged once per kind per interval, with a count of suppressed repeats."""

from __future__ import annotations

import logging

import pytest

from sli_instrument import _safety
from sli_instrument._safety import report_internal_error, reset_error_log

pytestmark = [pytest.mark.core, pytest.mark.usefixtures("sli_reset")]


def _records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "sli_instrument"]


def test_logged_once_per_kind_then_rate_limited(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, "sli_instrument")
    error = RuntimeError("boom")
    for _ in range(1000):
        report_internal_error("kind-a", error)
    report_internal_error("kind-b", None)
    records = _records(caplog)
    assert [r.getMessage().split("(")[1].split(")")[0] for r in records] == ["kind-a", "kind-b"]
    assert records[0].exc_info is not None and records[0].exc_info[1] is error
    assert records[1].exc_info is None
    assert "application is unaffected" in records[0].getMessage()


def test_repeats_are_reported_after_the_interval(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, "sli_instrument")
    report_internal_error("kind-c")
    for _ in range(41):
        report_internal_error("kind-c")
    # Let the interval pass without sleeping: age the last report.
    _safety._last["kind-c"] -= _safety.INTERVAL + 1
    report_internal_error("kind-c")
    records = _records(caplog)
    assert len(records) == 2
    assert "41 similar errors suppressed" in records[1].getMessage()


def test_reset_forgets_kinds(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, "sli_instrument")
    report_internal_error("kind-d")
    reset_error_log()
    report_internal_error("kind-d")
    assert len(_records(caplog)) == 2


def test_never_raises_even_when_logging_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(_safety.logger, "error", broken)
    report_internal_error("kind-e", ValueError("x"))  # returns normally
