"""A Starlette app for the integration tests, served by uvicorn in a subprocess.

Journeys come from every source: ``@journey`` on async and sync (thread pool) endpoints, the
route map (``/items/{item_id}``), route templates under a ``Mount`` (``unclaimed="route"``), a
streaming endpoint, and a background task with a journey of its own (``/buy``). ``X-Fail: 1``
makes ``/items/...`` answer 503; ``X-Delay-Ms`` delays.
"""

from __future__ import annotations

import asyncio
import os
import time

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket

import sli_instrument as sli
from sli_instrument.starlette import SLIMiddleware


async def _delay(request: Request) -> None:
    value = request.headers.get("x-delay-ms")
    if value:
        await asyncio.sleep(int(value) / 1000.0)


@sli.journey("search", latency_threshold="100ms")
async def search(request: Request) -> JSONResponse:
    await _delay(request)
    return JSONResponse({"q": request.query_params.get("q", "")})


@sli.journey("cart")
def cart(request: Request) -> PlainTextResponse:  # sync: Starlette runs it in a thread pool
    time.sleep(0.001)
    return PlainTextResponse("cart")


async def item(request: Request) -> PlainTextResponse:
    await _delay(request)
    if request.headers.get("x-fail") == "1":
        return PlainTextResponse("unavailable", status_code=503)
    return PlainTextResponse(f"item {request.path_params['item_id']}")


async def order(request: Request) -> PlainTextResponse:
    return PlainTextResponse("order")


@sli.journey("receipt")
async def send_receipt() -> None:
    await asyncio.sleep(0.001)


@sli.journey("buy")
async def buy(request: Request) -> PlainTextResponse:
    # The receipt goes out after the response (a background task): an event of its own.
    return PlainTextResponse("bought", background=BackgroundTask(send_receipt))


async def stream(request: Request) -> StreamingResponse:
    rows = int(request.query_params.get("rows", "5"))
    delay = int(request.query_params.get("delay_ms", "100")) / 1000.0

    async def generate():  # type: ignore[no-untyped-def]
        yield b"id\n"
        for index in range(rows):
            await asyncio.sleep(delay)
            yield f"{index}\n".encode()

    return StreamingResponse(generate(), media_type="text/csv")


async def boom(request: Request) -> PlainTextResponse:
    raise RuntimeError("unhandled")


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(await websocket.receive_text())
    await websocket.close()


async def healthz(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def create_app() -> Starlette:
    if os.environ.get("SLI_EXPORTER"):
        sli.configure(service_name=os.environ.get("OTEL_SERVICE_NAME", "starlette-shop"))
    app = Starlette(
        routes=[
            Route("/search", search),
            Route("/cart", cart),
            Route("/buy", buy),
            Route("/items/{item_id:int}", item),
            Mount("/api", routes=[Route("/orders/{order_id}", order)]),
            Route("/stream", stream),
            Route("/boom", boom),
            Route("/healthz", healthz),
            WebSocketRoute("/ws", echo),
        ]
    )
    app.add_middleware(SLIMiddleware, routes={"/items/{item_id}": "items"}, unclaimed="route")
    return app


app = create_app()
