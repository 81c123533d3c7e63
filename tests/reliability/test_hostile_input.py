"""Hostile input, in process: random and adversarial requests through the WSGI and ASGI middleware.

Each request carries a canary string in its path, query, headers and baggage. Checked over every
generated request (hypothesis):

* the response (status, headers, body) or the exception is exactly the bare app's;
* exactly one event per request, and only journeys the code registered have series (no client
  chooses a series: unknown journeys in baggage, unknown paths, huge or malformed headers);
* no canary, and so no raw path, query, header or baggage value, in the exported metrics, in the
  spans (a tracer provider with an in-memory exporter), in the outgoing baggage, or in any log
  record of any logger (OpenTelemetry's included), and no internal error was logged.
"""

from __future__ import annotations

import asyncio
import io
import logging
import string
from collections.abc import Iterator
from typing import Any, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry import baggage as otel_baggage
from opentelemetry import propagate
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import sli_instrument as sli
from conftest import save_result
from sli_instrument.asgi import ASGIMiddleware
from sli_instrument.testing import recording
from sli_instrument.wsgi import WSGIMiddleware

pytestmark = [pytest.mark.core, pytest.mark.usefixtures("sli_reset")]

CANARY = "zqxcanary"
ALLOWED_BAGGAGE = ("checkout", "search")
EXAMPLES = 250

# -- what a client may send ----------------------------------------------------------------------

_ascii = st.text(alphabet=string.printable, max_size=60)
_any_text = st.text(max_size=60)  # any Unicode, surrogates excluded
_latin1 = st.text(alphabet=st.characters(max_codepoint=255), max_size=60)


def _with_canary(strategy: Any) -> Any:
    return st.builds(lambda a, b: a + CANARY + b, strategy, strategy)


paths = st.one_of(
    st.builds(lambda s: "/" + s, _with_canary(_latin1)),
    st.builds(lambda s: "/checkout/" + s, _with_canary(_ascii)),
    st.builds(lambda s: "/cart/" + s, _with_canary(_ascii)),  # a route-map pattern
    st.builds(lambda n, s: "/" + "a/" * n + s, st.integers(0, 3000), _with_canary(_ascii)),
    st.builds(lambda s: "/%2e%2e/" + s + "%00%ff", _with_canary(_ascii)),
    st.just("/" + CANARY * 2000),  # 18 KB path
)
methods = st.one_of(
    st.sampled_from(["GET", "POST", "HEAD", "OPTIONS", "DELETE", "PATCH", "TRACE", "CONNECT"]),
    st.text(alphabet=string.ascii_letters + "-_!#$%&'*+.^`|~", min_size=1, max_size=20),
    st.just("X" * 5000),
)
baggage_values = st.one_of(
    st.sampled_from(
        [
            "sli.journey=checkout",
            "sli.journey=search",
            "sli.journey=browse",  # registered, but not on the allowlist
            "sli.journey=unclaimed",
            "sli.journey=" + CANARY,
            "sli.journey=check%6Fut",
            "sli.journey=checkout;prop=" + CANARY,
            "sli.journey=checkout,sli.journey=" + CANARY,
            "sli.journey=" + CANARY + ",sli.journey=checkout",
            "sli.journey",
            "sli.journey=",
            "=;,,=",
            "sli.journey=%ZZ" + CANARY,
            "sli.journey=çheckout" + CANARY,
            CANARY + " no equals sign, sli.journey=checkout",
            "sli.journey=checkout, " + CANARY + "=\x00bad",
            "sli.journey=" + "x" * 10_000 + CANARY,  # oversized
            ",".join(f"k{i}={CANARY}" for i in range(1000)) + ",sli.journey=checkout",
        ]
    ),
    st.builds(lambda s: "sli.journey=" + s, _with_canary(_latin1)),
    _with_canary(_latin1),
)
header_names = st.text(alphabet=string.ascii_uppercase + "_-", min_size=1, max_size=30)
headers = st.dictionaries(header_names, _with_canary(_latin1), max_size=30)
queries = _with_canary(_latin1)


@st.composite
def requests(draw: Any) -> dict[str, Any]:
    many = draw(st.integers(0, 3))
    extra = draw(headers)
    if many == 3:  # very many headers
        extra.update({f"X_MANY_{i}": CANARY for i in range(500)})
    return {
        "method": draw(methods),
        "path": draw(paths),
        "query": draw(queries),
        "headers": extra,
        "baggage": draw(st.one_of(st.none(), baggage_values)),
        "unicode_header": draw(_with_canary(_any_text)),
    }


