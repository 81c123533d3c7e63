"""The SLO file: strict loading into :class:`SLOSpec`, and writing it back (``dump_slo``).

Every error is a :class:`ConfigurationError` of the form
``<file>:<line>: <field>: <what is wrong, quoting the value>``, so a typo in ``slo.yaml`` fails at
``configure()`` or ``sli-instrument validate`` and points at the line. The schema is documented in
``docs/slo-file.md``; an OpenSLO document (``apiVersion: openslo/v1``) is recognised and read by
:mod:`sli_instrument.slo.openslo`.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from typing import Any, Callable, Literal, Optional, cast

import yaml

from .._duration import format_duration, parse_duration
from .._names import NAME_RULE, is_valid_journey_name
from ..errors import ConfigurationError
from ._yaml import Map, Seq, load_documents
from ._yaml import bounded_repr as _q
from .model import AlertWindow, JourneyObjective, LatencyObjective, SLOSpec, Window
from .policy import alert_window, default_alerts, low_traffic_warnings, never_fires_warnings

__all__ = ["WINDOWS", "dump_slo", "load_slo_file", "parse_slo", "parse_window"]

DAY = 86400.0
#: The compliance windows a journey may use. A calendar month counts as 30 days for burn-rate
#: factors (the Workbook's convention); budget reports use the month's real bounds.
WINDOWS: dict[str, float] = {
    "7d": 7 * DAY,
    "14d": 14 * DAY,
    "28d": 28 * DAY,
    "30d": 30 * DAY,
    "calendar-month": 30 * DAY,
}
DEFAULT_WINDOW = "28d"
MIN_ALERT_WINDOW = 60.0
MAX_DESCRIPTION = 1050
MAX_ROUTE = 256
SUPPORTED_VERSIONS = (1,)

TOP_KEYS = ("version", "service", "description", "journey_cap", "defaults", "journeys")
DEFAULT_KEYS = ("window", "alerts", "expected_rate")
JOURNEY_KEYS = (
    "description",
    "availability",
    "latency",
    "window",
    "alerts",
    "routes",
    "expected_rate",
)
LATENCY_KEYS = ("threshold", "target")
ALERT_KEYS = ("page", "ticket")
CONDITION_KEYS = ("long", "short", "budget", "burn_rate")
_RATE = re.compile(
    r"\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*/\s*(s|sec|second|m|min|minute|h|hour|d|day)\s*"
)
_RATE_UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60}
_RATE_UNITS.update({"h": 3600, "hour": 3600, "d": 86400, "day": 86400})
_SERVICE_RULE = NAME_RULE.replace("a journey name", "a service name")


class _Where:
    """The file being read; builds the ``file:line: field: message`` errors."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, line: int, path: str, message: str) -> ConfigurationError:
        return ConfigurationError(f"{self.at(line)}: {path}: {message}")

    def at(self, line: int) -> str:
        return f"{self.source}:{line}" if line > 0 else self.source


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, Map):
        return "mapping"
    if isinstance(value, Seq):
        return "list"
    return type(value).__name__


def _label(key: Any) -> str:
    """A key as part of a field path, cut short (the value itself is quoted in the message)."""
    text = str(key) if isinstance(key, (str, int, float, bool)) or key is None else _q(key)
    return text if len(text) <= 64 else text[:61] + "..."


def _check_keys(where: _Where, mapping: Map, known: tuple[str, ...], path: str) -> None:
    for key in mapping:
        if key in known:
            continue
        line = mapping.key_line(key)
        label = f"{path}.{_label(key)}" if path else _label(key)
        if not isinstance(key, str):
            raise where.error(
                line, label, f"key {_q(key)} is not a string; known keys: {', '.join(known)}"
            )
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f"; did you mean {_q(close[0])}?" if close else f"; known keys: {', '.join(known)}"
        raise where.error(line, label, f"unknown key {_q(key)}{hint}")


