"""Flask: ``SLI(app)`` or ``SLI().init_app(app)`` (the application-factory pattern).

```python
from sli_instrument.flask import SLI

app = Flask(__name__)
SLI(app, routes={"/cart/<int:item_id>": "cart"})
```

The application's ``wsgi_app`` is wrapped in :class:`sli_instrument.WSGIMiddleware` (streaming-
correct latency, TTFB, aborted responses), and a ``before_request`` hook, run first, tells it the
matched ``url_rule`` (blueprint prefixes included). Options come from the arguments, then from
``app.config["SLI_INSTRUMENT"]`` (a dict with the same keys, plus ``enabled``). The state lives in
``app.extensions["sli_instrument"]``; nothing global refers to the app.

An error that a Flask error handler turns into a 500 response is a failure (the status is what
counts), a handled 404 a success.
"""

from __future__ import annotations

from typing import Any, Optional

from flask import Flask, request

from .._context import current_scope
from .._http import HTTPInstrumentation
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
                if rule is not None:
                    http.route_known(current_scope(), rule.rule)
            except Exception as exc:
                report_internal_error("reading the Flask url_rule", exc)

        app.before_request_funcs.setdefault(None, []).insert(0, tell_route)
        app.extensions[EXTENSION_KEY] = http


def _check_options(options: dict[str, Any], source: str) -> None:
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ConfigurationError(
            f"unknown sli_instrument option(s) {', '.join(map(repr, unknown))} (from {source}): "
            f"the options are {', '.join(OPTIONS)}"
        )
