"""Django: SLIMiddleware in sync and async stacks, views of every kind, settings, streaming."""

from __future__ import annotations

import asyncio
import importlib

import pytest

django = pytest.importorskip("django")

from django.conf import settings  # noqa: E402

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="tests",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF="tests.support.django_site",
        MIDDLEWARE=["sli_instrument.django.SLIMiddleware"],
        INSTALLED_APPS=[],
        DATABASES={},
        SLI_INSTRUMENT={},
        LOGGING_CONFIG=None,
    )
    django.setup()

from django.core.exceptions import MiddlewareNotUsed  # noqa: E402
from django.test import AsyncClient, Client, override_settings  # noqa: E402
from django.urls import clear_url_caches  # noqa: E402

from sli_instrument import ConfigurationError  # noqa: E402
from sli_instrument.django import SLIMiddleware  # noqa: E402
from sli_instrument.testing import recording  # noqa: E402
from tests.support.import_guard import run_with_blocked  # noqa: E402

pytestmark = pytest.mark.usefixtures("sli_reset", "site")


@pytest.fixture
def site():
    # sli_reset forgot the journeys the views registered at import: import them afresh.
    import tests.support.django_site as module

    importlib.reload(module)
    clear_url_caches()
    yield module
    clear_url_caches()


def counts(rec):
    return {n: (m.requests, m.failures, m.slow) for n, m in rec.metrics().items() if m.requests}


def fetch(client, path, method="get"):
    response = getattr(client, method)(path)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    response.close()
    return response.status_code, body


def test_sync_stack_function_class_and_async_views():
    client = Client(raise_request_exception=False)
    with recording() as rec:
        codes = [
            fetch(client, "/items/1/")[0],
            fetch(client, "/items/2/?slow=1")[0],
            fetch(client, "/search/")[0],
            fetch(client, "/checkout/")[0],
            fetch(client, "/checkout/?fail=1")[0],
            fetch(client, "/status/503/")[0],
            fetch(client, "/status/404/")[0],
            fetch(client, "/nowhere/")[0],
        ]
        result = counts(rec)
    assert codes == [200, 200, 200, 201, 500, 503, 404, 404]
    assert result == {
        "browse": (2, 0, 1),
        "search": (1, 0, 0),
        "checkout": (2, 1, 0),  # an async view under a sync stack, its exception a 500
        "unclaimed": (3, 1, 0),
    }


def test_async_stack_and_route_templates():
    async def drive():
        client = AsyncClient(raise_request_exception=False)
        codes = []
        for path in ("/items/3/", "/search/", "/checkout/", "/api/v1/status/502/", "/x/"):
            response = await client.get(path)
            codes.append(response.status_code)
        return codes

    with override_settings(SLI_INSTRUMENT={"unclaimed": "route"}), recording() as rec:
        assert asyncio.run(drive()) == [200, 200, 201, 502, 404]
        result = counts(rec)
    assert result == {
        "browse": (1, 0, 0),
        "search": (1, 0, 0),
        "checkout": (1, 0, 0),
        "api.v1.status.code": (1, 1, 0),  # include() prefix + route, from resolver_match.route
        "unclaimed": (1, 0, 0),
    }


def test_streaming_responses_are_measured_to_the_last_chunk_sync_and_async():
    with override_settings(SLI_INSTRUMENT={"routes": {"stream/": "export", "astream/": "live"}}):
        with recording() as rec:
            status, body = fetch(Client(), "/stream/")
            assert (status, body) == (200, b"id\n0\n1\n2\n")

            async def drive():
                response = await AsyncClient().get("/astream/")
                chunks = [chunk async for chunk in response.streaming_content]
                await asyncio.to_thread(response.close)
                return b"".join(chunks)

            assert asyncio.run(drive()) == b"id\n0\n1\n2\n"
            export, live = rec.journey("export"), rec.journey("live")
    for metrics in (export, live):
        assert metrics.requests == 1
        assert metrics.duration_sum["success"] >= 0.3
        assert metrics.ttfb_count == 1 and metrics.ttfb_sum < 0.1


def test_a_streaming_response_closed_early_is_aborted():
    with override_settings(SLI_INSTRUMENT={"routes": {"stream/": "export"}}), recording() as rec:
        response = Client().get("/stream/")
        assert next(iter(response.streaming_content)) == b"id\n"
        response.close()
        metrics = rec.journey("export")
    assert (metrics.requests, metrics.aborted) == (0, 1)


def test_settings_disable_configure_and_reject_bad_values():
    with override_settings(SLI_INSTRUMENT={"enabled": False}):
        with pytest.raises(MiddlewareNotUsed):
            SLIMiddleware(lambda request: None)
        with recording() as rec:
            fetch(Client(), "/search/")
            fetch(Client(), "/status/200/")
            # No middleware: the decorated view records its own call (no TTFB: not a request),
            # the undecorated one nothing.
            assert (rec.journey("search").requests, rec.journey("search").ttfb_count) == (1, 0)
            assert rec.journey("unclaimed").requests == 0

    classifier = "tests.support.django_site.teapot_is_a_failure"
    with override_settings(SLI_INSTRUMENT={"classifier": classifier}), recording() as rec:
        fetch(Client(), "/status/418/")
        fetch(Client(), "/status/200/")
        assert rec.journey("unclaimed").failures == 1

    for bad, quoted in (
        ({"unclaimed": "never"}, "'never'"),
        ({"rout": {}}, "'rout'"),
        ({"classifier": "no.such.function"}, "'no.such.function'"),
        ("yes", "'yes'"),
    ):
        with override_settings(SLI_INSTRUMENT=bad):
            with pytest.raises(ConfigurationError) as info:
                SLIMiddleware(lambda request: None)
            assert quoted in str(info.value) and "SLI_INSTRUMENT" in str(info.value)


def test_the_django_integration_imports_no_other_framework():
    output = run_with_blocked(
        ["flask", "werkzeug", "starlette", "fastapi", "yaml", "boto3", "prometheus_client"],
        """
import django
from django.conf import settings
settings.configure(
    DEBUG=False, SECRET_KEY="x", ALLOWED_HOSTS=["*"], ROOT_URLCONF="tests.support.django_site",
    MIDDLEWARE=["sli_instrument.django.SLIMiddleware"], INSTALLED_APPS=[], DATABASES={},
)
django.setup()
from django.test import Client
from sli_instrument.testing import recording
with recording() as rec:
    response = Client().get("/search/")
    assert response.content == b"results"
    response.close()
    print(rec.journey("search").requests)
""",
    )
    assert output.strip().splitlines()[-1] == "1"


def test_baggage_names_only_unclaimed_requests_and_only_allowed_journeys():
    def get(path, baggage):
        response = Client().get(path, HTTP_BAGGAGE=baggage)
        response.close()
        return response.status_code

    with override_settings(SLI_INSTRUMENT={"baggage_journeys": ["checkout"]}):
        with recording() as rec:
            assert get("/status/200/", "sli.journey=checkout") == 200
            assert get("/status/200/", "sli.journey=evil") == 200  # not on the allowlist
            assert get("/search/", "sli.journey=checkout") == 200  # the view names its own
            assert {n: m.requests for n, m in rec.metrics().items() if m.requests} == {
                "checkout": 1,
                "unclaimed": 1,
                "search": 1,
            }