def _require_map(where: _Where, value: Any, line: int, path: str, example: str) -> Map:
    if not isinstance(value, Map):
        raise where.error(
            line, path, f"expected a mapping ({example}), got {_type_name(value)} {_q(value)}"
        )
    return value


def _require(where: _Where, mapping: Map, key: str, path: str, why: str) -> Any:
    if key not in mapping:
        raise where.error(mapping.line, f"{path}.{key}" if path else key, f"missing; {why}")
    return mapping[key]


def _percent(where: _Where, value: Any, line: int, path: str, what: str) -> float:
    """A percentage strictly between 0 and 100: ``99.9`` or ``"99.9%"``."""
    number: Optional[float] = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        text = text[:-1].strip() if text.endswith("%") else text
        try:
            number = float(text)
        except ValueError:
            number = None
    if number is None:
        raise where.error(
            line, path, f"{what} {_q(value)} is not a number; write a percentage such as 99.9"
        )
    if not (0.0 < number < 100.0) or math.isnan(number):
        raise where.error(
            line,
            path,
            f"{what} {_q(value)} is outside (0, 100): write the percentage of good events, "
            "e.g. 99.9 (100 would leave no error budget at all)",
        )
    return number


def _duration(where: _Where, value: Any, line: int, path: str, what: str) -> float:
    try:
        return parse_duration(value, what=what, source=f"{where.at(line)} {path}")
    except ConfigurationError as exc:
        # parse_duration says "(from X)"; keep our file:line: field: form first.
        detail = str(exc).replace(f" (from {where.at(line)} {path})", "")
        raise where.error(line, path, detail) from None


def parse_window(value: Any, *, source: str = "argument") -> Window:
    """``"28d"`` -> :class:`Window`; see :data:`WINDOWS` for the accepted values."""
    return _window(_Where(source), value, 0, "window")


def _window(where: _Where, value: Any, line: int, path: str) -> Window:
    allowed = ", ".join(WINDOWS)
    if isinstance(value, str) and value.strip() == "calendar-month":
        return Window(
            kind="calendar-month", seconds=WINDOWS["calendar-month"], label="calendar-month"
        )
    if not isinstance(value, str) or isinstance(value, bool):
        raise where.error(
            line, path, f"window {_q(value)} is not one of {allowed} (write it as a string)"
        )
    try:
        seconds = parse_duration(value, what="window")
    except ConfigurationError:
        seconds = -1.0
    for label, size in WINDOWS.items():
        if label != "calendar-month" and seconds == size:
            return Window(kind="rolling", seconds=size, label=label)
    close = difflib.get_close_matches(value, list(WINDOWS), n=1, cutoff=0.6)
    hint = f"; did you mean {_q(close[0])}?" if close else ""
    raise where.error(line, path, f"window {_q(value)} is not one of {allowed}{hint}")


def _rate(where: _Where, value: Any, line: int, path: str) -> float:
    rate: Optional[float] = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        rate = float(value)
    elif isinstance(value, str):
        match = _RATE.fullmatch(value)
        if match is not None:
            rate = float(match.group(1)) / _RATE_UNITS[match.group(2)]
    if rate is None or math.isnan(rate) or math.isinf(rate) or rate <= 0:
        raise where.error(
            line,
            path,
            f"expected rate {_q(value)} is not a positive request rate; write requests per second "
            'as a number (0.5) or a string such as "30/min" or "2/s"',
        )
    return rate


def _description(where: _Where, value: Any, line: int, path: str) -> str:
    if not isinstance(value, str):
        raise where.error(line, path, f"expected text, got {_type_name(value)} {_q(value)}")
    if len(value) > MAX_DESCRIPTION:
        raise where.error(
            line, path, f"description is {len(value)} characters, more than {MAX_DESCRIPTION}"
        )
    return value


