"""The Flask shop example under gunicorn (2 forked workers), exporting OTLP to a real receiver.

Every number asserted is what the test sent: 37 induced failures are 37 failures, 6 requests
delayed past checkout's 300 ms threshold are 6 slow ones (and the only events above 0.3 s in the
histogram), a 0.5 s stream lasts >= 0.5 s with a TTFB well under it, a client that walks away in
the middle of a stream is one aborted event, and unknown paths all land in ``unclaimed``.
"""

from __future__ import annotations

import bisect
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.support.servers import (
    ROOT,
    serve,
    sli_env,
    tool,
    wait_for_counts,
    walk_away_mid_stream,
)

pytestmark = pytest.mark.slow

SERVICE = "flask-shop-test"
APP_DIR = ROOT / "examples" / "flask_app"


def _plan() -> list[tuple[str, str, dict[str, str]]]:
    plan: list[tuple[str, str, dict[str, str]]] = []
    fail = set(range(2, 200, 5)[:37])  # 37 checkouts fail
    decline = set(range(3, 200, 17))  # card declined: 402, a success of the journey
    delay = {11, 45, 79, 113, 149, 181}  # 350 ms: past the 300 ms threshold
    for i in range(200):
        headers = {"X-Cart-Id": str(i % 7)}
        if i in fail:
            headers["X-Shop-Fail"] = "1"
        elif i in decline:
            headers["X-Shop-Decline"] = "1"
        elif i in delay:
            headers["X-Shop-Delay-Ms"] = "350"
        plan.append(("POST", "/checkout", headers))
    plan += [("GET", "/", {}) for _ in range(60)]
    plan += [("GET", f"/products/{i % 8}", {}) for i in range(90)]  # 6, 7 are 404s: still browse
    plan += [("GET", f"/search?q={q}", {}) for q in ("cup", "grind", "beans", "zzz") * 25]
    plan += [("POST", "/cart", {"X-Cart-Id": "c"}) for _ in range(40)]
    plan += [("GET", f"/no/such/page/{i}", {}) for i in range(10)]
    return plan


def test_flask_shop_under_gunicorn(otlp_receiver):
    plan = _plan()
    assert len(plan) == 500
    failures = sum("X-Shop-Fail" in h for _, _, h in plan)
    declines = sum("X-Shop-Decline" in h for _, _, h in plan)
    delayed = sum("X-Shop-Delay-Ms" in h for _, _, h in plan)
    assert (failures, delayed) == (37, 6) and declines > 0

    argv = [tool("gunicorn"), "--bind", "127.0.0.1:{port}", "--workers", "2"]
    argv += ["--worker-class", "gthread", "--threads", "4", "--chdir", str(APP_DIR)]
    argv += ["shop:create_app()"]
    env = sli_env(otlp_receiver, SERVICE)
    with serve(argv, env=env, ready_path="/healthz") as url:
        with httpx.Client(base_url=url, timeout=30) as client:

            def send(item):
                method, path, headers = item
                return client.request(method, path, headers=headers, json={"product_id": 2})

            with ThreadPoolExecutor(8) as pool:
                statuses = [r.status_code for r in pool.map(send, plan)]
            stream = client.get("/orders/export?rows=5&delay_ms=100")
        assert statuses.count(500) == failures
        assert statuses.count(402) == declines
        assert stream.status_code == 200 and stream.text.count("\n") == 6

        walk_away_mid_stream(url, "/orders/export?rows=30&delay_ms=50", b"order_id")
        data = wait_for_counts(
            otlp_receiver,
            SERVICE,
            {
                "checkout": 200,
                "browse": 150,
                "search": 100,
                "cart": 40,
                "export": 2,
                "unclaimed": 11,
            },
        )

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
