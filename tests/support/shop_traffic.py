"""The traffic the example shops' tests send, and what the Flask and FastAPI shops must record.

The shops (``examples/flask_app``, ``examples/fastapi_app``, ``examples/django_app``) share their
journeys and their knobs (``X-Shop-Fail``, ``X-Shop-Decline``, ``X-Shop-Delay-Ms``), so their
tests share the checkout plan that drives those knobs, the way the plan is sent, and (for the two
shops driven with the same 500 requests) the checks of what the receiver got.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional

import httpx

#: (method, path, headers)
Request = tuple[str, str, dict[str, str]]


def checkout_plan(
    count: int,
    path: str,
    *,
    fail: Collection[int],
    decline: Collection[int],
    delay: Collection[int],
    carts: int,
) -> list[Request]:
    """``count`` checkouts: those in ``fail`` raise (500), in ``decline`` answer 402 (a success of
    the journey), in ``delay`` take 350 ms longer (past checkout's 300 ms threshold)."""
    plan: list[Request] = []
    for i in range(count):
        headers = {"X-Cart-Id": str(i % carts)}
        if i in fail:
            headers["X-Shop-Fail"] = "1"
        elif i in decline:
            headers["X-Shop-Decline"] = "1"
        elif i in delay:
            headers["X-Shop-Delay-Ms"] = "350"
        plan.append(("POST", path, headers))
    return plan


def shop_checkouts() -> list[Request]:
    """The Flask and FastAPI shops' 200 checkouts: 37 fail, some are declined, 6 are slow."""
    return checkout_plan(
        200,
        "/checkout",
        fail=set(range(2, 200, 5)[:37]),
        decline=set(range(3, 200, 17)),
        delay={11, 45, 79, 113, 149, 181},
        carts=7,
    )


def knob_counts(plan: list[Request]) -> tuple[int, int, int]:
    """(failures, declines, delayed) the plan asks for."""

    def asking(knob: str) -> int:
        return sum(knob in headers for _, _, headers in plan)

    return asking("X-Shop-Fail"), asking("X-Shop-Decline"), asking("X-Shop-Delay-Ms")


def send_plan(
    client: httpx.Client, plan: list[Request], workers: int, json: Optional[Any] = None
) -> list[httpx.Response]:
    """Every request of ``plan``, ``workers`` at a time, in plan order."""

    def send(item: Request) -> httpx.Response:
        method, path, headers = item
        return client.request(method, path, headers=headers, json=json)

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(send, plan))


#: What the Flask and FastAPI shops' 500 requests (``checkout_plan(200, ...)`` with 37 failures,
#: then 150 browse, 100 search, 40 cart and 10 unknown paths) plus the readiness probe and two
#: streamed exports must record, per journey.
SHOP_COUNTS = {
    "checkout": 200,
    "browse": 150,
    "search": 100,
    "cart": 40,
    "export": 2,
    "unclaimed": 11,
}


def assert_shop_recorded(data: dict[str, dict[str, Any]], delayed: int) -> None:
    """The Flask and FastAPI shops' checks of ``journey_totals``: counts, failures, slow events,
    the histogram's buckets, TTFB only for streams, and one export abandoned mid-stream."""
    checkout = data["checkout"]
    assert checkout["requests"] == 200
    assert checkout["failures"] == 37
    assert checkout["slow"] == delayed
    assert checkout["aborted"] == 0
    # The histogram agrees: exactly the delayed events lie above the 0.3 s bucket edge.
    over = 0
    for hist in checkout["duration"].values():
        edge = bisect.bisect_left(hist.explicit_bounds, 0.3)
        assert hist.explicit_bounds[edge] == 0.3
        over += sum(hist.bucket_counts[edge + 1 :])
    assert over == delayed
    assert checkout["duration"]["failure"].count == 37
    assert checkout["duration"]["success"].count == 163
    assert checkout["duration"]["success"].sum >= delayed * 0.35

    for journey, count in (("browse", 150), ("search", 100), ("cart", 40)):
        entry = data[journey]
        assert (entry["requests"], entry["failures"], entry["slow"]) == (count, 0, 0), journey
        assert entry["ttfb"] is None  # bodies sent at once: no separate TTFB

    # /healthz (the readiness probe) and ten unknown paths; no path became a series.
    assert data["unclaimed"]["requests"] == 11
    assert set(data) == {"browse", "search", "cart", "checkout", "export", "unclaimed"}

    export = data["export"]
    assert export["requests"] == 1 and export["aborted"] == 1
    streamed = export["duration"]["success"]
    assert streamed.count == 1 and streamed.sum >= 0.5
    # Both streams sent their header row at once (the abandoned one too): TTFB well under 0.5 s.
    assert export["ttfb"].count == 2 and export["ttfb"].sum < 0.25
