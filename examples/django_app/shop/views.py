"""The shop's views: function, class-based and async views, and two streamed exports.

Per-request knobs (for demos and tests): ``X-Shop-Delay-Ms: N`` adds N ms, ``X-Shop-Fail: 1``
makes checkout raise (Django answers 500: a failure), ``X-Shop-Decline: 1`` makes it answer 402
(a success of the journey). ``SHOP_FAILURE_RATE``/``SHOP_SLOW_RATE``/``SHOP_SEED`` add seeded
background failures and slowness to checkout.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import threading
import time
from collections.abc import AsyncIterator, Iterator

from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.views import View

import sli_instrument as sli

PRODUCTS = [
    {"id": 1, "name": "espresso cup", "price": 9.5},
    {"id": 2, "name": "french press", "price": 34.0},
    {"id": 3, "name": "coffee beans 1kg", "price": 24.9},
    {"id": 4, "name": "milk frother", "price": 19.0},
    {"id": 5, "name": "grinder", "price": 89.0},
]

_carts: dict[str, list[int]] = {}
_lock = threading.Lock()
_random = random.Random(int(os.environ.get("SHOP_SEED", "7") or 7))
FAILURE_RATE = float(os.environ.get("SHOP_FAILURE_RATE", "0") or 0)
SLOW_RATE = float(os.environ.get("SHOP_SLOW_RATE", "0") or 0)
SLOW_SECONDS = float(os.environ.get("SHOP_SLOW_MS", "450") or 450) / 1000.0


class PaymentGatewayError(Exception):
    pass


def _delay_seconds(request: HttpRequest) -> float:
    return min(int(request.headers.get("X-Shop-Delay-Ms", "0") or 0), 10_000) / 1000.0


@sli.journey("browse", latency_threshold="200ms")
def index(request: HttpRequest) -> HttpResponse:
    time.sleep(_delay_seconds(request))
    return JsonResponse({"products": PRODUCTS})


@sli.journey("browse")
def product(request: HttpRequest, product_id: int) -> HttpResponse:
    time.sleep(_delay_seconds(request))
    for item in PRODUCTS:
        if item["id"] == product_id:
            return JsonResponse(item)
    raise Http404("no such product")  # a 404 is a success of "browse"


class SearchView(View):
    @sli.journey("search", latency_threshold="250ms")
    def get(self, request: HttpRequest) -> HttpResponse:
        time.sleep(_delay_seconds(request))
        query = request.GET.get("q", "").lower()
        return JsonResponse({"results": [p for p in PRODUCTS if query in str(p["name"])]})


class CartView(View):
    """Not decorated: settings.SLI_INSTRUMENT["routes"] maps its routes to the journey "cart"."""

    def get(self, request: HttpRequest, product_id: int = 0) -> HttpResponse:
        with _lock:
            return JsonResponse({"cart": list(_carts.get(_cart_id(request), []))})

    def post(self, request: HttpRequest, product_id: int = 1) -> HttpResponse:
        with _lock:
            items = _carts.setdefault(_cart_id(request), [])
            if len(items) < 100:
                items.append(product_id)
            return JsonResponse({"cart": list(items)})


def _cart_id(request: HttpRequest) -> str:
    return request.headers.get("X-Cart-Id", "anonymous")[:64]


@sli.journey("checkout", latency_threshold="300ms")
async def checkout(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return HttpResponse(status=405)
    with _lock:
        background_fail = _random.random() < FAILURE_RATE
        background_slow = _random.random() < SLOW_RATE
    await asyncio.sleep(_delay_seconds(request) + (SLOW_SECONDS if background_slow else 0))
    if request.headers.get("X-Shop-Decline") == "1":
        return JsonResponse({"error": "card declined"}, status=402)
    if background_fail or request.headers.get("X-Shop-Fail") == "1":
        raise PaymentGatewayError("payment gateway unavailable")
    with _lock:
        items = _carts.pop(_cart_id(request), [])
    total = sum(float(p["price"]) for p in PRODUCTS if p["id"] in items)
    return HttpResponse(
        json.dumps({"items": items, "total": round(total, 2)}),
        status=201,
        content_type="application/json",
    )


def _export_args(request: HttpRequest) -> tuple[int, float]:
    rows = max(0, min(int(request.GET.get("rows", "10")), 10_000))
    return rows, max(0, min(int(request.GET.get("delay_ms", "0")), 5_000)) / 1000.0


@sli.journey("export", latency_threshold="2s")
def export_orders(request: HttpRequest) -> StreamingHttpResponse:
    """Streamed with a sync generator: the natural choice under a WSGI server."""
    rows, delay = _export_args(request)

    def generate() -> Iterator[str]:
        yield "order_id,total\n"
        for index in range(rows):
            time.sleep(delay)
            yield f"{index},{(index * 7) % 100}.00\n"

    return StreamingHttpResponse(generate(), content_type="text/csv")


@sli.journey("export")
async def export_orders_live(request: HttpRequest) -> StreamingHttpResponse:
    """Streamed with an async generator: the natural choice under an ASGI server."""
    rows, delay = _export_args(request)

    async def generate() -> AsyncIterator[str]:
        yield "order_id,total\n"
        for index in range(rows):
            await asyncio.sleep(delay)
            yield f"{index},{(index * 7) % 100}.00\n"

    return StreamingHttpResponse(generate(), content_type="text/csv")


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")  # not a journey: the catch-all "unclaimed"
