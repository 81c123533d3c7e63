"""ASGIMiddleware driven by hand, as an ASGI server would: one event per HTTP request, the clock
stopping at the last body message, TTFB, disconnects as ``aborted``, lifespan and websocket
untouched, messages and exceptions passed through unchanged, bounded cardinality."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Optional

import pytest

import sli_instrument as sli
from sli_instrument import ASGIMiddleware
from sli_instrument._context import current_scope
from sli_instrument.testing import recording
from tests.support.request_scopes import live_request_scopes

pytestmark = [pytest.mark.core, pytest.mark.usefixtures("sli_reset", "pipeline")]


@pytest.fixture
def pipeline(sli_reset: None) -> Any:
    with recording() as rec:
        yield rec


def http_scope(path: str = "/", headers: Optional[list[tuple[bytes, bytes]]] = None) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers or [],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def call(
    app: Any,
    path: str = "/",
    *,
    headers: Optional[list[tuple[bytes, bytes]]] = None,
    disconnect: bool = False,
    send_fails_after: Optional[int] = None,
) -> list[dict]:
    """Run one request; return the messages the server received."""
    sent: list[dict] = []
    delivered = asyncio.Event()

    async def receive() -> dict:
        if not delivered.is_set():
            delivered.set()
            return {"type": "http.request", "body": b"", "more_body": False}
        if disconnect:
            return {"type": "http.disconnect"}
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    async def send(message: dict) -> None:
        if send_fails_after is not None and len(sent) >= send_fails_after:
            raise OSError("connection reset by peer")
        sent.append(message)

    await app(http_scope(path, headers), receive, send)
    return sent


def plain(status: int = 200, body: bytes = b"hello") -> Any:
    async def app(scope: dict, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": status, "headers": [(b"x-app", b"1")]})
        await send({"type": "http.response.body", "body": body})

    return app


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_one_event_per_request_and_messages_pass_unchanged(pipeline):
    bare, wrapped = plain(), ASGIMiddleware(plain())
    for _ in range(3):
        assert run(call(wrapped)) == run(call(bare))
    metrics = pipeline.journey("unclaimed")
    assert (metrics.requests, metrics.failures, metrics.aborted, metrics.ttfb_count) == (3, 0, 0, 0)


def test_the_clock_stops_at_the_last_body_message_not_after_background_work(pipeline):
    async def app(scope: dict, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"head\n", "more_body": True})
        for _ in range(5):
            await asyncio.sleep(0.1)
            await send({"type": "http.response.body", "body": b"row\n", "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        await asyncio.sleep(0.3)  # a background task after the response: not the user's wait

    started = time.perf_counter()
    run(call(ASGIMiddleware(app)))
    assert time.perf_counter() - started >= 0.8
    metrics = pipeline.journey("unclaimed")
    assert metrics.requests == 1
    assert 0.5 <= metrics.duration_sum["success"] < 0.75
    assert metrics.ttfb_count == 1 and metrics.ttfb_sum < 0.1


def test_lifespan_and_websocket_pass_through_untouched(pipeline):
    seen: list[tuple[Any, Any, Any]] = []

    async def app(scope: dict, receive: Any, send: Any) -> None:
        seen.append((scope, receive, send))

    async def receive() -> dict:
        return {}

    async def send(message: dict) -> None:
        return None

    wrapped = ASGIMiddleware(app)
    for kind in ("lifespan", "websocket"):
        scope = {"type": kind}
        run(wrapped(scope, receive, send))
        assert seen[-1][0] is scope and seen[-1][1] is receive and seen[-1][2] is send
    assert pipeline.journey("unclaimed").requests == 0


def test_exceptions_propagate_unchanged_and_fail(pipeline):
    error = RuntimeError("handler bug")

    async def app(scope: dict, receive: Any, send: Any) -> None:
        raise error

    with pytest.raises(RuntimeError) as info:
        run(call(ASGIMiddleware(app)))
    assert info.value is error
    assert pipeline.journey("unclaimed").failures == 1
    assert current_scope() is None


def test_5xx_fails_4xx_succeeds_and_unfinished_responses_fail(pipeline):
    async def unfinished(scope: dict, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})

    async def silent(scope: dict, receive: Any, send: Any) -> None:
        return None

    for app in (plain(503), plain(404), plain(200), unfinished, silent):
        run(call(ASGIMiddleware(app)))
    metrics = pipeline.journey("unclaimed")
    assert (metrics.requests, metrics.failures) == (5, 3)


def test_a_client_that_disconnects_mid_stream_is_aborted(pipeline):
    async def streams_until_disconnect(scope: dict, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"a", "more_body": True})
        await receive()  # the request body
        message = await receive()
        assert message["type"] == "http.disconnect"
        # the application gives up; the response is never completed

    run(call(ASGIMiddleware(streams_until_disconnect), disconnect=True))

    async def long_stream(scope: dict, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for _ in range(10):
            await send({"type": "http.response.body", "body": b"x", "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    with pytest.raises(OSError, match="reset"):
        run(call(ASGIMiddleware(long_stream), send_fails_after=3))
    metrics = pipeline.journey("unclaimed")
    assert (metrics.requests, metrics.failures, metrics.aborted) == (0, 0, 2)


def test_a_server_that_cannot_deliver_the_start_or_the_last_message_makes_the_event_aborted(
    pipeline,
):
    # The middleware hands those messages straight to the server's send; a failure there is
    # recognised by that send's frame in the traceback, also when the application wraps it.
    class ClientGone(Exception):
        pass

    async def rewraps(scope: dict, receive: Any, send: Any) -> None:
        try:
            await send({"type": "http.response.start", "status": 200, "headers": []})
        except OSError as exc:
            raise ClientGone("client went away") from exc

    with pytest.raises(ClientGone):
        run(call(ASGIMiddleware(rewraps), send_fails_after=0))
    with pytest.raises(OSError, match="reset"):
        run(call(ASGIMiddleware(plain()), send_fails_after=1))  # the last body message
    metrics = pipeline.journey("unclaimed")
    assert (metrics.requests, metrics.failures, metrics.aborted) == (0, 0, 2)


def test_a_server_send_that_is_an_object_or_a_bound_method_is_recognised(pipeline):
    # Servers may hand over a callable object (its __call__ possibly inherited) or a bound method
    # as send; its failure is found by that code *and* that object in the traceback.
    class Channel:
        def __init__(self, fails: bool) -> None:
            self.fails = fails

        async def __call__(self, message: dict) -> None:
            if self.fails:
                raise OSError("connection reset by peer")

    class ServerSend(Channel):  # __call__ inherited
        pass

    class Connection:
        async def send(self, message: dict) -> None:
            raise OSError("connection reset by peer")

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    for server_send in (ServerSend(True), Connection().send):
        with pytest.raises(OSError, match="reset"):
            run(ASGIMiddleware(plain())(http_scope(), receive, server_send))

    async def fails_in_its_own_channel(scope: dict, receive: Any, send: Any) -> None:
        # The same __call__ code as the server's send, run for the application's own object:
        # the application's failure, not the client's.
        await Channel(True)({"type": "app.internal"})

    with pytest.raises(OSError, match="reset"):
        run(ASGIMiddleware(fails_in_its_own_channel)(http_scope(), receive, ServerSend(False)))
    metrics = pipeline.journey("unclaimed")
    assert (metrics.requests, metrics.failures, metrics.aborted) == (1, 1, 2)


def test_an_error_of_the_application_after_its_response_is_the_response_s_outcome(pipeline):
    async def fails_after_the_response(scope: dict, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})
        raise RuntimeError("background task failed")  # passes through, unchanged

    async def fails_before_the_response(scope: dict, receive: Any, send: Any) -> None:
        raise RuntimeError("handler failed")

    for app in (fails_after_the_response, fails_before_the_response):
        with pytest.raises(RuntimeError):
            run(call(ASGIMiddleware(app)))
    metrics = pipeline.journey("unclaimed")
    assert (metrics.requests, metrics.failures, metrics.aborted) == (2, 1, 0)


def test_cancellation_is_aborted(pipeline):
    async def slow(scope: dict, receive: Any, send: Any) -> None:
        await asyncio.sleep(10)

    async def main() -> None:
        task = asyncio.ensure_future(call(ASGIMiddleware(slow)))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(main())
    assert pipeline.journey("unclaimed").aborted == 1


def test_pathsend_completes_the_response(pipeline):
    async def app(scope: dict, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.pathsend", "path": "/etc/hostname"})

    run(call(ASGIMiddleware(app)))
    assert pipeline.journey("unclaimed").requests == 1


def searching(seconds: float = 0.0, **journey_options: Any) -> Any:
    """An app whose ``/search`` awaits a coroutine decorated ``@journey("search",
    **journey_options)`` that takes ``seconds``; every path then answers like :func:`plain`.
    Call it inside the test: the decorator registers the journey."""

    @sli.journey("search", **journey_options)
    async def search() -> None:
        await asyncio.sleep(seconds)

    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["path"] == "/search":
            await search()
        await plain()(scope, receive, send)

    return app


def test_decorated_handlers_route_maps_and_baggage(pipeline):
    app = searching(0.06, latency_threshold="50ms")
    wrapped = ASGIMiddleware(app, routes={"/cart/{item_id}": "cart"}, baggage_journeys=["checkout"])
    run(call(wrapped, "/search"))
    run(call(wrapped, "/cart/7"))
    run(call(wrapped, "/anything", headers=[(b"baggage", b"sli.journey=checkout")]))
    run(call(wrapped, "/anything", headers=[(b"baggage", b"sli.journey=evil")]))
    counts = {name: (m.requests, m.slow) for name, m in pipeline.metrics().items()}
    assert counts == {"search": (1, 1), "cart": (1, 0), "checkout": (1, 0), "unclaimed": (1, 0)}


class _TemplateCounting(ASGIMiddleware):
    """A framework's templates taught by subclassing: every path's template is ``/t{path}``."""

    def __init__(self, app: Any, **options: Any) -> None:
        super().__init__(app, **options)
        self.asked: list[str] = []

    def route_template(self, scope: dict[str, Any]) -> Optional[str]:
        self.asked.append(scope["path"])
        return "/t" + scope["path"]


def test_route_template_is_asked_only_for_requests_nothing_named(pipeline):
    app = searching()
    # A route map: its path patterns name /cart/7 when the request opens, its template names /x.
    mapped = _TemplateCounting(app, routes={"/cart/{item_id}": "cart", "/t/x": "browse"})
    for path in ("/search", "/cart/7", "/x", "/y"):
        run(call(mapped, path))
    # Decorated and path-mapped requests were named before the end: no template needed. /x is
    # named by its template, /y asks and lands in unclaimed.
    assert mapped.asked == ["/x", "/y"]
    # No route map and the catch-all policy: a template could name nothing, so none is asked.
    plain_policy = _TemplateCounting(app)
    run(call(plain_policy, "/y"))
    assert plain_policy.asked == []
    # unclaimed="route": the template names what nothing else did.
    by_route = _TemplateCounting(app, unclaimed="route")
    run(call(by_route, "/search"))
    run(call(by_route, "/z"))
    assert by_route.asked == ["/z"]
    counts = {name: m.requests for name, m in pipeline.metrics().items() if m.requests}
    assert counts == {"search": 2, "cart": 1, "browse": 1, "unclaimed": 2, "t.z": 1}


def test_ten_thousand_unknown_paths_and_baggage_names_create_no_series(pipeline):
    wrapped = ASGIMiddleware(plain(), baggage_journeys=["checkout"], unclaimed="route")

    async def many() -> None:
        await call(wrapped, "/warm-up")
        await call(wrapped, "/warm-up", headers=[(b"baggage", b"sli.journey=checkout")])
        before = series()
        for i in range(10_000):
            await call(
                wrapped, f"/unknown/{i}", headers=[(b"baggage", f"sli.journey=x{i}".encode())]
            )
        assert series() == before

    def series() -> set:
        data = pipeline._reader.get_metrics_data()
        return {
            (m.name, tuple(sorted(p.attributes.items())))
            for rm in data.resource_metrics
            for sm in rm.scope_metrics
            for m in sm.metrics
            if m.name.startswith("sli.")
            for p in m.data.data_points
        }

    run(many())
    assert pipeline.journey("unclaimed").requests == 10_001


def test_the_server_span_gets_the_journey(pipeline):
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")

    @sli.journey("search")
    async def search() -> None:
        return None

    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["path"] == "/search":
            await search()
        await plain()(scope, receive, send)

    wrapped = ASGIMiddleware(app)

    async def traced(path: str) -> None:
        with tracer.start_as_current_span(f"GET {path}"):  # the server span of OTel's ASGI mw
            await call(wrapped, path)

    run(traced("/search"))
    run(traced("/other"))
    spans = {span.name: dict(span.attributes or {}) for span in exporter.get_finished_spans()}
    assert spans["GET /search"]["sli.journey"] == "search"
    assert spans["GET /other"]["sli.journey"] == "unclaimed"


@pytest.mark.parametrize("streamed", [True, False])
@pytest.mark.parametrize("mode", [True, "context"])
def test_a_response_finished_from_another_task_leaves_nothing_in_the_callers_context(
    pipeline, mode, streamed, caplog
):
    # Starlette's StreamingResponse sends the body from a task of its own: the event ends there,
    # but the request scope and the journey's baggage must be left in the request's own context,
    # or a server that serves the next request in the same context would start it with them. A
    # body in one message sent from another task cannot close the scope there (the token belongs
    # to the request's context): the middleware closes it when the application returns.
    from opentelemetry import baggage, context, propagate

    @sli.journey("stream")
    async def claim() -> None:
        await asyncio.sleep(0)

    async def app(scope: dict, receive: Any, send: Any) -> None:
        await claim()
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        assert "sli.journey=stream" in carrier["baggage"]
        in_context = baggage.get_baggage("sli.journey")
        assert in_context == ("stream" if mode == "context" else None)

        async def body() -> None:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            if streamed:
                await send({"type": "http.response.body", "body": b"a", "more_body": True})
            await send({"type": "http.response.body", "body": b"b"})

        await asyncio.create_task(body())

    wrapped = ASGIMiddleware(app, propagate=mode)

    async def serve_twice() -> list[Any]:
        seen = []
        for _ in range(2):
            await call(wrapped, "/stream")
            seen.append((current_scope(), dict(context.get_current())))
        return seen

    assert run(serve_twice()) == [(None, {}), (None, {})]
    assert pipeline.metrics()["stream"].requests == 2
    assert not [r for r in caplog.records if "internal error" in r.getMessage()]


@pytest.mark.parametrize("mode", [True, "context"])
def test_code_run_after_the_response_is_outside_the_request(pipeline, mode):
    # A background task (Starlette runs them after the last body message, in the request's
    # task) is not the request: a @journey there is an event of its own, the request keeps the
    # journey it was named, and neither the scope nor the journey's baggage are in the context.
    from opentelemetry import baggage

    seen: list[Any] = []

    @sli.journey("buy")
    async def buy() -> None:
        await asyncio.sleep(0)

    @sli.journey("receipt")
    async def send_receipt() -> None:
        seen.append((current_scope(), baggage.get_baggage("sli.journey")))

    async def app(scope: dict, receive: Any, send: Any) -> None:
        await buy()
        before = current_scope()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        seen.append(before is not None and before.journey is not None and before.journey.name)
        await send_receipt()

    wrapped = ASGIMiddleware(app, propagate=mode)
    for _ in range(2):
        run(call(wrapped))
    assert seen == ["buy", (None, None)] * 2
    metrics = pipeline.metrics()
    assert (metrics["buy"].requests, metrics["receipt"].requests) == (2, 2)


def test_a_streamed_response_keeps_its_scope_until_the_application_returns(pipeline):
    # Streamed bodies usually come from a task of the application's own (Starlette's
    # StreamingResponse), where the scope cannot be left: the rule is the same for every streamed
    # response, so code after the last chunk is still inside the request.
    seen: list[Any] = []

    @sli.journey("receipt")
    async def send_receipt() -> None:
        seen.append(current_scope() is not None)

    @sli.journey("export")
    async def app(scope: dict, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"a", "more_body": True})
        await send({"type": "http.response.body", "body": b"b"})
        await send_receipt()

    run(call(ASGIMiddleware(app)))
    assert seen == [True] and current_scope() is None
    metrics = pipeline.metrics()
    assert (metrics["export"].requests, metrics["receipt"].requests) == (1, 0)


def test_a_request_leaves_nothing_for_a_server_timer_to_hold(pipeline):
    # uvicorn schedules its keep-alive timeout from the send of the last body message, in a copy
    # of the current context that the timer keeps for seconds. The request scope must be gone
    # from that context, or every request's scope (and what it holds) outlives it that long.
    timers: list[asyncio.TimerHandle] = []

    @sli.journey("held")
    async def app(scope: dict, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def serve() -> None:
        loop = asyncio.get_running_loop()

        async def send(message: dict) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body"):
                timers.append(loop.call_later(3600, lambda: None))

        async def receive() -> dict:
            return {"type": "http.request", "body": b"", "more_body": False}

        before = live_request_scopes()  # what earlier tests may still reference
        wrapped = ASGIMiddleware(app)
        for _ in range(3):
            await wrapped(http_scope("/"), receive, send)
        held = live_request_scopes() - before
        for timer in timers:
            timer.cancel()
        assert held <= 0

    run(serve())
    assert len(timers) == 3 and pipeline.metrics()["held"].requests == 3
