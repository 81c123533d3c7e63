"""Views and URLs for the in-process Django integration tests (``ROOT_URLCONF`` points here)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.urls import include, path
from django.views import View

import sli_instrument as sli


@sli.journey("browse", latency_threshold="50ms")
def browse(request: Any, item_id: int) -> HttpResponse:
    if request.GET.get("slow"):
        time.sleep(0.06)
    return JsonResponse({"id": item_id})


class SearchView(View):
    @sli.journey("search")
    def get(self, request: Any) -> HttpResponse:
        return HttpResponse("results")


@sli.journey("checkout")
async def checkout(request: Any) -> HttpResponse:
    await asyncio.sleep(0)
    if request.GET.get("fail"):
        raise RuntimeError("payment gateway down")
    return HttpResponse("paid", status=201)


def plain(request: Any, code: int) -> HttpResponse:
    return HttpResponse(status=code)


def stream(request: Any) -> StreamingHttpResponse:
    def rows() -> Any:
        yield b"id\n"
        for index in range(3):
            time.sleep(0.1)
            yield b"%d\n" % index

    return StreamingHttpResponse(rows())


async def astream(request: Any) -> StreamingHttpResponse:
    async def rows() -> Any:
        yield b"id\n"
        for index in range(3):
            await asyncio.sleep(0.1)
            yield b"%d\n" % index

    return StreamingHttpResponse(rows())


def teapot_is_a_failure(status: Any, exception: Any, request: Any) -> bool:
    return status == 418 or (status is not None and status >= 500)


urlpatterns = [
    path("items/<int:item_id>/", browse),
    path("search/", SearchView.as_view()),
    path("checkout/", checkout),
    path("status/<int:code>/", plain),
    path("api/", include([path("v1/status/<int:code>/", plain)])),
    path("stream/", stream),
    path("astream/", astream),
]
