"""A Starlette app that calls another service with ``requests``, as OpenTelemetry instruments it.

Served by uvicorn in a subprocess. Every endpoint calls ``$DOWNSTREAM_URL/<its own name>`` once;
``SLI_TEST_PROPAGATE`` (``1``, ``0`` or ``context``) sets the middleware's ``propagate=``.

* ``/checkout``: ``@journey`` on an async endpoint; the call is made from Starlette's thread pool.
* ``/pay``: a sync endpoint (run in the thread pool) naming its journey with a ``with`` block.
* ``/named-in-thread``: the journey is named in a worker thread, and the call is made afterwards
  from the request's own task.
* ``/unnamed``: nothing names a journey (the reserved ``unclaimed``, never propagated).
"""

from __future__ import annotations

import os

import requests
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

import sli_instrument as sli
from sli_instrument.starlette import SLIMiddleware

sli.configure(service_name="calling-app")
RequestsInstrumentor().instrument()
DOWNSTREAM = os.environ["DOWNSTREAM_URL"]
PROPAGATE = {"1": True, "0": False, "context": "context"}[os.environ["SLI_TEST_PROPAGATE"]]


def call(name: str) -> str:
    return requests.get(f"{DOWNSTREAM}/{name}", timeout=10).text


@sli.journey("checkout")
async def checkout(request: Request) -> PlainTextResponse:
    return PlainTextResponse(await run_in_threadpool(call, "checkout"))


def pay(request: Request) -> PlainTextResponse:
    with sli.journey("pay"):
        return PlainTextResponse(call("pay"))


@sli.journey("search")
def search_work() -> None:
    return None


async def named_in_thread(request: Request) -> PlainTextResponse:
    await run_in_threadpool(search_work)
    return PlainTextResponse(call("named-in-thread"))  # blocks the loop briefly: a test app


async def unnamed(request: Request) -> PlainTextResponse:
    return PlainTextResponse(call("unnamed"))


async def ready(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ready")


app = Starlette(
    routes=[
        Route("/checkout", checkout),
        Route("/pay", pay),
        Route("/named-in-thread", named_in_thread),
        Route("/unnamed", unnamed),
        Route("/ready", ready),
    ]
)
app.add_middleware(SLIMiddleware, propagate=PROPAGATE)
