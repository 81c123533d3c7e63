"""configure(traces=True): X-Ray trace ids, X-Ray propagation beside W3C, spans on the wire.

The end-to-end checks run the app in its own process (the global tracer provider and propagator
can be installed once per process) and decode the spans it exports from the OTLP receiver.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from sli_instrument._xray_ids import XRayIdGenerator
from tests.support.otlp_receiver import OTLPReceiver, spans

ROOT = Path(__file__).resolve().parent.parent
XRAY_ROOT = "5759e988bd862e3fe1be46a994272793"
XRAY_HEADER = (
    f"X-Amzn-Trace-Id|Root=1-{XRAY_ROOT[:8]}-{XRAY_ROOT[8:]};Parent=53995c3f42cd8ad8;Sampled=1"
)
W3C_TRACE = "0af7651916cd43dd8448eb211c80319c"
W3C_HEADER = f"traceparent|00-{W3C_TRACE}-b7ad6b7169203331-01"


def _generators() -> list[Any]:
    generators: list[Any] = [XRayIdGenerator()]
    try:
        from opentelemetry.sdk.extension.aws.trace import AwsXRayIdGenerator

        generators.append(AwsXRayIdGenerator())
    except ImportError:  # the xray extra is not installed: only our fallback is tested
        pass
    return generators


@pytest.mark.core
@pytest.mark.parametrize("generator", _generators(), ids=lambda g: type(g).__name__)
def test_trace_ids_start_with_the_epoch_second_as_xray_requires(generator: Any) -> None:
    before = int(time.time())
    ids = [generator.generate_trace_id() for _ in range(2000)]
    after = int(time.time())
    assert len(set(ids)) == len(ids)
    for trace_id in ids:
        assert 0 < trace_id < 2**128
        assert before <= trace_id >> 96 <= after  # epoch seconds, as in 1-58406520-...
        text = f"{trace_id:032x}"
        assert len(text) == 32
    span_ids = {generator.generate_span_id() for _ in range(2000)}
    assert len(span_ids) == 2000 and all(0 < s < 2**64 for s in span_ids)


def _run(receiver: OTLPReceiver, *requests: str, **env: str) -> dict[str, Any]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SLI_"))}
    full_env.update(
        PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        SLI_EXPORTER="otlp",
        SLI_TRACES="true",
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.http_endpoint,
        OTEL_BSP_SCHEDULE_DELAY="100",
        **env,
    )
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "support" / "traced_app.py"), *requests],
        env=full_env, capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _server_spans(receiver: OTLPReceiver, count: int) -> list[Any]:
    receiver.wait_for(lambda r: len(spans(r.traces)) >= count, timeout=15)
    return spans(receiver.traces, resource={"service.name": "traced"})


@pytest.mark.slow
def test_spans_carry_the_journey_and_continue_xray_and_w3c_traces(
    otlp_receiver: OTLPReceiver,
) -> None:
    started = int(time.time())
    described = _run(otlp_receiver, "/checkout", f"/checkout|{XRAY_HEADER}", f"/other|{W3C_HEADER}")
    # Default propagation: W3C trace context and baggage, plus the X-Ray header.
    assert described["fields"] == ["X-Amzn-Trace-Id", "baggage", "traceparent", "tracestate"]
    server = _server_spans(otlp_receiver, 3)
    assert len(server) == 3
    by_trace = {s.trace_id: s for s in server}
    assert XRAY_ROOT in by_trace, "the X-Ray header's trace continues"
    assert W3C_TRACE in by_trace, "the traceparent header's trace continues"
    assert by_trace[XRAY_ROOT].attributes["sli.journey"] == "checkout"
    # No journey claimed the request: it is recorded under the reserved journey when it ends,
    # which may be after the server span closed; no other journey is ever invented for it.
    assert by_trace[W3C_TRACE].attributes.get("sli.journey") in (None, "unclaimed")
    (fresh,) = [s for s in server if s.trace_id not in (XRAY_ROOT, W3C_TRACE)]
    assert fresh.attributes["sli.journey"] == "checkout"
    assert started - 2 <= int(fresh.trace_id[:8], 16) <= time.time() + 2, "X-Ray id epoch"


@pytest.mark.slow
def test_otel_propagators_is_respected(otlp_receiver: OTLPReceiver) -> None:
    described = _run(
        otlp_receiver, f"/checkout|{XRAY_HEADER}", OTEL_PROPAGATORS="tracecontext,baggage"
    )
    assert described["fields"] == ["baggage", "traceparent", "tracestate"]
    (span,) = _server_spans(otlp_receiver, 1)
    assert span.trace_id != XRAY_ROOT  # the X-Ray header is not read when not asked for
    assert span.attributes["sli.journey"] == "checkout"


@pytest.mark.core
@pytest.mark.parametrize(
    ("exporter", "endpoint", "env", "expected"),
    [
        ("otlp", None, {}, "otlp"),
        ("console", None, {}, "console"),
        ("memory", None, {}, "none"),
        ("emf", None, {}, "none"),
        # Lambda: EMF metrics on stdout, spans to the ADOT layer's collector.
        ("emf", None, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4318"}, "otlp"),
        ("memory", "http://localhost:4318", {}, "otlp"),
        ("otlp", None, {"OTEL_TRACES_EXPORTER": "none"}, "none"),
        ("emf", None, {"OTEL_TRACES_EXPORTER": "console"}, "console"),
    ],
)
def test_where_spans_go(
    monkeypatch: pytest.MonkeyPatch,
    exporter: str,
    endpoint: Any,
    env: dict[str, str],
    expected: str,
) -> None:
    from types import SimpleNamespace

    from sli_instrument._tracing import span_destination

    for name in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT",
                 "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = SimpleNamespace(exporter=exporter, endpoint=endpoint)
    assert span_destination(settings) == expected
