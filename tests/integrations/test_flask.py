"""Flask: SLI(app) / init_app, url_rule templates, blueprints, error handlers, streaming."""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask import Blueprint, Flask, Response, abort, stream_with_context

import sli_instrument as sli
from sli_instrument import ConfigurationError
from sli_instrument.flask import SLI
from sli_instrument.testing import recording
from tests.support.import_guard import run_with_blocked

pytestmark = pytest.mark.usefixtures("sli_reset")


class Unavailable(Exception):
    pass


def build_app(**options: Any) -> Flask:
    app = Flask("shop")
    shop = Blueprint("shop", "shop", url_prefix="/shop")

    @shop.get("/items/<int:item_id>")
    def item(item_id: int) -> Any:
        if item_id == 0:
            abort(404)
        if item_id == 13:
            raise Unavailable()
        if item_id == 99:
            raise RuntimeError("unhandled")
        return {"id": item_id}

    @shop.post("/checkout")
    @sli.journey("checkout", latency_threshold="20ms")
    def checkout() -> Any:
        time.sleep(0.03)
        return "paid", 201

    @shop.get("/export")
    @sli.journey("export")
    def export() -> Response:
        def rows() -> Any:
            yield "id\n"
            for index in range(5):
                time.sleep(0.1)
                yield f"{index}\n"

        return Response(stream_with_context(rows()), mimetype="text/csv")

    app.register_blueprint(shop)

    @app.errorhandler(Unavailable)
    def unavailable(error: Exception) -> Any:
        return {"error": "try later"}, 500

    @app.errorhandler(500)
    def internal(error: Exception) -> Any:
        return {"error": "internal"}, 500

    if options.pop("instrument", True):
        SLI(app, **options)
    return app


def get(client: Any, path: str, method: str = "GET") -> Any:
    response = client.open(path, method=method)
    body = response.get_data()
    response.close()  # as a WSGI server does: this ends the event
    return response.status_code, dict(response.headers), body


def test_responses_are_byte_for_byte_unchanged():
    bare = build_app(instrument=False).test_client()
    with recording():
        instrumented = build_app().test_client()
        for path in ("/shop/items/1", "/shop/items/0", "/shop/items/13", "/nope"):
            assert get(instrumented, path) == get(bare, path)


def test_templates_blueprints_error_handlers_and_decorators():
    app = build_app(unclaimed="route")
    assert isinstance(app.extensions["sli_instrument"], object)
    client = app.test_client()
    with recording() as rec:
        codes = [get(client, f"/shop/items/{i}")[0] for i in (1, 2, 0, 13, 99)]
        codes.append(get(client, "/shop/checkout", "POST")[0])
        codes.append(get(client, "/missing/page")[0])
        metrics = {
            n: (m.requests, m.failures, m.slow) for n, m in rec.metrics().items() if m.requests
        }
    assert codes == [200, 200, 404, 500, 500, 201, 404]
    assert metrics == {
        # 404 is a success; the handled Unavailable (500) and the unhandled error (500) fail.
        "shop.items.item_id": (5, 2, 0),
        "checkout": (1, 0, 1),
        "unclaimed": (1, 0, 0),  # no url_rule matched: never the raw path
    }


def test_route_map_by_flask_template_and_streaming():
    app = build_app(routes={"/shop/items/<int:item_id>": "browse"})
    client = app.test_client()
    with recording() as rec:
        get(client, "/shop/items/5")
        status, _, body = get(client, "/shop/export")
        browse, export = rec.journey("browse"), rec.journey("export")
    assert status == 200 and body == b"id\n0\n1\n2\n3\n4\n"
    assert browse.requests == 1
    assert export.requests == 1 and export.duration_sum["success"] >= 0.5
    assert export.ttfb_count == 1 and export.ttfb_sum < 0.1


def test_init_app_factory_config_and_no_double_counting():
    extension = SLI(unclaimed="ignore")
    app = build_app(instrument=False)
    extension.init_app(app)
    SLI(app)  # a second registration must not wrap twice
    with recording() as rec:
        get(app.test_client(), "/shop/checkout", "POST")
        get(app.test_client(), "/nope")
        assert rec.journey("checkout").requests == 1
        assert rec.journey("unclaimed").requests == 0

    disabled = build_app(instrument=False)
    disabled.config["SLI_INSTRUMENT"] = {"enabled": False}
    wsgi_app = disabled.wsgi_app
    SLI(disabled)
    assert disabled.wsgi_app == wsgi_app and "sli_instrument" not in disabled.extensions

    configured = build_app(instrument=False)
    configured.config["SLI_INSTRUMENT"] = {"unclaimed": "sometimes"}
    with pytest.raises(ConfigurationError, match="'sometimes'"):
        SLI(configured)
    with pytest.raises(ConfigurationError, match="'route_map'"):
        SLI(build_app(instrument=False), route_map={})
    misspelt = build_app(instrument=False)
    misspelt.config["SLI_INSTRUMENT"] = {"propagate": "false"}  # a string, not False
    with pytest.raises(
        ConfigurationError, match=r"invalid propagate 'false' \(from SLI options of Flask app"
    ):
        SLI(misspelt)


def test_the_flask_integration_imports_no_other_framework():
    output = run_with_blocked(
        ["django", "asgiref", "starlette", "fastapi", "yaml", "boto3", "prometheus_client"],
        """
from flask import Flask
import sli_instrument as sli
from sli_instrument.flask import SLI
from sli_instrument.testing import recording

app = Flask("x")

@app.get("/hello/<name>")
@sli.journey("hello")
def hello(name):
    return "hi " + name

SLI(app)
with recording() as rec:
    response = app.test_client().get("/hello/you")
    assert response.get_data() == b"hi you"
    response.close()
    print(rec.journey("hello").requests)
""",
    )
    assert output.strip().splitlines()[-1] == "1"


def test_the_url_rule_hook_is_installed_only_while_route_templates_are_used(tmp_path):
    # A <path:...> rule matches several segments: only Flask's template can name these requests.
    def files_app() -> Flask:
        app = Flask("files")

        @app.get("/files/<path:name>")
        def files(name: str) -> str:
            return name

        return app

    def hooks(app: Flask) -> list[str]:
        return [f.__name__ for f in app.before_request_funcs.get(None, [])]

    plain = files_app()
    SLI(plain)
    assert hooks(plain) == []  # nothing uses templates: no per-request lookup
    routed = files_app()
    SLI(routed, routes={"/files/<path:name>": "files"})
    assert hooks(routed) == ["tell_route"]
    by_policy = files_app()
    SLI(by_policy, unclaimed="route")
    assert hooks(by_policy) == ["tell_route"]

    # An SLO file with routes, configured after SLI(app): the hook arrives with the first request.
    # (Its path matches no pattern of the map: one segment per placeholder.)
    slo = tmp_path / "slo.yaml"
    slo.write_text(
        "version: 1\nservice: files\njourneys:\n  files:\n    availability: 99\n"
        '    routes: ["/files/<path:name>"]\n'
    )
    sli.shutdown()
    late = files_app()
    SLI(late)
    assert hooks(late) == []
    sli.configure(exporter="memory", install_global=False, slo_file=str(slo))
    client = late.test_client()
    with recording() as rec:
        assert get(client, "/files/a/b/c.txt")[0] == 200
        assert get(client, "/files/d/e.txt")[0] == 200
        counts = {name: m.requests for name, m in rec.metrics().items() if m.requests}
    assert hooks(late) == ["tell_route"]
    # The first request adopted the file's routes when it opened, before Flask ran its hooks.
    assert counts == {"files": 2}
