"""Flask: ``SLI(app)`` or ``SLI().init_app(app)`` (the application-factory pattern).

```python
from sli_instrument.flask import SLI

app = Flask(__name__)
SLI(app, routes={"/cart/<int:item_id>": "cart"})
```

The application's ``wsgi_app`` is wrapped in :class:`sli_instrument.WSGIMiddleware` (streaming-
correct latency, TTFB, aborted responses). When route templates are used (a route map, from the
options or the SLO file, or ``unclaimed="route"``), a ``before_request`` hook, run first, tells it
the matched ``url_rule`` (blueprint prefixes included). Options come from the arguments, then from
``app.config["SLI_INSTRUMENT"]`` (a dict with the same keys, plus ``enabled``). The state lives in
``app.extensions["sli_instrument"]``; nothing global refers to the app.

An error that a Flask error handler turns into a 500 response is a failure (the status is what
counts), a handled 404 a success.
"""

from __future__ import annotations

from typing import Any, Optional

from flask import Flask, request

from .._context import current_scope
from .._http import HTTPInstrumentation, HTTPScope
from .._safety import report_internal_error
from ..errors import ConfigurationError
from ..wsgi import WSGIMiddleware

__all__ = ["SLI"]

EXTENSION_KEY = "sli_instrument"
OPTIONS = ("routes", "unclaimed", "baggage_journeys", "failure_statuses", "classifier", "propagate")


class SLI:
    """The Flask extension. One instance may serve several applications."""

    def __init__(self, app: Optional[Flask] = None, **options: Any) -> None:
        _check_options(options, "SLI() argument")
        self.options = options
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask, **options: Any) -> None:
        if EXTENSION_KEY in app.extensions:
            return  # already instrumented: wrapping twice would count every request twice
        _check_options(options, "init_app() argument")
        from_config = app.config.get("SLI_INSTRUMENT") or {}
        if not isinstance(from_config, dict):
            raise ConfigurationError(
                f"invalid app.config['SLI_INSTRUMENT'] {from_config!r}: must be a dict of options"
            )
        from_config = dict(from_config)
        enabled = from_config.pop("enabled", True)
        if not isinstance(enabled, bool):
            raise ConfigurationError(
                f"invalid enabled flag {enabled!r} (from app.config['SLI_INSTRUMENT']): "
                "must be True or False"
            )
        _check_options(from_config, "app.config['SLI_INSTRUMENT']")
        if not enabled:
            return
        merged = {**from_config, **self.options, **options}
        http = HTTPInstrumentation(**merged, source=f"SLI options of Flask app {app.name!r}")
        app.wsgi_app = WSGIMiddleware(app.wsgi_app, _http=http)  # type: ignore[method-assign]

        def tell_route() -> None:
            try:
                rule = request.url_rule
                scope = current_scope()
                if rule is not None and isinstance(scope, HTTPScope):
                    scope.route_known(rule.rule)
            except Exception as exc:
                report_internal_error("reading the Flask url_rule", exc)

        def install_route_hook() -> None:
            # First, so that the route map names the journey before the view runs. A new list,
            # not an insert: a request iterating the old list meanwhile runs each hook once.
            hooks = app.before_request_funcs.get(None, [])
            if tell_route not in hooks:
                app.before_request_funcs[None] = [tell_route, *hooks]

        # The hook costs a request-context lookup and a call on every request, so it is there
        # only while something uses route templates (a route map, or unclaimed="route").
        http.when_route_wanted(install_route_hook)
        app.extensions[EXTENSION_KEY] = http


def _check_options(options: dict[str, Any], source: str) -> None:
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ConfigurationError(
            f"unknown sli_instrument option(s) {', '.join(map(repr, unknown))} (from {source}): "
            f"the options are {', '.join(OPTIONS)}"
        )
