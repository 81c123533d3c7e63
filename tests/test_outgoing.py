"""Outgoing calls carry the request's journey, added when the global propagator injects."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from typing import Any, Callable

import httpx
import pytest
from opentelemetry import baggage, context, propagate
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from werkzeug.serving import make_server

import sli_instrument as sli
from sli_instrument import ConfigurationError, WSGIMiddleware, _http
from sli_instrument._outgoing import JourneyPropagator, outgoing_context
from sli_instrument.testing import recording
from tests.support.servers import ROOT, clean_env, serve, tool
from tests.support.wsgi_call import call_wsgi

pytestmark = pytest.mark.usefixtures("sli_reset", "global_propagator")


@pytest.fixture
def global_propagator() -> Iterator[None]:
    """Tests here replace OpenTelemetry's global propagator: later tests get the original back."""
    original = propagate.get_global_textmap()
    yield
    propagate.set_global_textmap(original)


def _injected() -> dict[str, str]:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)  # what an instrumented HTTP client does
    return carrier


def _app(work: Callable[[], None]) -> Any:
    def app(environ: Any, start_response: Any) -> Any:
        work()
        start_response("200 OK", [])
        return [b""]

    return app


@pytest.mark.core
@pytest.mark.parametrize(("mode", "in_context"), [(True, None), ("context", "checkout")])
def test_a_call_carries_the_journey_and_only_context_mode_puts_it_in_the_context(
    mode: Any, in_context: object
) -> None:
    seen: list[tuple[dict[str, str], object]] = []

    @sli.journey("checkout")
    def checkout() -> None:
        seen.append((_injected(), baggage.get_baggage("sli.journey")))

    with recording() as rec:
        call_wsgi(WSGIMiddleware(_app(checkout), propagate=mode), "/checkout")
        after = _injected()
    carried, seen_in_context = seen[0]
    assert baggage.get_baggage("sli.journey", W3CBaggagePropagator().extract(carried)) == "checkout"
    # The default puts nothing into the OpenTelemetry context; "context" does, for the request.
    assert seen_in_context == in_context
    assert "baggage" not in after  # nothing is carried once the request is over
    assert dict(context.get_current()) == {}
    assert rec.journey("checkout").requests == 1


@pytest.mark.core
def test_a_journey_named_in_a_worker_thread_is_carried_by_a_later_call_from_the_request() -> None:
    # The journey is read from the request scope that the thread shares with the request, not
    # from a context the thread's copy alone would hold.
    seen: list[dict[str, str]] = []

    @sli.journey("search")
    def search() -> None:
        pass

    def work() -> None:
        with ThreadPoolExecutor(1) as pool:
            pool.submit(copy_context().run, search).result()
        seen.append(_injected())

    with recording() as rec:
        call_wsgi(WSGIMiddleware(_app(work)), "/search")
    assert "sli.journey=search" in seen[0]["baggage"]
    assert rec.journey("search").requests == 1


@pytest.mark.core
def test_the_services_own_journey_wins_over_baggage_it_received_and_an_explicit_context() -> None:
    seen: list[dict[str, str]] = []

    @sli.journey("checkout")
    def checkout() -> None:
        inherited = baggage.set_baggage("sli.journey", "from-caller")
        inherited = baggage.set_baggage("tenant", "t1", inherited)
        carrier: dict[str, str] = {}
        propagate.inject(carrier, context=inherited)
        seen.append(carrier)

    with recording():
        call_wsgi(WSGIMiddleware(_app(checkout)), "/checkout")
    extracted = W3CBaggagePropagator().extract(seen[0])
    assert baggage.get_all(extracted) == {"sli.journey": "checkout", "tenant": "t1"}


@pytest.mark.core
def test_nothing_is_carried_for_propagate_false_the_catch_all_or_outside_a_request() -> None:
    seen: list[dict[str, str]] = []

    @sli.journey("search")
    def search() -> None:
        seen.append(_injected())

    with recording():
        call_wsgi(WSGIMiddleware(_app(search), propagate=False), "/search")
        call_wsgi(WSGIMiddleware(_app(lambda: seen.append(_injected()))), "/unclaimed-path")
        search()  # a decorated function called outside any request
    assert [carrier.get("baggage", "") for carrier in seen] == ["", "", ""]


@pytest.mark.core
def test_a_propagator_installed_later_is_wrapped_again_and_keeps_its_own_behaviour(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_http, "PROPAGATOR_CHECK_SECONDS", 0.0)  # every request checks
    seen: list[dict[str, str]] = []

    @sli.journey("checkout")
    def checkout() -> None:
        seen.append(_injected())

    middleware = WSGIMiddleware(_app(checkout))
    assert type(propagate.get_global_textmap()) is JourneyPropagator
    # Another component replaces the global propagator after the middleware was created.
    mine = CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()])
    propagate.set_global_textmap(mine)
    with recording():
        call_wsgi(middleware, "/checkout")
    assert "sli.journey=checkout" in seen[0]["baggage"]
    wrapper = propagate.get_global_textmap()
    assert isinstance(wrapper, JourneyPropagator) and wrapper.inner is mine
    assert wrapper.fields == mine.fields
    extracted = wrapper.extract({"baggage": "a=1"})
    assert baggage.get_all(extracted) == {"a": "1"}
    # Propagators without W3C baggage get nothing added to the wire.
    plain = TraceContextTextMapPropagator()
    propagate.set_global_textmap(plain)
    with recording():
        call_wsgi(middleware, "/checkout")
    wrapper = propagate.get_global_textmap()
    assert isinstance(wrapper, JourneyPropagator) and wrapper.inner is plain
    assert "baggage" not in seen[1]


