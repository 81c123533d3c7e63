"""WSGIMiddleware driven by hand, as a WSGI server would (PEP 3333): one event per request,
streaming-correct latency and TTFB, aborted responses, journeys from every source, bounded
cardinality, span attribute and outgoing baggage, and an application that cannot tell we are there.
"""

from __future__ import annotations

import io
import logging
import time
from typing import Any, Optional
from wsgiref.util import setup_testing_defaults

import pytest
from opentelemetry import baggage, propagate
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import sli_instrument as sli
from sli_instrument import ConfigurationError, WSGIMiddleware
from sli_instrument._context import current_scope
from sli_instrument.testing import recording

pytestmark = [pytest.mark.core, pytest.mark.usefixtures("sli_reset", "pipeline")]


@pytest.fixture
def pipeline(sli_reset: None) -> Any:
    # One in-memory pipeline for the whole test: each ``with recording()`` block below starts
    # from zero and its numbers stay readable after the block.
    with recording() as rec:
        yield rec


class Served:
    def __init__(self) -> None:
        self.status: Optional[str] = None
        self.headers: Any = None
        self.body = b""


def serve(
    app: Any,
    path: str = "/",
    *,
    headers: Optional[dict[str, str]] = None,
    chunks: Optional[int] = None,
) -> Served:
    """Call ``app`` like a server: start_response, iterate (``chunks`` at most), close."""
    environ: dict[str, Any] = {"PATH_INFO": path, "wsgi.input": io.BytesIO()}
    setup_testing_defaults(environ)
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    served = Served()

    def start_response(status: str, response_headers: Any, exc_info: Any = None) -> Any:
        served.status, served.headers = status, response_headers
        return lambda data: None

    result = app(environ, start_response)
    try:
        for index, chunk in enumerate(result):
            served.body += chunk
            if chunks is not None and index + 1 >= chunks:
                break
    finally:
        if hasattr(result, "close"):
            result.close()
    return served


def text_app(status: str = "200 OK", body: bytes = b"hello") -> Any:
    def app(environ: Any, start_response: Any) -> Any:
        start_response(status, [("Content-Type", "text/plain"), ("X-App", "1")])
        return [body]

    return app


def test_one_event_per_request_and_the_response_is_unchanged():
    bare = text_app()
    wrapped = WSGIMiddleware(bare)
    with recording() as rec:
        for _ in range(3):
            assert vars(serve(wrapped)) == vars(serve(bare))
    metrics = rec.journey("unclaimed")
    assert (metrics.requests, metrics.failures, metrics.slow, metrics.aborted) == (3, 0, 0, 0)
    # One chunk: no separate TTFB (it would repeat the duration).
    assert metrics.events == 3 and metrics.ttfb_count == 0


def test_the_body_keeps_len_so_servers_can_set_content_length():
    wrapped = WSGIMiddleware(text_app())
    environ: dict[str, Any] = {}
    setup_testing_defaults(environ)
    with recording():
        result = wrapped(environ, lambda status, headers, exc_info=None: None)
        assert len(result) == 1
        result.close()

    def generator_app(environ: Any, start_response: Any) -> Any:
        start_response("200 OK", [])
        yield b"x"

    with recording():
        result = WSGIMiddleware(generator_app)(environ, lambda *a: None)
        assert not hasattr(result, "__len__")
        result.close()


