"""The Flask shop example under gunicorn (2 forked workers), exporting OTLP to a real receiver.

Every number asserted is what the test sent: 37 induced failures are 37 failures, 6 requests
delayed past checkout's 300 ms threshold are 6 slow ones (and the only events above 0.3 s in the
histogram), a 0.5 s stream lasts >= 0.5 s with a TTFB well under it, a client that walks away in
the middle of a stream is one aborted event, and unknown paths all land in ``unclaimed``.
"""

from __future__ import annotations

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
from tests.support.shop_traffic import (
    SHOP_COUNTS,
    Request,
    assert_shop_recorded,
    knob_counts,
    send_plan,
    shop_checkouts,
)

pytestmark = pytest.mark.slow

SERVICE = "flask-shop-test"
APP_DIR = ROOT / "examples" / "flask_app"


def _plan() -> list[Request]:
    plan = shop_checkouts()
    plan += [("GET", "/", {}) for _ in range(60)]
    plan += [("GET", f"/products/{i % 8}", {}) for i in range(90)]  # 6, 7 are 404s: still browse
    plan += [("GET", f"/search?q={q}", {}) for q in ("cup", "grind", "beans", "zzz") * 25]
    plan += [("POST", "/cart", {"X-Cart-Id": "c"}) for _ in range(40)]
    plan += [("GET", f"/no/such/page/{i}", {}) for i in range(10)]
    return plan


def test_flask_shop_under_gunicorn(otlp_receiver):
    plan = _plan()
    assert len(plan) == 500
    failures, declines, delayed = knob_counts(plan)
    assert (failures, delayed) == (37, 6) and declines > 0

    argv = [tool("gunicorn"), "--bind", "127.0.0.1:{port}", "--workers", "2"]
    argv += ["--worker-class", "gthread", "--threads", "4", "--chdir", str(APP_DIR)]
    argv += ["shop:create_app()"]
    env = sli_env(otlp_receiver, SERVICE)
    with serve(argv, env=env, ready_path="/healthz") as url:
        with httpx.Client(base_url=url, timeout=30) as client:
            responses = send_plan(client, plan, 8, json={"product_id": 2})
            stream = client.get("/orders/export?rows=5&delay_ms=100")
        statuses = [r.status_code for r in responses]
        assert statuses.count(500) == failures
        assert statuses.count(402) == declines
        assert stream.status_code == 200 and stream.text.count("\n") == 6

        walk_away_mid_stream(url, "/orders/export?rows=30&delay_ms=50", b"order_id")
        data = wait_for_counts(otlp_receiver, SERVICE, SHOP_COUNTS)

    assert_shop_recorded(data, delayed)
