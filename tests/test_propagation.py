"""Journeys across services: allowlisted baggage in, OpenTelemetry context out, no leaks."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry import baggage, propagate

import sli_instrument as sli
from sli_instrument import ConfigurationError, WSGIMiddleware
from sli_instrument._propagation import BaggagePolicy
from sli_instrument.testing import recording
from tests.support.wsgi_call import call_wsgi

pytestmark = pytest.mark.usefixtures("sli_reset")


@pytest.mark.core
def test_baggage_parsing_follows_w3c_and_the_allowlist():
    policy = BaggagePolicy(["checkout", "sign-in"])
    pick = lambda header: None if (j := policy.journey_from(header)) is None else j.name  # noqa: E731
    assert pick("sli.journey=checkout") == "checkout"
    assert pick("a=1, sli.journey = sign-in ;prop=x, b=2") == "sign-in"
    assert pick("sli.journey=check%6Fut") == "checkout"  # percent-encoded
    assert pick("sli.journey=search") is None  # not allowlisted: never a journey, never a series
    assert pick("other=checkout") is None
    assert pick("") is None and pick(None) is None
    assert pick("sli.journey=" + "x" * 10_000) is None
    with pytest.raises(ConfigurationError, match="'checkout'"):
        BaggagePolicy("checkout")


def test_a_claim_made_through_asgiref_does_not_leak_into_the_next_request():
    # Django runs async views under WSGI with async_to_sync, which copies context variables back
    # into the calling thread: the journey's baggage must still end with the request.
    from asgiref.sync import async_to_sync

    seen: list[dict[str, str]] = []

    @sli.journey("checkout")
    async def checkout() -> None:
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        seen.append(carrier)

    def app(environ: Any, start_response: Any) -> Any:
        if environ["PATH_INFO"] == "/checkout":
            async_to_sync(checkout)()
        else:
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            seen.append(carrier)
        start_response("200 OK", [])
        return [b"ok"]

    wrapped = WSGIMiddleware(app)
    with recording() as rec:
        call_wsgi(wrapped, "/checkout")
        assert baggage.get_baggage("sli.journey") is None
        call_wsgi(wrapped, "/next")
        assert rec.journey("checkout").requests == 1
    assert "sli.journey=checkout" in seen[0].get("baggage", "")
    assert "sli.journey" not in seen[1].get("baggage", "")  # the next request starts clean


@pytest.mark.core
def test_propagate_false_and_the_catch_all_put_nothing_in_the_context():
    seen: list[dict[str, str]] = []

    @sli.journey("search")
    def search() -> None:
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        seen.append(carrier)

    def app(environ: Any, start_response: Any) -> Any:
        if environ["PATH_INFO"] == "/search":
            search()
        else:
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            seen.append(carrier)
        start_response("200 OK", [])
        return [b""]

    with recording():
        call_wsgi(WSGIMiddleware(app, propagate=False), "/search")
        call_wsgi(WSGIMiddleware(app), "/unclaimed-path")
    assert all("sli.journey" not in carrier.get("baggage", "") for carrier in seen)