# -- the apps ------------------------------------------------------------------------------------


class AppError(Exception):
    pass


def _outgoing_journey() -> Optional[str]:
    """What an instrumented HTTP client would send downstream: the journey in our baggage."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    header = carrier.get("baggage", "")
    assert CANARY not in header, header
    value = otel_baggage.get_baggage("sli.journey", W3CBaggagePropagator().extract(carrier))
    return value if isinstance(value, str) else None


def make_wsgi_app(outgoing: list[Optional[str]]) -> Any:
    checkout = sli.journey("checkout", latency_threshold="300ms")

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/checkout"):
            with checkout:
                outgoing.append(_outgoing_journey())
        else:
            outgoing.append(_outgoing_journey())
        if path.endswith("boom"):
            raise AppError("the app's own error")
        body = f"{environ.get('REQUEST_METHOD')} {len(path)} {len(environ)}".encode()
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-Len", str(len(body)))])
        return [body, b"\n"]

    return app


def make_asgi_app(outgoing: list[Optional[str]]) -> Any:
    checkout = sli.journey("checkout", latency_threshold="300ms")

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        path = scope["path"]
        if path.startswith("/checkout"):
            async with checkout:
                await asyncio.sleep(0)
                outgoing.append(_outgoing_journey())
        else:
            outgoing.append(_outgoing_journey())
        if path.endswith("boom"):
            raise AppError("the app's own error")
        body = f"{scope['method']} {len(path)} {len(scope['headers'])}".encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain")],
            }
        )
        await send({"type": "http.response.body", "body": body, "more_body": True})
        await send({"type": "http.response.body", "body": b"\n"})

    return app


ROUTES = {"/cart/<item>": "cart", "/static/*": "static"}


def _known() -> set[str]:
    return {"checkout", "search", "cart", "static", "unclaimed"}


# -- observation ---------------------------------------------------------------------------------


class _Everything(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def all_logs() -> Iterator[_Everything]:
    handler = _Everything()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    # Loggers with their own level (OpenTelemetry's, ours) still propagate to the root handler.
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def _assert_no_leak(
    rec: Any, spans: InMemorySpanExporter, logs: _Everything, outgoing: list[Optional[str]]
) -> dict[str, Any]:
    metrics = rec.metrics()
    data = rec._reader.get_metrics_data()
    assert CANARY not in str(data), "a client value reached the metrics"
    assert set(metrics) <= _known(), f"series a client chose: {set(metrics) - _known()}"
    assert set(sli.registry.names()) <= _known(), sli.registry.names()
    for span in spans.get_finished_spans():
        attributes = dict(span.attributes or {})
        assert set(attributes) <= {"sli.journey"}, attributes
        assert attributes.get("sli.journey", "checkout") in _known(), attributes
        assert CANARY not in span.name
    assert all(j is None or j in _known() for j in outgoing), set(outgoing)
    for record in logs.records:
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        assert CANARY not in text, f"{record.name}: {text[:300]}"
        assert "internal error" not in text, text[:500]
    return metrics


def test_wsgi_middleware_under_hostile_requests(all_logs: _Everything) -> None:
    outgoing: list[Optional[str]] = []
    bare = make_wsgi_app(outgoing)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("hostile")
    served = {"n": 0}
    with recording() as rec:
        app = WSGIMiddleware(bare, routes=ROUTES, baggage_journeys=ALLOWED_BAGGAGE)

        def call(wsgi: Any, environ: dict[str, Any]) -> tuple[Any, ...]:
            seen: list[Any] = []

            def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
                seen.append((status, list(headers)))

            try:
                result = wsgi(environ, start_response)
                try:
                    body = b"".join(result)
                finally:
                    if hasattr(result, "close"):
                        result.close()
            except AppError as exc:
                return ("raised", type(exc), str(exc))
            return ("ok", seen, body)

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        @given(requests(), st.booleans())
        def one(req: dict[str, Any], boom: bool) -> None:
            path = req["path"] + ("boom" if boom else "")
            environ: dict[str, Any] = {
                "REQUEST_METHOD": req["method"],
                "PATH_INFO": path,
                "QUERY_STRING": req["query"],
                "SERVER_NAME": "localhost",
                "SERVER_PORT": "80",
                "SERVER_PROTOCOL": "HTTP/1.1",
                "wsgi.url_scheme": "http",
                "wsgi.input": io.BytesIO(b""),
                "wsgi.errors": io.StringIO(),
                "HTTP_X_UNICODE": req["unicode_header"],
            }
            environ.update({"HTTP_" + k: v for k, v in req["headers"].items()})
            if req["baggage"] is not None:
                environ["HTTP_BAGGAGE"] = req["baggage"]
            expected = call(bare, dict(environ))
            with tracer.start_as_current_span("request"):
                got = call(app, dict(environ))
            served["n"] += 1
            # Outside a request scope the bare app's ``with checkout:`` is an event of its own.
            served["n"] += path.startswith("/checkout")
            assert got == expected

        one()
        metrics = _assert_no_leak(rec, exporter, all_logs, outgoing)
    total = sum(m.requests for m in metrics.values())
    assert total == served["n"], (total, served["n"])
    _save("hostile_wsgi_in_process", served["n"], metrics, exporter, all_logs)


def _save(name: str, served: int, metrics: Any, spans: Any, logs: Any) -> None:
    save_result(
        name,
        {
            "events_recorded": served,
            "series": sorted(metrics),
            "spans_checked": len(spans.get_finished_spans()),
            "log_records_checked": len(logs.records),
            "log_records_by_logger": _by_logger(logs.records),
        },
    )


def _by_logger(records: list[logging.LogRecord]) -> dict[str, int]:
    out: dict[str, int] = {}
    for record in records:
        out[record.name] = out.get(record.name, 0) + 1
    return out


def test_asgi_middleware_under_hostile_requests(all_logs: _Everything) -> None:
    outgoing: list[Optional[str]] = []
    bare = make_asgi_app(outgoing)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("hostile")
    served = {"n": 0}
    loop = asyncio.new_event_loop()
    try:
        with recording() as rec:
            app = ASGIMiddleware(bare, routes=ROUTES, baggage_journeys=ALLOWED_BAGGAGE)

            async def call(asgi: Any, scope: dict[str, Any]) -> tuple[Any, ...]:
                sent: list[Any] = []

                async def receive() -> Any:
                    return {"type": "http.request", "body": b"", "more_body": False}

                async def send(message: Any) -> None:
                    sent.append(message)

                try:
                    await asgi(scope, receive, send)
                except AppError as exc:
                    return ("raised", type(exc), str(exc), sent)
                return ("ok", sent)

            def run(asgi: Any, scope: dict[str, Any], span: bool) -> tuple[Any, ...]:
                if span:
                    with tracer.start_as_current_span("request"):
                        return loop.run_until_complete(call(asgi, scope))
                return loop.run_until_complete(call(asgi, scope))

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                database=None,
            )
            @given(requests(), st.booleans())
            def one(req: dict[str, Any], boom: bool) -> None:
                path = req["path"] + ("boom" if boom else "")
                raw_headers = [
                    (k.lower().replace("_", "-").encode("latin-1"), v.encode("latin-1"))
                    for k, v in req["headers"].items()
                ]
                raw_headers.append((b"x-unicode", req["unicode_header"].encode("utf-8")))
                if req["baggage"] is not None:
                    raw_headers.append((b"baggage", req["baggage"].encode("latin-1")))
                scope = {
                    "type": "http",
                    "asgi": {"version": "3.0"},
                    "http_version": "1.1",
                    "method": req["method"],
                    "scheme": "http",
                    "path": path,
                    "raw_path": path.encode("utf-8", "surrogatepass"),
                    "query_string": req["query"].encode("latin-1"),
                    "root_path": "",
                    "headers": raw_headers,
                    "client": ("127.0.0.1", 5000),
                    "server": ("127.0.0.1", 80),
                }
                expected = run(bare, dict(scope), span=False)
                got = run(app, dict(scope), span=True)
                served["n"] += 1
                served["n"] += path.startswith("/checkout")
                assert got == expected

            one()
            metrics = _assert_no_leak(rec, exporter, all_logs, outgoing)
        total = sum(m.requests for m in metrics.values())
        assert total == served["n"], (total, served["n"])
        _save("hostile_asgi_in_process", served["n"], metrics, exporter, all_logs)
    finally:
        loop.close()