def test_streaming_latency_runs_to_the_last_chunk_and_ttfb_to_the_first():
    def streaming(environ: Any, start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", "text/csv")])
        yield b"header\n"
        for _ in range(5):
            time.sleep(0.1)
            yield b"row\n"

    with recording() as rec:
        served = serve(WSGIMiddleware(streaming))
    assert served.body == b"header\n" + b"row\n" * 5
    metrics = rec.journey("unclaimed")
    assert metrics.requests == 1
    assert metrics.duration_sum["success"] >= 0.5
    assert metrics.ttfb_count == 1 and metrics.ttfb_sum < 0.1


def test_an_exception_while_iterating_is_a_failure_and_propagates_unchanged():
    error = ValueError("broken stream")

    def failing(environ: Any, start_response: Any) -> Any:
        start_response("200 OK", [])
        yield b"first"
        raise error

    with recording() as rec:
        with pytest.raises(ValueError) as info:
            serve(WSGIMiddleware(failing))
    assert info.value is error
    metrics = rec.journey("unclaimed")
    assert (metrics.requests, metrics.failures) == (1, 1)


def test_an_application_exception_propagates_unchanged_and_fails():
    error = KeyError("missing")

    def raising(environ: Any, start_response: Any) -> Any:
        raise error

    with recording() as rec:
        with pytest.raises(KeyError) as info:
            serve(WSGIMiddleware(raising))
    assert info.value is error
    assert rec.journey("unclaimed").failures == 1
    assert current_scope() is None


def test_a_body_closed_before_it_is_exhausted_is_aborted():
    def long_stream(environ: Any, start_response: Any) -> Any:
        start_response("200 OK", [])
        for _ in range(100):
            yield b"chunk"

    with recording() as rec:
        served = serve(WSGIMiddleware(long_stream), chunks=2)
    assert served.body == b"chunkchunk"
    metrics = rec.journey("unclaimed")
    assert (metrics.requests, metrics.failures, metrics.aborted) == (0, 0, 1)
    assert metrics.duration_count.get("aborted") == 1 and metrics.events == 1


def test_statuses_and_classifiers_decide_the_outcome(caplog):
    def by_path(environ: Any, start_response: Any) -> Any:
        status = environ["PATH_INFO"].strip("/")
        start_response(f"{status} Whatever", [])
        return [b""]

    sli.journey("strict", failure_statuses={404})
    wrapped = WSGIMiddleware(by_path, routes={"/404": "strict"}, failure_statuses={500, 503})
    with recording() as rec:
        for status in ("200", "404", "429", "500", "502", "503"):
            serve(wrapped, f"/{status}")
    assert rec.journey("unclaimed").requests == 5
    assert rec.journey("unclaimed").failures == 2  # 500 and 503; 502 is not in the set
    assert rec.journey("strict").failures == 1  # the journey's own set

    def broken(status: Any, exc: Any, request: Any) -> bool:
        raise RuntimeError("classifier bug")

    wrapped = WSGIMiddleware(by_path, classifier=broken)
    with recording() as rec, caplog.at_level(logging.ERROR, logger="sli_instrument"):
        served = [serve(wrapped, f"/{s}") for s in ("200", "500")]
    assert [s.status for s in served] == ["200 Whatever", "500 Whatever"]
    assert (rec.journey("unclaimed").requests, rec.journey("unclaimed").failures) == (2, 1)
    assert any("classifier" in r.getMessage() for r in caplog.records)


def test_a_decorated_view_names_the_request_and_records_one_event_not_two():
    @sli.journey("checkout", latency_threshold="50ms")
    def checkout_view() -> bytes:
        time.sleep(0.06)
        return b"paid"

    def app(environ: Any, start_response: Any) -> Any:
        body = checkout_view() if environ["PATH_INFO"] == "/checkout" else b"other"
        start_response("200 OK", [])
        return [body]

    with recording() as rec:
        assert serve(WSGIMiddleware(app), "/checkout").body == b"paid"
        serve(WSGIMiddleware(app), "/elsewhere")
        checkout_view()  # outside a request: its own event
    checkout = rec.journey("checkout")
    assert (checkout.requests, checkout.slow) == (2, 2)
    assert rec.journey("unclaimed").requests == 1


def test_route_map_patterns_exact_paths_and_prefixes():
    wrapped = WSGIMiddleware(
        text_app(),
        routes={"/cart/<item_id>": "cart", "/search": "search", "/static/*": "assets"},
    )
    with recording() as rec:
        for path in (
            "/cart/1",
            "/cart/2",
            "/cart/1/extra",
            "/search",
            "/search/x",
            "/static/a/b.js",
        ):
            serve(wrapped, path)
    counts = {name: m.requests for name, m in rec.metrics().items()}
    assert counts == {"cart": 2, "search": 1, "assets": 1, "unclaimed": 2}


def test_unclaimed_policies():
    with recording() as rec:
        serve(WSGIMiddleware(text_app(), unclaimed="ignore"), "/x")
    assert rec.metrics().get("unclaimed") is None or rec.journey("unclaimed").requests == 0

    def framework_like(environ: Any, start_response: Any) -> Any:
        # What an integration does once its router matched: tell the template.
        middleware.http.route_known(current_scope(), environ["PATH_INFO"].split("?")[0])
        start_response("200 OK", [])
        return [b""]

    middleware = WSGIMiddleware(framework_like, unclaimed="route")
    with recording() as rec:
        serve(middleware, "/items/<int:item_id>")
        serve(middleware, "/")
    assert rec.journey("items.item_id").requests == 1
    assert rec.journey("root").requests == 1

    with pytest.raises(ConfigurationError, match="'sometimes'"):
        WSGIMiddleware(text_app(), unclaimed="sometimes")


def test_route_templates_as_journeys_stop_at_the_journey_cap():
    def framework_like(environ: Any, start_response: Any) -> Any:
        middleware.http.route_known(current_scope(), environ["PATH_INFO"])
        start_response("200 OK", [])
        return [b""]

    sli.registry.set_cap(3)
    middleware = WSGIMiddleware(framework_like, unclaimed="route")
    with recording() as rec:
        for i in range(6):
            serve(middleware, f"/route{i}")
    names = set(rec.metrics())
    assert names == {"route0", "route1", "route2", "unclaimed"}
    assert rec.journey("unclaimed").requests == 3


def test_baggage_names_a_journey_only_from_the_allowlist_and_a_decorator_wins():
    @sli.journey("own")
    def own_view() -> None:
        return None

    def app(environ: Any, start_response: Any) -> Any:
        if environ["PATH_INFO"] == "/own":
            own_view()
        start_response("200 OK", [])
        return [b""]

    wrapped = WSGIMiddleware(app, baggage_journeys=["checkout"])
    with recording() as rec:
        serve(wrapped, headers={"baggage": "sli.journey=checkout,other=1"})
        serve(wrapped, headers={"baggage": "sli.journey=not-allowed"})
        serve(wrapped, headers={"baggage": "sli.journey=checkout"}, path="/own")
    counts = {name: m.requests for name, m in rec.metrics().items()}
    assert counts == {"checkout": 1, "unclaimed": 1, "own": 1}


def _series(rec: Any) -> set[tuple[str, tuple[Any, ...]]]:
    data = rec._reader.get_metrics_data()
    return {
        (metric.name, tuple(sorted(point.attributes.items())))
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
        if metric.name.startswith("sli.")  # not the SDK's own metrics (some versions)
        for point in metric.data.data_points
    }


def test_ten_thousand_unknown_paths_and_baggage_names_create_no_series():
    wrapped = WSGIMiddleware(
        text_app(), routes={"/cart/<id>": "cart"}, baggage_journeys=["checkout"], unclaimed="route"
    )
    with recording() as rec:
        serve(wrapped, "/warm-up", headers={"baggage": "sli.journey=checkout"})
        serve(wrapped, "/warm-up")
        before = _series(rec)
        for i in range(10_000):
            serve(wrapped, f"/unknown/{i}", headers={"baggage": f"sli.journey=evil-{i}"})
        after = _series(rec)
    assert after == before
    assert rec.journey("unclaimed").requests == 10_001
    assert not any("unknown" in str(attrs) or "evil" in str(attrs) for _, attrs in after)


def test_the_server_span_gets_the_journey_and_outgoing_calls_carry_it():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    carried: dict[str, str] = {}

    @sli.journey("checkout")
    def checkout_view() -> None:
        propagate.inject(carried)  # what an instrumented HTTP client does

    def app(environ: Any, start_response: Any) -> Any:
        if environ["PATH_INFO"] == "/checkout":
            checkout_view()
        start_response("200 OK", [])
        return [b""]

    wrapped = WSGIMiddleware(app)
    with recording():
        with tracer.start_as_current_span("GET /checkout"):  # OpenTelemetry's server span
            serve(wrapped, "/checkout")
        with tracer.start_as_current_span("GET /health"):
            serve(wrapped, "/health")
    spans = {span.name: dict(span.attributes or {}) for span in exporter.get_finished_spans()}
    assert spans["GET /checkout"]["sli.journey"] == "checkout"
    assert spans["GET /health"]["sli.journey"] == "unclaimed"
    extracted = W3CBaggagePropagator().extract(carried)
    assert baggage.get_baggage("sli.journey", extracted) == "checkout"
    # Nothing leaks into the thread's context after the request.
    assert baggage.get_baggage("sli.journey") is None
    assert current_scope() is None


@pytest.mark.parametrize(
    ("kwargs", "quoted"),
    [
        ({"routes": ["/x"]}, "['/x']"),
        ({"routes": {"/x": "bad name!"}}, "'bad name!'"),
        ({"baggage_journeys": "checkout"}, "'checkout'"),
        ({"failure_statuses": [999]}, "999"),
    ],
)
def test_misconfiguration_raises_when_the_middleware_is_created(kwargs, quoted):
    with pytest.raises(ConfigurationError) as info:
        WSGIMiddleware(text_app(), **kwargs)
    assert quoted in str(info.value)


def test_the_core_and_both_middlewares_import_no_framework():
    from tests.support.import_guard import run_with_blocked

    frameworks = ["flask", "werkzeug", "django", "asgiref", "starlette", "fastapi", "anyio"]
    others = ["httpx", "uvicorn", "gunicorn", "yaml", "boto3", "botocore", "aws_xray_sdk"]
    output = run_with_blocked(
        [*frameworks, *others, "prometheus_client"],
        """
import asyncio
from wsgiref.util import setup_testing_defaults
import sli_instrument as sli
from sli_instrument import ASGIMiddleware, WSGIMiddleware
from sli_instrument.testing import recording

def wsgi_app(environ, start_response):
    start_response("200 OK", [])
    return [b"ok"]

async def asgi_app(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})

async def receive():
    return {"type": "http.request", "body": b""}

async def send(message):
    pass

with recording() as rec:
    environ = {}
    setup_testing_defaults(environ)
    body = WSGIMiddleware(wsgi_app)(environ, lambda *a: None)
    list(body); body.close()
    asyncio.run(ASGIMiddleware(asgi_app)({"type": "http", "path": "/"}, receive, send))
    print(rec.journey("unclaimed").requests)
""",
    )
    assert output.strip().splitlines()[-1] == "2"


def test_routes_listed_in_the_slo_file_join_the_route_map(tmp_path):
    slo = tmp_path / "slo.yaml"
    slo.write_text(
        "version: 1\n"
        "service: shop\n"
        "journeys:\n"
        "  checkout:\n"
        "    availability: 99.9\n"
        "    latency: {threshold: 300ms, target: 99}\n"
        '    routes: ["/checkout", "/pay/<order_id>"]\n'
        "  search:\n"
        "    availability: 99\n"
        '    routes: ["/search"]\n'
    )
    sli.shutdown()
    wrapped = WSGIMiddleware(text_app(), routes={"/search": "find"})  # created before configure()
    sli.configure(exporter="memory", install_global=False, slo_file=str(slo))
    with recording() as rec:
        for path in ("/checkout", "/pay/17", "/search", "/other"):
            serve(wrapped, path)
        counts = {name: m.requests for name, m in rec.metrics().items() if m.requests}
    # The explicit routes= entry wins over the file's for the same route.
    assert counts == {"checkout": 2, "find": 1, "unclaimed": 1}
    assert sli.registry.get("checkout").latency_threshold == 0.3


def test_the_servers_file_wrapper_is_returned_untouched_for_sendfile(tmp_path):
    from wsgiref.util import FileWrapper

    data = tmp_path / "report.csv"
    data.write_bytes(b"id\n1\n2\n")

    def file_app(environ: Any, start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", "text/csv")])
        return environ["wsgi.file_wrapper"](open(data, "rb"), 4)

    environ: dict[str, Any] = {"wsgi.file_wrapper": FileWrapper}
    setup_testing_defaults(environ)
    with recording() as rec:
        result = WSGIMiddleware(file_app)(environ, lambda *a: None)
        assert isinstance(result, FileWrapper)  # what a server checks before sendfile()
        assert b"".join(result) == b"id\n1\n2\n"
        result.close()
        assert rec.journey("unclaimed").requests == 1
