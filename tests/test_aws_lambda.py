"""Lambda: every invocation ends with an export, whatever the handler did."""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import pytest

import sli_instrument as sli
from sli_instrument.aws_lambda import flush, flush_metrics
from sli_instrument.exporters.emf import EMFExporter

pytestmark = [pytest.mark.core, pytest.mark.usefixtures("sli_reset")]


def requests_written(stream: io.StringIO) -> int:
    total = 0
    for line in stream.getvalue().splitlines():
        document = json.loads(line)
        total += int(document.get("sli.journey.requests", 0))
    return total


class Declined(Exception):
    pass


def test_each_invocation_is_exported_before_the_handler_returns() -> None:
    stream = io.StringIO()
    # An hour-long interval: only the flush can have written anything.
    sli.configure(
        service_name="fn", exporter=EMFExporter(output=stream), export_interval="1h",
        install_global=False,
    )  # fmt: skip

    @flush_metrics
    @sli.journey("place-order")
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if event.get("fail"):
            raise Declined("no stock")
        return {"ok": True}

    assert handler({}, None) == {"ok": True}
    assert requests_written(stream) == 1
    with pytest.raises(Declined):  # the exception passes through unchanged, after the flush
        handler({"fail": True}, None)
    assert requests_written(stream) == 2
    failures = sum(
        json.loads(line).get("sli.journey.failures", 0) for line in stream.getvalue().splitlines()
    )
    assert failures == 1


def test_async_handler_and_timeout_option() -> None:
    stream = io.StringIO()
    sli.configure(
        service_name="fn", exporter=EMFExporter(output=stream), export_interval="1h",
        install_global=False,
    )  # fmt: skip

    @flush_metrics(timeout="500ms")
    @sli.journey("async-order")
    async def handler(event: Any, context: Any) -> str:
        return "done"

    assert asyncio.run(handler({}, None)) == "done"
    assert requests_written(stream) == 1


def test_flush_without_configuration_and_bad_timeout() -> None:
    assert flush() is True
    with pytest.raises(sli.ConfigurationError):
        flush_metrics(timeout="soon")
