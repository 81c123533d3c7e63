"""A small Flask shop instrumented with sli_instrument: browse, search, cart, checkout, export.

Run it (see README.md)::

    pip install -e ".[flask,slo]"
    flask --app examples/flask_app/shop.py run

Behaviour that tests and demos control exactly, per request:

* ``X-Shop-Delay-Ms: 400``  makes the request take 400 ms longer (checkout's threshold is 300 ms);
* ``X-Shop-Fail: 1``        makes checkout fail: the payment gateway raises, the error handler
                            answers 500 (a handled error that is still a failure of the journey);
* ``X-Shop-Decline: 1``     makes checkout answer 402 "card declined" (a success of the journey:
                            the service worked, the card did not);
* ``GET /orders/export?rows=5&delay_ms=100`` streams 5 CSV rows, 100 ms apart.

And for a demo that needs background noise without a driver that sets headers: the environment
variables ``SHOP_FAILURE_RATE`` (0..1) and ``SHOP_SLOW_RATE`` (0..1) make that share of checkouts
fail or take ``SHOP_SLOW_MS`` (default 450) longer, drawn from ``random.Random(SHOP_SEED)``
(default seed 7), so a run is reproducible.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Iterator
from typing import Any, Optional

from flask import Blueprint, Flask, Response, abort, jsonify, request

import sli_instrument as sli
from sli_instrument.flask import SLI

PRODUCTS = [
    {"id": 1, "name": "espresso cup", "price": 9.5},
    {"id": 2, "name": "french press", "price": 34.0},
    {"id": 3, "name": "coffee beans 1kg", "price": 24.9},
    {"id": 4, "name": "milk frother", "price": 19.0},
    {"id": 5, "name": "grinder", "price": 89.0},
]


class PaymentGatewayError(Exception):
    """The payment provider is down: the checkout journey failed."""


class CardDeclined(Exception):
    """A business outcome: the journey worked, the card did not."""


class _Knobs:
    """Seeded background failure/slowness for demos (off unless the environment sets it)."""

    def __init__(self) -> None:
        self.failure_rate = float(os.environ.get("SHOP_FAILURE_RATE", "0") or 0)
        self.slow_rate = float(os.environ.get("SHOP_SLOW_RATE", "0") or 0)
        self.slow_seconds = float(os.environ.get("SHOP_SLOW_MS", "450") or 450) / 1000.0
        self._random = random.Random(int(os.environ.get("SHOP_SEED", "7") or 7))
        self._lock = threading.Lock()

    def draw(self) -> tuple[bool, bool]:
        with self._lock:
            return (
                self._random.random() < self.failure_rate,
                self._random.random() < self.slow_rate,
            )


def _delay() -> None:
    value = request.headers.get("X-Shop-Delay-Ms")
    if value:
        time.sleep(min(int(value), 10_000) / 1000.0)


shop = Blueprint("shop", __name__)
_carts: dict[str, list[int]] = {}
_carts_lock = threading.Lock()


@shop.get("/")
@sli.journey("browse", latency_threshold="200ms")
def index() -> Any:
    _delay()
    return jsonify(products=PRODUCTS)


@shop.get("/products/<int:product_id>")
@sli.journey("browse")
def product(product_id: int) -> Any:
    _delay()
    for item in PRODUCTS:
        if item["id"] == product_id:
            return jsonify(item)
    abort(404)  # an unknown product is a success of "browse": the shop answered correctly


@shop.get("/search")
def search() -> Any:
    # The context-manager form: only this block names the journey.
    with sli.journey("search", latency_threshold="250ms"):
        _delay()
        query = request.args.get("q", "").lower()
        return jsonify(results=[p for p in PRODUCTS if query in str(p["name"])])


@shop.route("/cart", methods=["GET", "POST"])
@sli.journey("cart", latency_threshold="200ms")
def cart() -> Any:
    _delay()
    cart_id = request.headers.get("X-Cart-Id", "anonymous")
    with _carts_lock:
        items = _carts.setdefault(cart_id, [])
        if request.method == "POST":
            payload = request.get_json(silent=True) or {}
            product_id = int(payload.get("product_id", 1))
            if len(items) < 100:
                items.append(product_id)
        return jsonify(cart=list(items))


@shop.post("/checkout")
@sli.journey("checkout", latency_threshold="300ms")
def checkout() -> Any:
    knobs: _Knobs = shop_knobs()
    fail, slow = knobs.draw()
    _delay()
    if slow:
        time.sleep(knobs.slow_seconds)
    if request.headers.get("X-Shop-Decline") == "1":
        raise CardDeclined("card declined")
    if fail or request.headers.get("X-Shop-Fail") == "1":
        raise PaymentGatewayError("payment gateway unavailable")
    cart_id = request.headers.get("X-Cart-Id", "anonymous")
    with _carts_lock:
        items = _carts.pop(cart_id, [])
    total = sum(float(p["price"]) for p in PRODUCTS if p["id"] in items)
    return jsonify(order={"items": items, "total": round(total, 2)}), 201


@shop.get("/orders/export")
@sli.journey("export", latency_threshold="2s")
def export_orders() -> Response:
    rows = max(0, min(int(request.args.get("rows", "10")), 10_000))
    delay = max(0, min(int(request.args.get("delay_ms", "0")), 5_000)) / 1000.0

    def generate() -> Iterator[str]:
        yield "order_id,total\n"
        for index in range(rows):
            if delay:
                time.sleep(delay)
            yield f"{index},{(index * 7) % 100}.00\n"

    return Response(generate(), mimetype="text/csv")


@shop.get("/healthz")
def healthz() -> Any:
    return "ok"  # not a journey: recorded under the catch-all journey "unclaimed"


_knobs: Optional[_Knobs] = None


def shop_knobs() -> _Knobs:
    global _knobs
    if _knobs is None:
        _knobs = _Knobs()
    return _knobs


def create_app(*, configure: bool = True, **sli_options: Any) -> Flask:
    """The shop. ``configure=True`` sets up export from the environment (``OTEL_*``, ``SLI_*``)."""
    if configure:
        sli.configure(service_name=os.environ.get("OTEL_SERVICE_NAME", "flask-shop"))
    app = Flask(__name__)
    app.register_blueprint(shop)

    @app.errorhandler(PaymentGatewayError)
    def payment_failed(error: Exception) -> Any:
        return jsonify(error="payment gateway unavailable, try again"), 500

    @app.errorhandler(CardDeclined)
    def card_declined(error: Exception) -> Any:
        return jsonify(error="card declined"), 402

    SLI(app, **sli_options)
    return app


if __name__ == "__main__":  # pragma: no cover - python examples/flask_app/shop.py
    create_app().run(port=int(os.environ.get("PORT", "5000")), threaded=True)
