"""sli_instrument.testing: what users write in their own tests reads naturally and is exact."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

import sli_instrument as sli
from sli_instrument import registry
from sli_instrument.config import current_configuration
from sli_instrument.testing import JourneyMetrics, journey_metrics, recording, reset_state

pytestmark = [pytest.mark.core, pytest.mark.usefixtures("sli_reset")]


class PaymentError(Exception):
    pass


def test_recording_reads_naturally() -> None:
    @sli.journey("checkout", latency_threshold="1s")
    def checkout(ok: bool) -> None:
        if not ok:
            raise PaymentError()

    with recording() as rec:
        checkout(True)
        with pytest.raises(PaymentError):
            checkout(False)
        m = rec.journey("checkout")
    assert (m.requests, m.failures, m.slow, m.successes) == (2, 1, 0, 1)
    assert m.availability == 0.5
    assert m.events == 2
    assert current_configuration() is None  # the block's pipeline is gone


def test_numbers_can_be_read_after_the_block() -> None:
    with recording() as rec:
        with sli.journey("after"):
            pass
    with sli.journey("after"):
        pass  # after the block: not part of the recording
    assert rec.journey("after").requests == 1


def test_recording_starts_from_zero_and_unknown_journeys_are_zero() -> None:
    handle = sli.journey("search")
    with recording() as rec:
        with handle:
            pass
    with recording() as rec:
        assert rec.journey("search").requests == 0
        assert rec.journey("never-registered") == JourneyMetrics()
        assert rec.journey("never-registered").availability is None


def test_recording_reuses_a_memory_configuration() -> None:
    config = sli.configure(exporter="memory", install_global=False)
    with recording() as rec:
        with sli.journey("x"):
            pass
        assert rec.journey("x").requests == 1
    assert current_configuration() is config  # not torn down: it was not ours


def test_journey_metrics_on_your_own_reader() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    sli.configure(meter_provider=provider)
    for _ in range(3):
        with sli.journey("own"):
            pass
    m = journey_metrics(reader.get_metrics_data())["own"]
    assert m.requests == 3 and m.duration_count == {"success": 3}
    assert journey_metrics(None) == {}
    provider.shutdown()


def test_reset_state_forgets_everything() -> None:
    sli.configure(exporter="memory", install_global=False)
    sli.journey("gone")
    reset_state()
    assert current_configuration() is None
    assert "gone" not in registry
    assert registry.cap == 100


def test_recording_works_under_a_global_provider_installed_by_someone_else() -> None:
    # e.g. the test process runs under opentelemetry-instrument: recording() stays private.
    import subprocess
    import sys
    from pathlib import Path

    code = """
from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
metrics.set_meter_provider(MeterProvider())
import sli_instrument as sli
from sli_instrument.testing import recording
with recording() as rec:
    with sli.journey("x"):
        pass
    assert rec.journey("x").requests == 1, rec.metrics()
print("ok")
"""
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
