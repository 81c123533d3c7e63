"""The FastAPI shop example under uvicorn (2 worker processes), with its SLO file, exporting OTLP to
a real receiver.

Every number asserted is what the test sent: 37 induced failures are 37 failures, 6 requests
delayed past checkout's 300 ms threshold are 6 slow ones (and the only events above 0.3 s in the
histogram), requests that FastAPI rejects before the endpoint (422) still count for the journey
the route map names, a 0.5 s stream lasts >= 0.5 s with a TTFB well under it, a client that walks
away in the middle of a stream is one aborted event, and unknown paths all land in ``unclaimed``.
"""

from __future__ import annotations

import bisect
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.support.otlp_receiver import totals
from tests.support.servers import (
    ROOT,
    clean_env,
    serve,
    sli_env,
    tool,
    wait_for_counts,
    walk_away_mid_stream,
)

pytestmark = pytest.mark.slow

SERVICE = "fastapi-shop-test"
APP_DIR = ROOT / "examples" / "fastapi_app"


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
    # 0, 6, 7 are 404s (the endpoint's HTTPException): still browse, a success.
    plan += [("GET", f"/products/{i % 8}", {}) for i in range(80)]
    # 422s: FastAPI rejects the path parameter before the endpoint runs; the route map names them.
    plan += [("GET", f"/products/x{i}", {}) for i in range(10)]
    plan += [("GET", f"/search?q={q}", {}) for q in ("cup", "grind", "beans", "zzz") * 25]
    plan += [("POST", "/cart", {"X-Cart-Id": "c"}) for _ in range(30)]
    plan += [("GET", "/cart", {"X-Cart-Id": "c"}) for _ in range(10)]
    plan += [("GET", f"/no/such/page/{i}", {}) for i in range(10)]
    return plan


def test_fastapi_shop_under_uvicorn(otlp_receiver):
    pytest.importorskip("fastapi")
    plan = _plan()
    assert len(plan) == 500
    failures = sum("X-Shop-Fail" in h for _, _, h in plan)
    declines = sum("X-Shop-Decline" in h for _, _, h in plan)
    delayed = sum("X-Shop-Delay-Ms" in h for _, _, h in plan)
    assert (failures, delayed) == (37, 6) and declines > 0

    argv = [tool("uvicorn"), "--app-dir", str(APP_DIR), "--factory", "shop:create_app"]
    argv += ["--host", "127.0.0.1", "--port", "{port}", "--workers", "2", "--no-access-log"]
    env = sli_env(otlp_receiver, SERVICE, SLI_SLO_FILE=str(APP_DIR / "slo.yaml"))
    with serve(argv, env=env, ready_path="/healthz") as url:
        with httpx.Client(base_url=url, timeout=30) as client:

            def send(item: tuple[str, str, dict[str, str]]) -> httpx.Response:
                method, path, headers = item
                return client.request(method, path, headers=headers, json={"product_id": 2})

            with ThreadPoolExecutor(8) as pool:
                responses = list(pool.map(send, plan))
            stream = client.get("/orders/export?rows=5&delay_ms=100")
        statuses = [r.status_code for r in responses]
        assert statuses.count(500) == failures
        assert statuses.count(402) == declines
        assert statuses.count(422) == 10
        assert statuses.count(404) == 30 + 10  # unknown products, unknown paths
        carts = [r.json()["cart"] for r in responses[-30:-20]]  # POST /cart answers the cart
        assert all(cart and set(cart) == {2} for cart in carts)
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
        assert entry["ttfb"] is None  # bodies sent in one message: no separate TTFB

    # /healthz (the readiness probe) and ten unknown paths; no path became a series.
    assert data["unclaimed"]["requests"] == 11
    assert set(data) == {"browse", "search", "cart", "checkout", "export", "unclaimed"}

    # Only the SLI metrics: the shop keeps FastAPI's own HTTP metrics off (see the next test).
    names = {name for name, _ in totals(otlp_receiver.metrics, resource={"service.name": SERVICE})}
    assert names and all(name.startswith("sli.journey.") for name in names), names

    export = data["export"]
    assert export["requests"] == 1 and export["aborted"] == 1
    streamed = export["duration"]["success"]
    assert streamed.count == 1 and streamed.sum >= 0.5
    # Both streams sent their header row at once (the abandoned one too): TTFB well under 0.5 s.
    assert export["ttfb"].count == 2 and export["ttfb"].sum < 0.25


#: In a fresh interpreter: ``sli.configure()`` installs its meter provider globally, the shop is
#: built with FastAPI's own metrics on or off, two requests are served in process, and the names
#: of the metrics in sli_instrument's pipeline are printed, per instrumentation scope.
_NATIVE_METRICS = r"""
import asyncio, json, sys

import httpx
import sli_instrument as sli

config = sli.configure(service_name="native", exporter="memory")
sys.path.insert(0, sys.argv[1])
import shop

app = shop.create_app(configure=False, native_metrics=sys.argv[2] == "on")


async def main():
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
        await client.get("/")
        await client.post("/checkout")


asyncio.run(main())
names = {}
for resource_metrics in config.reader.get_metrics_data().resource_metrics:
    for scope_metrics in resource_metrics.scope_metrics:
        names.setdefault(scope_metrics.scope.name, []).extend(
            metric.name for metric in scope_metrics.metrics
        )
print(json.dumps(names))
"""


@pytest.mark.parametrize("native", ["on", "off"])
def test_fastapi_native_metrics_follow_the_shops_switch(native: str) -> None:
    """FastAPI 0.142+ records its own HTTP metrics on any global meter provider, ours included;
    ``create_app(native_metrics=False)`` (the shop's default) keeps the pipeline to the SLIs."""
    import inspect

    FastAPI = pytest.importorskip("fastapi").FastAPI

    if "telemetry" not in inspect.signature(FastAPI.__init__).parameters:
        pytest.skip("this FastAPI has no native telemetry")
    done = subprocess.run(
        [sys.executable, "-c", _NATIVE_METRICS, str(APP_DIR), native],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    names = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(names["sli_instrument"]) >= {"sli.journey.requests", "sli.journey.duration"}
    fastapi_names = set(names.get("fastapi", []))
    if native == "on":
        assert "http.server.request.duration" in fastapi_names, names
    else:
        assert not fastapi_names, names
