"""Route maps and the names route templates get as journeys."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sli_instrument import ConfigurationError, registry
from sli_instrument._names import is_valid_journey_name
from sli_instrument._routing import RouteMap, UnclaimedPolicy, route_journey_name

pytestmark = [pytest.mark.core, pytest.mark.usefixtures("sli_reset")]


@pytest.mark.parametrize(
    ("template", "name"),
    [
        ("/cart/<int:item_id>", "cart.item_id"),  # Flask, Django converters
        ("cart/<int:item_id>/", "cart.item_id"),  # Django (no leading slash)
        ("/items/{item_id}", "items.item_id"),  # Starlette, FastAPI
        ("/items/{item_id:int}", "items.item_id"),
        ("/api/v1/orders/<order_id>", "api.v1.orders.order_id"),
        ("/", "root"),
        ("^articles/(?P<year>[0-9]{4})/$", "articles._Pyear_0-9_4"),  # Django re_path
    ],
)
def test_route_templates_become_valid_journey_names(template, name):
    assert route_journey_name(template) == name


@given(st.text(max_size=300))
def test_any_template_gives_a_valid_journey_name(template):
    assert is_valid_journey_name(route_journey_name(template))


def test_route_map_matching_order_and_kinds():
    routes = RouteMap(
        {
            "/cart/<int:item_id>": "cart",
            "/cart/special": "special",  # literal: an exact path wins over an earlier pattern
            "/static/*": "assets",
            "orders/{order_id}/": "orders",  # a Django-style key without the leading slash
        }
    )
    name = lambda journey: None if journey is None else journey.name  # noqa: E731
    assert name(routes.match_path("/cart/12")) == "cart"
    assert name(routes.match_path("/cart/special")) == "special"
    assert name(routes.match_path("/cart/12/x")) is None
    assert name(routes.match_path("/static/css/site.css")) == "assets"
    assert name(routes.match_path("/orders/9/")) == "orders"
    assert name(routes.match_template("/cart/<int:item_id>")) == "cart"
    assert name(routes.match_template("orders/{order_id}/")) == "orders"
    assert routes.match_template("/cart/<item_id>") is None  # templates match exactly
    assert {"cart", "special", "assets", "orders"} <= set(registry.names())


def test_patterns_never_match_more_than_one_segment_per_placeholder():
    routes = RouteMap({"/u/<id>/profile": "profile"})
    assert routes.match_path("/u/7/profile") is not None
    assert routes.match_path("/u/7/8/profile") is None
    assert routes.match_path("/u//profile") is None


def test_unclaimed_policies_and_the_cap():
    assert UnclaimedPolicy("ignore").journey_for("/x") is None
    assert UnclaimedPolicy().journey_for("/x").name == "unclaimed"
    registry.set_cap(2)
    policy = UnclaimedPolicy("route")
    names = [policy.journey_for(f"/r{i}").name for i in range(4)]
    assert names == ["r0", "r1", "unclaimed", "unclaimed"]
    assert policy.journey_for("/r0").name == "r0"  # cached, bounded by the app's routes
    assert policy.journey_for(None).name == "unclaimed"


@pytest.mark.parametrize(
    ("routes", "quoted"),
    [
        (["/x"], "['/x']"),
        ({"": "x"}, "''"),
        ({"/x": "not a name"}, "'not a name'"),
        ({"/x": 3}, "3"),
    ],
)
def test_bad_route_maps_raise_quoting_the_value(routes, quoted):
    with pytest.raises(ConfigurationError) as info:
        RouteMap(routes, source="WSGIMiddleware argument")
    assert quoted in str(info.value)
