"""The coffee shop of the Flask example, written the FastAPI way, measured by sli_instrument.

Run it (see README.md)::

    pip install -e ".[fastapi,slo]"
    uvicorn --app-dir examples/fastapi_app --factory shop:create_app

The ways a FastAPI app names a journey:

* ``@sli.journey`` on ``async def`` endpoints (``/``, ``/checkout``, ``/orders/export``) and on a
  plain ``def`` endpoint, which FastAPI runs in its thread pool (``/products/{product_id}``);
* a ``with sli.journey(...)`` block inside an endpoint (``/search``);
* the middleware's route map (``/cart``; and ``/products/{product_id}``, so that a request FastAPI
  rejects before the endpoint runs, a 422, still counts for ``browse``: the route map names the
  request when it opens, so for that route it is the map, not the decorator, that names it).

Behaviour that tests and demos control exactly, per request (the Flask shop's headers):

* ``X-Shop-Delay-Ms: 400``  makes the request take 400 ms longer (checkout's threshold is 300 ms);
* ``X-Shop-Fail: 1``        makes checkout fail: the payment gateway raises, the exception handler
                            answers 500 (a handled error that is still a failure of the journey);
* ``X-Shop-Decline: 1``     makes checkout answer 402 "card declined" (a success of the journey:
                            the service worked, the card did not);
* ``GET /orders/export?rows=5&delay_ms=100`` streams 5 CSV rows, 100 ms apart.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import time
from collections.abc import AsyncIterator
from typing import Any, Optional

from fastapi import APIRouter, FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from pydantic import BaseModel

import sli_instrument as sli
from sli_instrument.starlette import SLIMiddleware

PRODUCTS: list[dict[str, Any]] = [
    {"id": 1, "name": "espresso cup", "price": 9.5},
    {"id": 2, "name": "french press", "price": 34.0},
    {"id": 3, "name": "coffee beans 1kg", "price": 24.9},
    {"id": 4, "name": "milk frother", "price": 19.0},
    {"id": 5, "name": "grinder", "price": 89.0},
]
#: Journeys that no decorator names: the middleware looks the matched route up here.
ROUTES = {"/cart": "cart", "/products/{product_id}": "browse"}
MAX_DELAY_MS = 10_000


class PaymentGatewayError(Exception):
    """The payment provider is down: the checkout journey failed."""


class CardDeclined(Exception):
    """A business outcome: the journey worked, the card did not."""


class CartItem(BaseModel):
    product_id: int = 1


def _delay_seconds(value: Optional[str]) -> float:
    if not value:
        return 0.0
    try:
        return max(0, min(int(value), MAX_DELAY_MS)) / 1000.0
    except ValueError:
        return 0.0  # a knob for tests and demos: a bad value is no delay, not an error


shop = APIRouter()
# Carts live in the event loop's thread: the async endpoints that touch them need no lock.
_carts: dict[str, list[int]] = {}

# @sli.journey goes below the route decorator, so that FastAPI registers the decorated function
# (it keeps the signature, so FastAPI's injection and validation see the original parameters).


@shop.get("/")
@sli.journey("browse", latency_threshold="200ms")
async def index(x_shop_delay_ms: Optional[str] = Header(None)) -> dict[str, Any]:
    await asyncio.sleep(_delay_seconds(x_shop_delay_ms))
    return {"products": PRODUCTS}


@shop.get("/products/{product_id}")
@sli.journey("browse")
def product(product_id: int, x_shop_delay_ms: Optional[str] = Header(None)) -> dict[str, Any]:
    # A plain def endpoint: FastAPI runs it in its thread pool. A journey named in that thread
    # would reach the request (the thread runs in a copy of the request's context); here the route
    # map has named it already, when the request opened, so that a 422 counts for browse too.
    time.sleep(_delay_seconds(x_shop_delay_ms))
    for item in PRODUCTS:
        if item["id"] == product_id:
            return item
    # An unknown product is a success of "browse": the shop answered correctly.
    raise HTTPException(status_code=404, detail="no such product")


@shop.get("/search")
async def search(q: str = "", x_shop_delay_ms: Optional[str] = Header(None)) -> dict[str, Any]:
    # The context-manager form: only this block names the journey.
    with sli.journey("search", latency_threshold="250ms"):
        await asyncio.sleep(_delay_seconds(x_shop_delay_ms))
        query = q.lower()
        return {"results": [p for p in PRODUCTS if query in str(p["name"])]}


@shop.get("/cart")
async def show_cart(
    x_cart_id: str = Header("anonymous"), x_shop_delay_ms: Optional[str] = Header(None)
) -> dict[str, Any]:
    await asyncio.sleep(_delay_seconds(x_shop_delay_ms))
    return {"cart": list(_carts.get(x_cart_id, []))}


@shop.post("/cart")
async def add_to_cart(
    item: Optional[CartItem] = None,
    x_cart_id: str = Header("anonymous"),
    x_shop_delay_ms: Optional[str] = Header(None),
) -> dict[str, Any]:
    await asyncio.sleep(_delay_seconds(x_shop_delay_ms))
    items = _carts.setdefault(x_cart_id, [])
    if len(items) < 100:
        items.append((item or CartItem()).product_id)
    return {"cart": list(items)}


@shop.post("/checkout")
@sli.journey("checkout", latency_threshold="300ms")
async def checkout(
    x_cart_id: str = Header("anonymous"),
    x_shop_delay_ms: Optional[str] = Header(None),
    x_shop_fail: Optional[str] = Header(None),
    x_shop_decline: Optional[str] = Header(None),
) -> JSONResponse:
    await asyncio.sleep(_delay_seconds(x_shop_delay_ms))
    if x_shop_decline == "1":
        raise CardDeclined("card declined")
    if x_shop_fail == "1":
        raise PaymentGatewayError("payment gateway unavailable")
    items = _carts.pop(x_cart_id, [])
    total = sum(float(p["price"]) for p in PRODUCTS if p["id"] in items)
    return JSONResponse({"order": {"items": items, "total": round(total, 2)}}, status_code=201)


@shop.get("/orders/export")
@sli.journey("export", latency_threshold="2s")
async def export_orders(
    rows: int = Query(10, ge=0, le=10_000), delay_ms: int = Query(0, ge=0, le=5_000)
) -> StreamingResponse:
    async def generate() -> AsyncIterator[str]:
        yield "order_id,total\n"
        for index in range(rows):
            if delay_ms:
                await asyncio.sleep(delay_ms / 1000.0)
            yield f"{index},{(index * 7) % 100}.00\n"

    # The event lasts until the last row is sent; TTFB is the header row.
    return StreamingResponse(generate(), media_type="text/csv")


@shop.get("/healthz")
async def healthz() -> PlainTextResponse:
    return PlainTextResponse("ok")  # not a journey: recorded under the catch-all "unclaimed"


async def payment_failed(request: Request, error: Exception) -> JSONResponse:
    return JSONResponse({"error": "payment gateway unavailable, try again"}, status_code=500)


async def card_declined(request: Request, error: Exception) -> JSONResponse:
    return JSONResponse({"error": "card declined"}, status_code=402)


def _native_telemetry(metrics: bool) -> dict[str, Any]:
    """FastAPI's own OpenTelemetry settings (FastAPI 0.142 and later; older ones have none).

    FastAPI records its own per-route HTTP metrics whenever OpenTelemetry has a global meter
    provider, and ``sli.configure()`` installs one. The journeys are this shop's SLIs, so the shop
    keeps FastAPI's metrics off: on a small app they cost more per request than the journeys do
    (docs/fastapi.md has the numbers). Its spans (with a tracer provider) are left as they are.
    """
    if "telemetry" not in inspect.signature(FastAPI.__init__).parameters:
        return {}
    return {"telemetry": {"metrics": metrics}}


def create_app(
    *, configure: bool = True, native_metrics: bool = False, **sli_options: Any
) -> FastAPI:
    """The shop. ``configure=True`` sets up export from the environment (``OTEL_*``, ``SLI_*``).

    ``native_metrics=True`` leaves FastAPI's own HTTP metrics on (FastAPI's default).
    ``sli_options`` go to the middleware (``routes`` defaults to :data:`ROUTES`).
    """
    if configure:
        sli.configure(service_name=os.environ.get("OTEL_SERVICE_NAME", "fastapi-shop"))
    app = FastAPI(title="coffee shop", **_native_telemetry(native_metrics))
    app.include_router(shop)
    app.add_exception_handler(PaymentGatewayError, payment_failed)
    app.add_exception_handler(CardDeclined, card_declined)
    app.add_middleware(SLIMiddleware, **{"routes": ROUTES, **sli_options})
    return app