def _budget(where: _Where, value: Any, line: int, path: str) -> float:
    number: Optional[float] = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str) and value.strip().endswith("%"):
        try:
            number = float(value.strip()[:-1])
        except ValueError:
            number = None
    if number is None or math.isnan(number) or not (0.0 < number <= 100.0):
        raise where.error(
            line,
            path,
            f"budget {_q(value)} is not a percentage of the error budget in (0, 100]; "
            'write e.g. "2%" (or 2) for "2% of the budget burns within the long window"',
        )
    return number / 100.0


def _conditions(
    where: _Where,
    value: Any,
    line: int,
    path: str,
    severity: Literal["page", "ticket"],
    window: Window,
    window_line: int,
) -> tuple[AlertWindow, ...]:
    if value is None:
        return ()
    if not isinstance(value, Seq):
        raise where.error(
            line,
            path,
            f"expected a list of conditions such as [{{long: 1h, short: 5m, budget: 2%}}], "
            f"got {_type_name(value)} {_q(value)}",
        )
    found = []
    for index, item in enumerate(value):
        item_path = f"{path}[{index}]"
        item_line = value.item_line(index)
        condition = _require_map(
            where, item, item_line, item_path, "{long: 1h, short: 5m, budget: 2%}"
        )
        _check_keys(where, condition, CONDITION_KEYS, item_path)
        long_value = _require(where, condition, "long", item_path, "the long window, e.g. long: 1h")
        long = _duration(
            where, long_value, condition.value_line("long"), f"{item_path}.long", "long window"
        )
        if "short" in condition:
            short = _duration(
                where,
                condition["short"],
                condition.value_line("short"),
                f"{item_path}.short",
                "short window",
            )
        else:
            short = long / 12.0
        for name, seconds in (("long", long), ("short", short)):
            if seconds < MIN_ALERT_WINDOW:
                raise where.error(
                    condition.value_line(name) if name in condition else condition.line,
                    f"{item_path}.{name}",
                    f"{name} window {_q(format_duration(seconds))} is shorter than 1m; metrics are "
                    "exported about once a minute, so shorter windows hold no data",
                )
        if short >= long:
            raise where.error(
                condition.value_line("short"),
                f"{item_path}.short",
                f"short window {_q(condition.get('short'))} must be shorter than the long window "
                f"{_q(long_value)} (the Workbook uses 1/12 of it)",
            )
        if long > window.seconds:
            raise where.error(
                condition.value_line("long"),
                f"{item_path}.long",
                f"long window {_q(long_value)} is longer than the SLO window {_q(window.label)} "
                + (f"(line {window_line})" if window_line else "(the default window)"),
            )
        has_budget, has_rate = "budget" in condition, "burn_rate" in condition
        if has_budget == has_rate:
            raise where.error(
                condition.line,
                item_path,
                "give exactly one of 'budget' (share of the error budget that may burn within the "
                "long window, e.g. 2%) or 'burn_rate' (e.g. 14.4)"
                + (
                    f", not both ({_q(condition['budget'])} and {_q(condition['burn_rate'])})"
                    if has_budget
                    else ""
                ),
            )
        if has_budget:
            fraction = _budget(
                where, condition["budget"], condition.value_line("budget"), f"{item_path}.budget"
            )
        else:
            rate = condition["burn_rate"]
            if (
                isinstance(rate, bool)
                or not isinstance(rate, (int, float))
                or math.isnan(rate)
                or not 0 < rate < math.inf
            ):
                raise where.error(
                    condition.value_line("burn_rate"),
                    f"{item_path}.burn_rate",
                    f"burn rate {_q(rate)} is not a positive number (e.g. 14.4)",
                )
            fraction = float(rate) * long / window.seconds
            if fraction > 1.0:
                raise where.error(
                    condition.value_line("burn_rate"),
                    f"{item_path}.burn_rate",
                    f"burn rate {_q(rate)} over {_q(long_value)} would burn "
                    f"{fraction * 100:.4g}% of the {window.label} budget, more than all of it",
                )
        found.append(alert_window(severity, long, short, fraction, window))
    return tuple(found)


