"""The Django shop example under Django's own server (runserver), gunicorn (WSGI) and uvicorn
(ASGI), exporting OTLP to a real receiver; every count asserted is what the test sent."""

from __future__ import annotations

import sys

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
from tests.support.shop_traffic import Request, checkout_plan, knob_counts, send_plan

pytestmark = pytest.mark.slow

APP_DIR = ROOT / "examples" / "django_app"

SERVERS = {
    "runserver": ([sys.executable, "manage.py", "runserver", "127.0.0.1:{port}", "--noreload"], ""),
    "gunicorn": (
        [tool("gunicorn"), "--bind", "127.0.0.1:{port}", "--workers", "2", "--threads", "4"]
        + ["djshop.wsgi"],
        "",
    ),
    "uvicorn": (
        [tool("uvicorn"), "djshop.asgi:application", "--host", "127.0.0.1", "--port", "{port}"]
        + ["--no-access-log"],
        "live/",
    ),
}


def _plan() -> list[Request]:
    plan = checkout_plan(
        60,
        "/checkout/",
        fail=set(range(0, 55, 5)),
        decline={3, 13, 23, 33, 43},
        delay={16, 36, 56},
        carts=3,
    )
    plan += [("GET", "/", {}) for _ in range(10)]
    plan += [("GET", f"/products/{i % 7}/", {}) for i in range(30)]  # 0, 6: 404s, still browse
    plan += [("GET", f"/search/?q={q}", {}) for q in ("cup", "press", "x", "grinder") * 5]
    plan += [("GET", "/cart/", {}) for _ in range(10)]
    plan += [("POST", "/cart/2/", {"X-Cart-Id": "9"}) for _ in range(10)]
    plan += [("GET", f"/no/such/{i}/", {}) for i in range(5)]
    return plan


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_django_shop(server, otlp_receiver):
    plan = _plan()
    failures, _, delayed = knob_counts(plan)
    assert (failures, delayed) == (11, 3)
    argv, stream_suffix = SERVERS[server]
    service = f"django-shop-{server}"
    env = sli_env(otlp_receiver, service, DJANGO_SETTINGS_MODULE="djshop.settings")
    with serve(argv, env=env, cwd=APP_DIR, ready_path="/healthz/") as url:
        with httpx.Client(base_url=url, timeout=30) as client:
            statuses = [r.status_code for r in send_plan(client, plan, 4)]
            stream = client.get(f"/orders/export/{stream_suffix}?rows=5&delay_ms=100")
        assert statuses.count(500) == failures and statuses.count(402) == 5
        assert stream.status_code == 200 and stream.text.count("\n") == 6
        walk_away_mid_stream(url, f"/orders/export/{stream_suffix}?rows=40&delay_ms=50", b"order")
        data = wait_for_counts(
            otlp_receiver,
            service,
            {"checkout": 60, "browse": 40, "search": 20, "cart": 20, "export": 2, "unclaimed": 6},
        )

    checkout = data["checkout"]
    assert (checkout["requests"], checkout["failures"], checkout["slow"]) == (60, failures, delayed)
    assert checkout["duration"]["failure"].count == failures
    for journey, count in (("browse", 40), ("search", 20), ("cart", 20)):
        entry = data[journey]
        assert (entry["requests"], entry["failures"], entry["slow"]) == (count, 0, 0), journey
    assert data["unclaimed"]["requests"] == 6  # readiness probe + 5 unknown paths
    export = data["export"]
    assert (export["requests"], export["aborted"]) == (1, 1)
    assert export["duration"]["success"].sum >= 0.5
    assert export["ttfb"].count >= 1 and export["ttfb"].sum < 0.25 * export["ttfb"].count
