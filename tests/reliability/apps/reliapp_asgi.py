"""The Starlette app of the reliability tiers, served by uvicorn (asyncio loop).

It mixes every way code names a journey: decorated coroutines, decorated sync functions called
from async endpoints and from Starlette's thread pool, ``with`` and ``async with`` blocks, and a
streaming response. ``RELIAPP_INSTRUMENT=0`` serves the same app without sli_instrument (never
imported), for throughput and byte-for-byte comparisons; ``RELIAPP_INSTRUMENT=configured`` serves
it bare in a process where sli_instrument is imported and configured (SDK, exporter, export
thread) but measures nothing (no middleware, journeys inert): what the process costs before any
request is measured. ``RELIAPP_ECHO_JOURNEY=1`` adds an
``X-Journey`` response header read from the request scope at the end of each handler.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
from typing import Any, Callable

from reliapp_instrument import baggage_journey, no_journey
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

MODE = os.environ.get("RELIAPP_INSTRUMENT", "1")
if MODE not in ("0", "1", "configured"):
    raise SystemExit(f"RELIAPP_INSTRUMENT={MODE!r}: expected 0, 1 or configured")
INSTRUMENT = MODE == "1"
#: ``RELIAPP_DECORATORS=0``: the instrumented app names its journeys by the middleware's route map
#: (``reliapp_instrument.ROUTES``) instead of decorators and ``with`` blocks, which stay inert.
DECORATORS = os.environ.get("RELIAPP_DECORATORS", "1") == "1"
#: ``RELIAPP_PROPAGATE``: the middleware's ``propagate=``: ``1`` (default, outgoing calls carry the
#: journey), ``context`` (also in the OpenTelemetry context all request) or ``0`` (neither).
PROPAGATE = {"1": True, "0": False, "context": "context"}[os.environ.get("RELIAPP_PROPAGATE", "1")]
ECHO = os.environ.get("RELIAPP_ECHO_JOURNEY") == "1"
JITTER_JOURNEYS = 8


journey: Callable[..., Any] = no_journey
if MODE != "0":
    import sli_instrument as sli

    sli.configure(service_name="reliapp-asgi")
    if INSTRUMENT and DECORATORS:
        journey = sli.journey


def _json(name: str, status: int = 200, **extra: Any) -> Response:
    body = json.dumps({"page": name, **extra}, sort_keys=True)
    return _finish(Response(body, status_code=status, media_type="application/json"))


def _finish(response: Response) -> Response:
    if ECHO and INSTRUMENT:
        from sli_instrument._context import current_scope

        scope = current_scope()
        name = scope.journey.name if scope is not None and scope.journey is not None else "-"
        response.headers["X-Journey"] = name
    return response


@journey("browse")
async def browse_items() -> list[int]:
    await asyncio.sleep(0)
    return list(range(10))


@journey("cart")
def validate_cart(items: list[int]) -> bool:
    return all(isinstance(i, int) for i in items)


@journey("mixed")
def mixed_work() -> int:
    return sum(range(100))


async def ready(request: Request) -> Response:
    return _json("ready")


async def browse(request: Request) -> Response:
    return _json("browse", items=await browse_items())


SEARCH = journey("search", latency_threshold="250ms")
CHECKOUT = journey("checkout", latency_threshold="300ms")


def search(request: Request) -> Response:  # sync endpoint: Starlette runs it in a thread
    with SEARCH:
        q = request.query_params.get("q", "")
        return _json("search", hits=len(q))


async def checkout(request: Request) -> Response:
    async with CHECKOUT:
        body = await request.body()
        await asyncio.sleep(0)
        # A decorated sync function called inside: the first journey named (checkout) wins.
        ok = validate_cart([1, 2]) and len(body) >= 0
        return _json("checkout", ok=ok)


@journey("pay")
async def pay(request: Request) -> Response:
    return _json("pay", status=503, error="card processor unavailable")


async def mixed(request: Request) -> Response:
    # The journey is named in a worker thread; the claim must reach this request's scope.
    total = await run_in_threadpool(mixed_work)
    return _json("mixed", total=total)


@journey("stream")
async def stream(request: Request) -> Response:
    async def chunks() -> Any:
        for i in range(5):
            yield f"chunk {i}\n".encode()
            await asyncio.sleep(0)

    return _finish(StreamingResponse(chunks(), media_type="text/plain"))


JITTER = {n: journey(f"j{n}") for n in range(JITTER_JOURNEYS)}


async def jitter(request: Request) -> Response:
    """Interleave many requests: sleep, name a journey chosen by the path, sleep, answer."""
    n = int(request.path_params["n"]) % JITTER_JOURNEYS
    await asyncio.sleep(random.random() * 0.002)
    # Nothing yet: a value here leaked from an earlier request. Read only when echoed: the bare
    # app does not pay for this check, so the instrumented one must not either.
    before = baggage_journey() if ECHO and INSTRUMENT else "-"
    with JITTER[n]:
        await asyncio.sleep(random.random() * 0.002)
        if n % 2:
            await run_in_threadpool(mixed_work)  # a thread in the middle of the request
        await asyncio.sleep(random.random() * 0.002)
        response = _json("jitter", n=n)
        if ECHO and INSTRUMENT:
            response.headers["X-Baggage"] = f"{before}>{baggage_journey()}"
        return response


routes = [
    Route("/__ready", ready),
    Route("/browse", browse),
    Route("/search", search),
    Route("/checkout", checkout, methods=["POST"]),
    Route("/pay", pay),
    Route("/mixed", mixed),
    Route("/stream", stream),
    Route("/jitter/{n:int}", jitter),
]


def _marked(inner: Any) -> Any:
    """Every answer the app produced says so (``X-App: 1``), unlike the server's parse errors."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        async def send_marked(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"x-app", b"1")]}
            await send(message)

        await inner(scope, receive, send_marked if scope["type"] == "http" else send)

    return app


app = Starlette(routes=routes)

if INSTRUMENT:
    from reliapp_instrument import ROUTES, instrument_asgi

    instrument_asgi(app, routes=None if DECORATORS else ROUTES, propagate=PROPAGATE)

application = _marked(app)