def _alerts(
    where: _Where,
    value: Any,
    line: int,
    path: str,
    window: Window,
    window_line: int,
    inherited: dict[str, tuple[Any, int, str]],
) -> tuple[AlertWindow, ...]:
    """Resolve page and ticket conditions: this mapping's, else ``inherited``, else the default."""
    specs = dict(inherited)
    if value is not None:
        mapping = _require_map(where, value, line, path, "{page: [...], ticket: [...]}")
        _check_keys(where, mapping, ALERT_KEYS, path)
        for severity in ALERT_KEYS:
            if severity in mapping:
                specs[severity] = (
                    mapping[severity],
                    mapping.value_line(severity),
                    f"{path}.{severity}",
                )
    defaults = default_alerts(window)
    resolved: list[AlertWindow] = []
    for severity in ALERT_KEYS:
        if severity in specs:
            raw, raw_line, raw_path = specs[severity]
            resolved.extend(
                _conditions(
                    where,
                    raw,
                    raw_line,
                    raw_path,
                    cast(Literal["page", "ticket"], severity),
                    window,
                    window_line,
                )
            )
        else:
            resolved.extend(a for a in defaults if a.severity == severity)
    return tuple(resolved)


def _routes(where: _Where, value: Any, line: int, path: str) -> tuple[str, ...]:
    if not isinstance(value, Seq):
        raise where.error(
            line, path, f'expected a list of route templates such as ["/checkout"], got {_q(value)}'
        )
    routes: list[str] = []
    for index, route in enumerate(value):
        item_line = value.item_line(index)
        if (
            not isinstance(route, str)
            or not route.startswith("/")
            or len(route) > MAX_ROUTE
            or any(ch.isspace() for ch in route)
        ):
            raise where.error(
                item_line,
                f"{path}[{index}]",
                f"route {_q(route)} is not a route template: a string starting with '/', without "
                f'spaces, at most {MAX_ROUTE} characters (e.g. "/api/orders/<id>")',
            )
        if route in routes:
            raise where.error(item_line, f"{path}[{index}]", f"route {_q(route)} is listed twice")
        routes.append(route)
    return tuple(routes)


def _journey(
    where: _Where,
    name: str,
    value: Any,
    key_line: int,
    defaults: dict[str, Any],
) -> JourneyObjective:
    path = f"journeys.{name}"
    entry = _require_map(where, value, key_line, path, "availability: 99.9, ...")
    _check_keys(where, entry, JOURNEY_KEYS, path)
    raw = _require(
        where, entry, "availability", path, "give the objective, e.g. availability: 99.9"
    )
    availability = _percent(
        where, raw, entry.value_line("availability"), f"{path}.availability", "availability"
    )
    latency = None
    if "latency" in entry:
        latency_path = f"{path}.latency"
        block = _require_map(
            where,
            entry["latency"],
            entry.value_line("latency"),
            latency_path,
            "threshold: 300ms, target: 99",
        )
        _check_keys(where, block, LATENCY_KEYS, latency_path)
        threshold_raw = _require(where, block, "threshold", latency_path, "e.g. threshold: 300ms")
        target_raw = _require(
            where,
            block,
            "target",
            latency_path,
            "percent of events within the threshold, e.g. target: 99",
        )
        latency = LatencyObjective(
            threshold=_duration(
                where,
                threshold_raw,
                block.value_line("threshold"),
                f"{latency_path}.threshold",
                "latency threshold",
            ),
            target=_percent(
                where,
                target_raw,
                block.value_line("target"),
                f"{latency_path}.target",
                "latency target",
            ),
        )
    if "window" in entry:
        window_line = entry.value_line("window")
        window = _window(where, entry["window"], window_line, f"{path}.window")
    else:
        window, window_line = defaults["window"]
    alerts = _alerts(
        where,
        entry.get("alerts"),
        entry.value_line("alerts"),
        f"{path}.alerts",
        window,
        window_line,
        defaults["alerts"],
    )
    routes: tuple[str, ...] = ()
    if "routes" in entry:
        routes = _routes(where, entry["routes"], entry.value_line("routes"), f"{path}.routes")
    description = ""
    if "description" in entry:
        description = _description(
            where, entry["description"], entry.value_line("description"), f"{path}.description"
        )
    expected_rate = defaults["expected_rate"]
    if "expected_rate" in entry:
        expected_rate = _rate(
            where,
            entry["expected_rate"],
            entry.value_line("expected_rate"),
            f"{path}.expected_rate",
        )
    return JourneyObjective(
        name=name,
        availability=availability,
        latency=latency,
        window=window,
        alerts=alerts,
        routes=routes,
        description=description,
        line=key_line,
        expected_rate=expected_rate,
    )


