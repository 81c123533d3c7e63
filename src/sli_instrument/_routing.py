"""Which journey a request belongs to when no ``@journey`` names it: route maps and the policy
for requests that nothing claims.

Raw URL paths never become journey names or attribute values: a route map names journeys chosen by
the user (registered at configuration time), and the ``"route"`` policy uses the *route template*
the framework matched (``/cart/<int:item_id>``), which comes from the application's code, never from
the client, and only while the journey cap allows. An unknown path therefore lands in the reserved
catch-all journey (or is not recorded) and can never create a series.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Optional

from ._contract import UNCLAIMED_JOURNEY
from ._names import MAX_NAME_LENGTH
from ._registry import Journey, registry
from ._safety import report_internal_error
from .errors import ConfigurationError

__all__ = ["UNCLAIMED_POLICIES", "RouteMap", "UnclaimedPolicy", "route_journey_name"]

#: ``catch-all``: the reserved journey ``unclaimed`` (default); ``route``: the matched route
#: template becomes a journey while the journey cap allows, else ``unclaimed``; ``ignore``: the
#: request is not recorded.
UNCLAIMED_POLICIES = ("catch-all", "route", "ignore")

_PLACEHOLDER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>|\{([^{}:]+)(?::[^{}]*)?\}")
_INVALID = re.compile(r"[^A-Za-z0-9_.\-]+")


def _normalize(template: str) -> str:
    return template if template.startswith("/") else "/" + template


def route_journey_name(template: str) -> str:
    """A valid journey name for a route template: ``/cart/<int:item_id>`` -> ``cart.item_id``."""
    text = _PLACEHOLDER.sub(lambda m: m.group(1) or m.group(2) or "", template)
    text = text.strip("/^$").replace("/", ".")
    text = _INVALID.sub("_", text).strip("._-")
    return (text or "root")[:MAX_NAME_LENGTH]


def _pattern_regex(pattern: str) -> Optional[re.Pattern[str]]:
    """``/cart/<id>``, ``/cart/{id}`` match one path segment; a trailing ``*`` matches the rest."""
    prefix = pattern.endswith("*")
    body = pattern[:-1] if prefix else pattern
    parts = _PLACEHOLDER.split(body)
    if len(parts) == 1 and not prefix:
        return None  # a literal path: matched by dictionary lookup
    regex = []
    # split() with two groups yields text, group1, group2, text, ...
    for index in range(0, len(parts), 3):
        regex.append(re.escape(parts[index]))
        if index + 1 < len(parts):
            regex.append("[^/]+")
    return re.compile("".join(regex) + (".*" if prefix else ""), re.DOTALL)


class RouteMap:
    """A user's ``{route pattern or template: journey name}`` map, compiled once.

    A key is matched three ways: exactly against the route template the framework matched (Flask
    ``/cart/<int:item_id>``, Django ``cart/<int:item_id>/``, Starlette ``/cart/{item_id}``), exactly
    against the request path, and as a pattern against the request path (placeholders ``<name>`` or
    ``{name}`` match one segment, a trailing ``*`` matches any rest). The first matching pattern in
    the map's order wins.
    """

    __slots__ = ("_exact", "_patterns")

    def __init__(self, routes: object, *, source: str = "argument") -> None:
        if not isinstance(routes, Mapping):
            raise ConfigurationError(
                f"invalid routes {routes!r} (from {source}): must be a mapping such as "
                "{'/cart/<item_id>': 'cart', '/search': 'search'}"
            )
        self._exact: dict[str, Journey] = {}
        self._patterns: list[tuple[re.Pattern[str], Journey]] = []
        for pattern, name in routes.items():
            if not isinstance(pattern, str) or not pattern:
                raise ConfigurationError(
                    f"invalid route pattern {pattern!r} in routes (from {source}): must be a "
                    "non-empty string such as '/cart/<item_id>'"
                )
            journey = registry.register(name, source=f"routes[{pattern!r}] ({source})")
            key = _normalize(pattern)
            self._exact.setdefault(key, journey)
            regex = _pattern_regex(key)
            if regex is not None:
                self._patterns.append((regex, journey))

    def __bool__(self) -> bool:
        return bool(self._exact)

    def match_path(self, path: str) -> Optional[Journey]:
        journey = self._exact.get(path)
        if journey is not None:
            return journey
        for regex, candidate in self._patterns:
            if regex.fullmatch(path) is not None:
                return candidate
        return None

    def match_template(self, template: str) -> Optional[Journey]:
        return self._exact.get(_normalize(template))


class UnclaimedPolicy:
    """What happens to a request that no decorator, route map or allowed baggage names."""

    __slots__ = ("_by_template", "_catch_all", "_lock", "policy")

    def __init__(self, policy: object = "catch-all", *, source: str = "argument") -> None:
        if policy not in UNCLAIMED_POLICIES:
            raise ConfigurationError(
                f"invalid unclaimed policy {policy!r} (from {source}): choose one of "
                f"{', '.join(repr(p) for p in UNCLAIMED_POLICIES)}"
            )
        self.policy = str(policy)
        self._catch_all: Optional[Journey] = None
        if self.policy != "ignore":
            self._catch_all = registry.register(
                UNCLAIMED_JOURNEY, source=f"unclaimed policy ({source})"
            )
        # Route templates come from the application's code, so this dictionary is bounded by its
        # routes; a template that would exceed the journey cap maps to the catch-all.
        self._by_template: dict[str, Journey] = {}
        self._lock = threading.Lock()

    def journey_for(self, template: Optional[str]) -> Optional[Journey]:
        if template is None or self.policy != "route":
            return self._catch_all
        journey = self._by_template.get(template)
        if journey is None:
            journey = self._register(template)
        return journey

    def _register(self, template: str) -> Optional[Journey]:
        with self._lock:
            journey = self._by_template.get(template)
            if journey is not None:
                return journey
            name = route_journey_name(template)
            try:
                journey = registry.register(name, source="route template (unclaimed='route')")
            except ConfigurationError as exc:
                report_internal_error(
                    "journey cap reached: route templates beyond it are recorded as "
                    f"{UNCLAIMED_JOURNEY!r}",
                    exc,
                )
                journey = self._catch_all
            if journey is not None:
                self._by_template[template] = journey
            return journey
