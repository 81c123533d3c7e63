"""Starlette and FastAPI: the pure ASGI middleware, in process and under uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

import sli_instrument as sli
from sli_instrument.testing import recording
from tests.support.import_guard import run_with_blocked
from tests.support.servers import (
    ROOT,
    serve,
    sli_env,
    tool,
    wait_for_counts,
    walk_away_mid_stream,
)

pytestmark = pytest.mark.usefixtures("sli_reset")


def _fresh_app() -> Any:
    # The module registers journeys at import; sli_reset forgot them: import it afresh.
    import importlib

    import tests.support.starlette_shop as shop

    return importlib.reload(shop).app


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def _drive(app: Any, requests: list[tuple[str, dict[str, str]]]) -> list[int]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return [(await client.get(path, headers=headers)).status_code for path, headers in requests]


def test_starlette_in_process_journeys_from_every_source():
    app = _fresh_app()
    # One request is meant to be slow (150 ms against 100 ms): keep a full garbage collection of
    # the test session's heap from making another one slow too.
    gc.collect()
    with recording() as rec, _gc_paused():
        statuses = asyncio.run(
            _drive(
                app,
                [
                    ("/search?q=x", {}),
                    ("/search", {"x-delay-ms": "150"}),
                    ("/cart", {}),
                    ("/items/3", {}),
                    ("/items/4", {"x-fail": "1"}),
                    ("/api/orders/17", {}),
                    ("/boom", {}),
                    ("/no/such/path", {}),
                    ("/buy", {}),
                ],
            )
        )
        metrics = {name: (m.requests, m.failures, m.slow) for name, m in rec.metrics().items()}
    assert statuses == [200, 200, 200, 200, 503, 200, 500, 404, 200]
    assert metrics == {
        "search": (2, 0, 1),
        "cart": (1, 0, 0),  # claimed from the thread pool that runs sync endpoints
        "items": (2, 1, 0),
        "api.orders.order_id": (1, 0, 0),  # Mount prefix + route template, unclaimed="route"
        "boom": (1, 1, 0),
        "unclaimed": (1, 0, 0),
        "buy": (1, 0, 0),
        "receipt": (1, 0, 0),  # its background task, after the response: an event of its own
    }


def test_fastapi_route_templates_and_decorated_endpoints():
    from fastapi import FastAPI, HTTPException

    from sli_instrument.starlette import SLIMiddleware

    api = FastAPI()

    @api.get("/users/{user_id}")
    async def user(user_id: int) -> dict:
        if user_id == 0:
            raise HTTPException(status_code=502, detail="upstream")
        return {"id": user_id}

    @api.post("/checkout")
    @sli.journey("checkout")
    async def checkout() -> dict:
        return {"ok": True}

    api.add_middleware(SLIMiddleware, unclaimed="route")

    async def go() -> list[int]:
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            codes = [(await client.get(f"/users/{i}")).status_code for i in range(3)]
            codes.append((await client.post("/checkout")).status_code)
            codes.append((await client.get("/users/abc")).status_code)  # 422: a success
            return codes

    with recording() as rec:
        assert asyncio.run(go()) == [502, 200, 200, 200, 422]
        metrics = {
            name: (m.requests, m.failures) for name, m in rec.metrics().items() if m.requests
        }
    assert metrics == {"users.user_id": (4, 1), "checkout": (1, 0)}


def test_starlette_app_under_uvicorn(otlp_receiver):
    service = "starlette-shop-test"
    plan: list[tuple[str, dict[str, str]]] = []
    plan += [("/search?q=a", {}) for _ in range(100)]
    plan += [("/search?q=b", {"x-delay-ms": "120"}) for _ in range(4)]
    plan += [(f"/items/{i}", {"x-fail": "1"} if i % 4 == 0 else {}) for i in range(92)]
    plan += [("/cart", {}) for _ in range(30)]
    plan += [(f"/api/orders/{i}", {}) for i in range(50)]
    plan += [(f"/unknown/{i}", {}) for i in range(20)]
    plan += [("/buy", {}) for _ in range(10)]
    induced = sum(1 for _, h in plan if h.get("x-fail"))
    assert induced == 23

    argv = [tool("uvicorn"), "tests.support.starlette_shop:app", "--port", "{port}"]
    argv += ["--host", "127.0.0.1", "--no-access-log"]
    with serve(argv, env=sli_env(otlp_receiver, service), cwd=ROOT, ready_path="/healthz") as url:
        with httpx.Client(base_url=url, timeout=30) as client:
            with ThreadPoolExecutor(6) as pool:
                statuses = list(
                    pool.map(lambda r: client.get(r[0], headers=r[1]).status_code, plan)
                )
            streamed = client.get("/stream?rows=5&delay_ms=100")
        assert statuses.count(503) == induced and streamed.text.count("\n") == 6
        walk_away_mid_stream(url, "/stream?rows=40&delay_ms=50", b"id")
        data = wait_for_counts(
            otlp_receiver,
            service,
            {
                "search": 104,
                "items": 92,
                "cart": 30,
                "api.orders.order_id": 50,
                "stream": 2,
                "buy": 10,
                "receipt": 10,
            },
        )
    assert (data["search"]["requests"], data["search"]["failures"], data["search"]["slow"]) == (
        104,
        0,
        4,
    )
    assert (data["items"]["requests"], data["items"]["failures"]) == (92, induced)
    assert data["cart"]["requests"] == 30
    assert data["api.orders.order_id"]["requests"] == 50
    # The background task after each /buy response is its own event, not part of the request.
    assert (data["buy"]["requests"], data["receipt"]["requests"]) == (10, 10)
    assert data["unclaimed"]["requests"] == 20  # unknown paths: no route template, no series
    assert data["healthz"]["requests"] == 1  # the readiness probe, by its route template
    stream = data["stream"]
    assert (stream["requests"], stream["aborted"]) == (1, 1)  # the client that walked away
    assert stream["duration"]["success"].sum >= 0.5
    assert stream["ttfb"].count == 2 and stream["ttfb"].sum < 0.25


def test_uvicorn_keeps_no_request_scope_alive_between_requests():
    # uvicorn arms its keep-alive timer while it sends the last body message, with a copy of the
    # request's context that the timer holds for seconds: the request scope must not be in it.
    # Measured before the scope was left there: every request's scope stayed alive until its
    # timer went, and the garbage collector ran several times as often under load.
    import threading

    import uvicorn

    from tests.support.request_scopes import live_request_scopes
    from tests.support.servers import free_port

    app = _fresh_app()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    before = live_request_scopes()
    with recording() as rec:
        thread.start()
        try:
            for _ in range(500):
                if server.started:
                    break
                threading.Event().wait(0.01)
            assert server.started
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
                paths = ["/search?q=a", "/cart", "/items/1", "/buy", "/healthz"] * 4
                assert {client.get(path).status_code for path in paths} == {200}
                # The connection is still open, its keep-alive timer armed.
                held = live_request_scopes() - before
        finally:
            server.should_exit = True
            thread.join(10)
        requests = {name: m.requests for name, m in rec.metrics().items() if m.requests}
    assert held <= 0
    assert requests == {"search": 4, "cart": 4, "items": 4, "buy": 4, "receipt": 4, "healthz": 4}


def test_the_starlette_integration_imports_no_other_framework():
    result = run_with_blocked(
        ["flask", "werkzeug", "django", "yaml", "boto3", "aws_xray_sdk", "prometheus_client"],
        """
import asyncio, httpx
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
import sli_instrument as sli
from sli_instrument.starlette import SLIMiddleware
from sli_instrument.testing import recording

async def hello(request):
    return PlainTextResponse("hi")

app = Starlette(routes=[Route("/hello/{name}", hello)])
app.add_middleware(SLIMiddleware, unclaimed="route")

async def main():
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/hello/x")).text == "hi"

with recording() as rec:
    asyncio.run(main())
    print(rec.journey("hello.name").requests)
""",
    )
    assert result.strip().splitlines()[-1] == "1"