def _defaults(where: _Where, value: Any, line: int) -> dict[str, Any]:
    found: dict[str, Any] = {
        "window": (
            Window(kind="rolling", seconds=WINDOWS[DEFAULT_WINDOW], label=DEFAULT_WINDOW),
            0,
        ),
        "alerts": {},
        "expected_rate": None,
    }
    if value is None:
        return found
    block = _require_map(where, value, line, "defaults", "window: 28d, alerts: {...}")
    _check_keys(where, block, DEFAULT_KEYS, "defaults")
    if "window" in block:
        found["window"] = (
            _window(where, block["window"], block.value_line("window"), "defaults.window"),
            block.value_line("window"),
        )
    if "alerts" in block:
        alerts = _require_map(
            where,
            block["alerts"],
            block.value_line("alerts"),
            "defaults.alerts",
            "{page: [...], ticket: [...]}",
        )
        _check_keys(where, alerts, ALERT_KEYS, "defaults.alerts")
        found["alerts"] = {
            severity: (alerts[severity], alerts.value_line(severity), f"defaults.alerts.{severity}")
            for severity in ALERT_KEYS
            if severity in alerts
        }
        # Check the defaults once against the default window, so a bad default is reported at its
        # own line even when every journey overrides it.
        _alerts(
            where,
            None,
            line,
            "defaults.alerts",
            found["window"][0],
            found["window"][1],
            found["alerts"],
        )
    if "expected_rate" in block:
        found["expected_rate"] = _rate(
            where,
            block["expected_rate"],
            block.value_line("expected_rate"),
            "defaults.expected_rate",
        )
    return found


def _journey_cap(value: Any) -> int:
    if value is not None:
        return int(value)
    # The live registry's cap: configure(journey_cap=...) has set it before the file is read.
    from .._registry import registry

    return registry.cap


def _is_openslo(document: Any) -> bool:
    return isinstance(document, dict) and str(document.get("apiVersion", "")).startswith("openslo/")


def parse_slo(text: str, source: str = "<string>", *, journey_cap: Optional[int] = None) -> SLOSpec:
    """Parse an SLO file's text. ``journey_cap``: the most journeys allowed when the file sets none
    (default: the journey registry's cap). OpenSLO documents are recognised and converted."""
    if not isinstance(text, str):
        raise ConfigurationError(
            f"{source}: expected the SLO file's text, got {type(text).__name__}"
        )
    documents = load_documents(text, source)
    documents = [d for d in documents if d is not None]
    if documents and _is_openslo(documents[0]):
        from .openslo import spec_from_documents

        return spec_from_documents(documents, source, journey_cap=journey_cap)
    if not documents:
        raise ConfigurationError(
            f"{source}:1: the SLO file is empty; it needs at least 'service:' and 'journeys:' "
            "(see docs/slo-file.md)"
        )
    if len(documents) > 1:
        raise ConfigurationError(
            f"{source}: holds {len(documents)} YAML documents; an SLO file is one document "
            "(or a set of OpenSLO documents)"
        )
    top = documents[0]
    if not isinstance(top, Map):
        raise ConfigurationError(
            f"{source}:1: the SLO file must be a mapping with 'service:' and 'journeys:', got "
            f"{_type_name(top)} {_short(top)}"
        )
    return parse_mapping(top, source, journey_cap=journey_cap)


