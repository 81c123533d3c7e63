"""Library warnings are kept off the live view, then summed up in one line."""

from __future__ import annotations

import io
import logging

import pytest

from sli_instrument.demo.logs import CapturedLogs

pytestmark = pytest.mark.core


def test_captures_then_restores(capsys):
    logger = logging.getLogger("opentelemetry.exporter.test")
    parent = logging.getLogger("opentelemetry")
    before = parent.propagate
    with CapturedLogs("opentelemetry") as logs:
        logger.warning("export failed: %s", "connection refused")
        logger.warning("export failed again\nsecond line")
        logger.info("not a warning")
    assert parent.propagate == before and logs not in parent.handlers
    assert capsys.readouterr().err == ""  # nothing reached the screen while captured
    err = io.StringIO()
    logs.summarize(err)
    assert err.getvalue() == (
        "demo: 2 warning(s) from the libraries during the run; the last: "
        "opentelemetry.exporter.test: export failed again second line\n"
    )
    quiet = io.StringIO()
    CapturedLogs("x").summarize(quiet)
    assert quiet.getvalue() == ""