@pytest.mark.core
def test_a_propagator_installed_while_serving_is_wrapped_by_a_request_a_check_interval_later(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Request starts check at most once per interval (a call into OpenTelemetry per claim cost
    # capacity): a replacement is wrapped by the first request after the interval, not before.
    monkeypatch.setattr(_http, "PROPAGATOR_CHECK_SECONDS", 0.3)
    seen: list[dict[str, str]] = []

    @sli.journey("checkout")
    def checkout() -> None:
        seen.append(_injected())

    middleware = WSGIMiddleware(_app(checkout))
    with recording():
        call_wsgi(middleware, "/checkout")  # the first request checks
        mine = CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()])
        propagate.set_global_textmap(mine)
        call_wsgi(middleware, "/checkout")
        assert propagate.get_global_textmap() is mine  # within the interval: not checked yet
        time.sleep(0.35)
        call_wsgi(middleware, "/checkout")
    assert ["sli.journey=checkout" in s.get("baggage", "") for s in seen] == [True, False, True]
    wrapper = propagate.get_global_textmap()
    assert isinstance(wrapper, JourneyPropagator) and wrapper.inner is mine


@pytest.mark.core
def test_a_fault_while_adding_the_journey_loses_the_journey_not_the_call(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[dict[str, str]] = []

    @sli.journey("checkout")
    def checkout() -> None:
        seen.append(_injected())
        seen.append(_injected())

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("injected fault")

    monkeypatch.setattr(baggage, "set_baggage", broken)
    caplog.set_level(logging.ERROR, logger="sli_instrument")
    with recording() as rec:
        call_wsgi(WSGIMiddleware(_app(checkout)), "/checkout")
    assert seen == [{}, {}]  # injected as if we were not there
    errors = [r for r in caplog.records if "outgoing baggage" in r.getMessage()]
    assert len(errors) == 1  # once, not once per call
    assert rec.journey("checkout").requests == 1
    assert outgoing_context(None) is None  # outside a request: untouched


@pytest.mark.core
@pytest.mark.parametrize("value", ["yes", 1, None, "Context"])
def test_an_invalid_propagate_fails_at_startup_naming_value_and_source(value: object) -> None:
    with pytest.raises(ConfigurationError) as raised:
        WSGIMiddleware(_app(lambda: None), propagate=value)  # type: ignore[arg-type]
    message = str(raised.value)
    assert repr(value) in message and "WSGIMiddleware argument" in message


# -- two real services ---------------------------------------------------------------------------


@pytest.fixture
def downstream() -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """Another service on loopback: our WSGI middleware allowing ``checkout`` from baggage."""
    received: list[tuple[str, str]] = []

    def inner(environ: Any, start_response: Any) -> Any:
        received.append((environ["PATH_INFO"], environ.get("HTTP_BAGGAGE", "")))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"downstream"]

    app = WSGIMiddleware(inner, baggage_journeys=["checkout"])
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", received
    finally:
        server.shutdown()


@pytest.mark.parametrize(("mode", "carries"), [("1", True), ("context", True), ("0", False)])
def test_requests_instrumented_by_opentelemetry_carry_the_journey_to_the_next_service(
    downstream: tuple[str, list[tuple[str, str]]], mode: str, carries: bool
) -> None:
    url, received = downstream
    env = {"DOWNSTREAM_URL": url, "SLI_TEST_PROPAGATE": mode, "SLI_EXPORTER": "none"}
    argv = [tool("uvicorn"), "tests.support.calling_app:app", "--port", "{port}"]
    argv += ["--host", "127.0.0.1", "--no-access-log"]
    paths = ["/checkout", "/pay", "/named-in-thread", "/unnamed"]
    with recording() as rec:
        with serve(argv, env=clean_env(**env), cwd=ROOT, ready_path="/ready") as upstream:
            for path in paths:
                assert httpx.get(upstream + path, timeout=20).text == "downstream"
        counts = {name: m.requests for name, m in rec.metrics().items() if m.requests}
    journeys = {path: _journey_in(header) for path, header in received}
    expected = {"checkout": "checkout", "pay": "pay", "named-in-thread": "search", "unnamed": None}
    if not carries:
        expected = dict.fromkeys(expected)
    assert journeys == {f"/{path}": journey for path, journey in expected.items()}
    # The next service counts the call under the journey only if its allowlist has it.
    assert counts == ({"checkout": 1, "unclaimed": 3} if carries else {"unclaimed": 4})


def _journey_in(header: str) -> Any:
    return baggage.get_baggage("sli.journey", W3CBaggagePropagator().extract({"baggage": header}))