def parse_mapping(top: Map, source: str, *, journey_cap: Optional[int] = None) -> SLOSpec:
    """Validate an SLO file already read into a line-carrying :class:`Map` (used by the OpenSLO
    importer, which builds one whose lines point into the OpenSLO documents)."""
    where = _Where(source)
    _check_keys(where, top, TOP_KEYS, "")
    if "version" in top and (
        isinstance(top["version"], bool) or top["version"] not in SUPPORTED_VERSIONS
    ):
        raise where.error(
            top.value_line("version"),
            "version",
            f"version {_q(top['version'])} is not supported; use 1",
        )
    service = _require(where, top, "service", "", "name the service, e.g. service: shop")
    if not is_valid_journey_name(service):
        raise where.error(
            top.value_line("service"),
            "service",
            f"invalid service name {_q(service)}: {_SERVICE_RULE}",
        )
    description = ""
    if "description" in top:
        description = _description(
            where, top["description"], top.value_line("description"), "description"
        )
    file_cap: Optional[int] = None
    if "journey_cap" in top:
        cap = top["journey_cap"]
        if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
            raise where.error(
                top.value_line("journey_cap"),
                "journey_cap",
                f"journey cap {_q(cap)} is not a whole number >= 1",
            )
        file_cap = cap
    cap_limit = file_cap if file_cap is not None else _journey_cap(journey_cap)
    defaults = _defaults(where, top.get("defaults"), top.value_line("defaults"))
    raw_journeys = _require(
        where,
        top,
        "journeys",
        "",
        "list the journeys, e.g. journeys: {checkout: {availability: 99.9}}",
    )
    journeys_map = _require_map(
        where, raw_journeys, top.value_line("journeys"), "journeys", "journey name -> objectives"
    )
    if not journeys_map:
        raise where.error(journeys_map.line, "journeys", "no journeys: define at least one")
    journeys: list[JourneyObjective] = []
    route_lines: dict[str, tuple[str, int]] = {}
    for index, (name, value) in enumerate(journeys_map.items()):
        line = journeys_map.key_line(name)
        if not is_valid_journey_name(name):
            raise where.error(
                line, f"journeys.{_label(name)}", f"invalid journey name {_q(name)}: {NAME_RULE}"
            )
        if index >= cap_limit:
            raise where.error(
                line,
                f"journeys.{name}",
                f"journey {_q(name)} is number {index + 1}, over the journey cap of {cap_limit}; "
                "raise it with 'journey_cap:' in the file (or configure(journey_cap=...)) if "
                "these journeys are intended",
            )
        objective = _journey(where, name, value, line, defaults)
        for route_index, route in enumerate(objective.routes):
            if route in route_lines:
                other, other_line = route_lines[route]
                entry = journeys_map[name]
                raise where.error(
                    entry["routes"].item_line(route_index),
                    f"journeys.{name}.routes[{route_index}]",
                    f"route {_q(route)} already belongs to journey {_q(other)} "
                    f"(line {other_line}); a route maps to one journey",
                )
            route_lines[route] = (name, journeys_map[name]["routes"].item_line(route_index))
        journeys.append(objective)
    warnings: list[str] = []
    for objective in journeys:
        at = where.at(objective.line or 0)
        warnings.extend(never_fires_warnings(objective, at))
        if objective.expected_rate is not None:
            warnings.extend(low_traffic_warnings(objective, objective.expected_rate, at))
    return SLOSpec(
        service=service,
        journeys=tuple(journeys),
        source=source,
        warnings=tuple(warnings),
        journey_cap=file_cap,
        description=description,
    )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def load_slo_file(path: Any, *, journey_cap: Optional[int] = None) -> SLOSpec:
    """Read and validate the SLO file at ``path`` (YAML, or OpenSLO documents)."""
    name = os.fspath(path) if isinstance(path, (str, os.PathLike)) else None
    if name is None:
        raise ConfigurationError(f"SLO file path {path!r} is not a path")
    try:
        with open(name, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise ConfigurationError(f"SLO file {name!r} not found") from None
    except IsADirectoryError:
        raise ConfigurationError(f"SLO file {name!r} is a directory, not a file") from None
    except OSError as exc:
        raise ConfigurationError(f"cannot read SLO file {name!r}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigurationError(
            f"{name}: not UTF-8 text (byte {exc.start} is {_q(data[exc.start : exc.start + 1])})"
        ) from None
    return parse_slo(text, name, journey_cap=journey_cap)


# -- writing ---------------------------------------------------------------------------------------


def _duration_text(seconds: float) -> Any:
    text = format_duration(seconds)
    try:
        if parse_duration(text) == seconds:
            return text
    except ConfigurationError:
        pass
    return seconds


def _budget_entry(alert: AlertWindow, window_seconds: float) -> tuple[str, Any]:
    """``("budget", "2%")`` as people write it, else the form that reads back exactly."""
    fraction = alert.budget_fraction
    # 12 significant digits give back the percentage as written ("2%", not "2.0000000000000004%").
    short = format(fraction * 100, ".12g")
    if float(short) / 100 == fraction:
        return "budget", f"{short}%"
    full = repr(fraction * 100)
    if float(full) / 100 == fraction:
        return "budget", f"{full}%"
    # Not every fraction is some float / 100; a burn rate given in the file may still read back.
    rate = fraction * window_seconds / alert.long_window
    if rate * alert.long_window / window_seconds == fraction:
        return "burn_rate", rate
    return "budget", f"{full}%"


def _alerts_data(alerts: tuple[AlertWindow, ...], window_seconds: float) -> dict[str, Any]:
    data: dict[str, Any] = {"page": [], "ticket": []}
    for alert in alerts:
        key, value = _budget_entry(alert, window_seconds)
        data[alert.severity].append(
            {
                "long": _duration_text(alert.long_window),
                "short": _duration_text(alert.short_window),
                key: value,
            }
        )
    return data


def spec_to_data(spec: SLOSpec) -> dict[str, Any]:
    """The SLO file's content as plain data (what :func:`dump_slo` writes)."""
    data: dict[str, Any] = {"service": spec.service}
    if spec.description:
        data["description"] = spec.description
    if spec.journey_cap is not None:
        data["journey_cap"] = spec.journey_cap
    journeys: dict[str, Any] = {}
    for objective in spec.journeys:
        entry: dict[str, Any] = {}
        if objective.description:
            entry["description"] = objective.description
        entry["availability"] = objective.availability
        if objective.latency is not None:
            entry["latency"] = {
                "threshold": _duration_text(objective.latency.threshold),
                "target": objective.latency.target,
            }
        entry["window"] = objective.window.label
        if objective.alerts != default_alerts(objective.window):
            entry["alerts"] = _alerts_data(objective.alerts, objective.window.seconds)
        if objective.routes:
            entry["routes"] = list(objective.routes)
        if objective.expected_rate is not None:
            entry["expected_rate"] = objective.expected_rate
        journeys[objective.name] = entry
    data["journeys"] = journeys
    return data


def dump_slo(spec: SLOSpec) -> str:
    """``spec`` as SLO-file YAML; ``parse_slo(dump_slo(spec)) == spec``."""
    dumper: Callable[..., str] = yaml.safe_dump
    return dumper(spec_to_data(spec), sort_keys=False, allow_unicode=True, default_flow_style=False)
