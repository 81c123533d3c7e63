"""The FastAPI shop example under uvicorn (2 worker processes), with its SLO file, exporting OTLP to
a real receiver.

Every number asserted is what the test sent: 37 induced failures are 37 failures, 6 requests
delayed past checkout's 300 ms threshold are 6 slow ones (and the only events above 0.3 s in the
histogram), requests that FastAPI rejects before the endpoint (422) still count for the journey
the route map names, a 0.5 s stream lasts >= 0.5 s with a TTFB well under it, a client that walks
away in the middle of a stream is one aborted event, and unknown paths all land in ``unclaimed``.
"""

from __future__ import annotations

import json
import subprocess
import sys

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
from tests.support.shop_traffic import (
    SHOP_COUNTS,
    Request,
    assert_shop_recorded,
    knob_counts,
    send_plan,
    shop_checkouts,
)

pytestmark = pytest.mark.slow

SERVICE = "fastapi-shop-test"
APP_DIR = ROOT / "examples" / "fastapi_app"


def _plan() -> list[Request]:
    plan = shop_checkouts()
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
    failures, declines, delayed = knob_counts(plan)
    assert (failures, delayed) == (37, 6) and declines > 0

    argv = [tool("uvicorn"), "--app-dir", str(APP_DIR), "--factory", "shop:create_app"]
    argv += ["--host", "127.0.0.1", "--port", "{port}", "--workers", "2", "--no-access-log"]
    env = sli_env(otlp_receiver, SERVICE, SLI_SLO_FILE=str(APP_DIR / "slo.yaml"))
    with serve(argv, env=env, ready_path="/healthz") as url:
        with httpx.Client(base_url=url, timeout=30) as client:
            responses = send_plan(client, plan, 8, json={"product_id": 2})
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
        data = wait_for_counts(otlp_receiver, SERVICE, SHOP_COUNTS)

    assert_shop_recorded(data, delayed)
    # Only the SLI metrics: the shop keeps FastAPI's own HTTP metrics off (see the next test).
    names = {name for name, _ in totals(otlp_receiver.metrics, resource={"service.name": SERVICE})}
    assert names and all(name.startswith("sli.journey.") for name in names), names


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
