"""aws-xray-sdk integration: the real SDK sends segments over UDP to a listener; each request's
segment carries the ``sli_journey`` annotation (and the outcome when it is known in time)."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("aws_xray_sdk")
flask = pytest.importorskip("flask")

from aws_xray_sdk.core import AWSXRayRecorder  # noqa: E402
from aws_xray_sdk.ext.flask.middleware import XRayMiddleware  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

import sli_instrument as sli  # noqa: E402
from sli_instrument.integrations import xray  # noqa: E402
from tests.support.xray_daemon import XRayDaemon  # noqa: E402

pytestmark = pytest.mark.usefixtures("sli_reset")


@pytest.fixture(scope="module")
def module_daemon() -> Iterator[XRayDaemon]:
    with XRayDaemon() as listener:
        yield listener


@pytest.fixture(scope="module")
def module_recorder(module_daemon: XRayDaemon) -> AWSXRayRecorder:
    # Creating and configuring a recorder takes most of a second: one per module.
    rec = AWSXRayRecorder()
    rec.configure(
        service="shop",
        daemon_address=module_daemon.address,
        sampling=False,  # every request is traced
        context_missing="IGNORE_ERROR",
        plugins=(),
    )
    return rec


@pytest.fixture
def daemon(module_daemon: XRayDaemon) -> XRayDaemon:
    with module_daemon._lock:
        module_daemon.segments.clear()
        module_daemon.rejected.clear()
    return module_daemon


@pytest.fixture
def recorder(module_recorder: AWSXRayRecorder, daemon: XRayDaemon) -> Iterator[AWSXRayRecorder]:
    yield module_recorder
    xray.uninstall()


def serve(app: Any) -> tuple[Any, int]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_port


def get(port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def segment_for(segments: list[dict[str, Any]], path: str) -> list[dict[str, Any]]:
    return [
        s for s in segments if s.get("http", {}).get("request", {}).get("url", "").endswith(path)
    ]


class Declined(Exception):
    pass


def make_app(recorder: AWSXRayRecorder, *, sli_middleware: bool) -> Any:
    app = flask.Flask("xray_shop")

    @sli.journey("pay", success_exceptions=(Declined,))
    def pay(amount: int) -> str:
        if amount < 0:
            raise Declined("declined")
        if amount == 0:
            raise RuntimeError("payment service down")
        return "paid"

    @app.route("/checkout/<amount>")
    @sli.journey("checkout")
    def checkout(amount: str) -> str:
        try:
            return pay(int(amount))
        except Declined:
            return "declined"

    @app.route("/pay/<int:amount>")
    def pay_view(amount: int) -> str:
        return pay(amount)

    @app.route("/pay_negative")
    def pay_negative() -> str:
        try:
            return pay(-1)
        except Declined:
            return "declined"

    @app.route("/health")
    def health() -> str:
        return "ok"

    XRayMiddleware(app, recorder)
    if sli_middleware:
        from sli_instrument.flask import SLI

        SLI(app)
    return app


def test_every_request_segment_is_annotated_with_its_journey(
    daemon: XRayDaemon, recorder: AWSXRayRecorder
) -> None:
    xray.install(recorder=recorder)
    server, port = serve(make_app(recorder, sli_middleware=True))
    try:
        paths = ["/checkout/5", "/checkout/7", "/checkout/-1", "/pay/3", "/health"]
        assert [get(port, p) for p in paths] == [200, 200, 200, 200, 200]
        segments = daemon.wait_for(lambda s: len(s) >= len(paths))
    finally:
        server.shutdown()
    assert not daemon.rejected
    for path in ("/checkout/5", "/checkout/7", "/checkout/-1"):
        (segment,) = segment_for(segments, path)
        # In a request scope the journey is the one the request claims first (the view's).
        assert segment["annotations"]["sli_journey"] == "checkout"
    (segment,) = segment_for(segments, "/pay/3")
    assert segment["annotations"]["sli_journey"] == "pay"
    (segment,) = segment_for(segments, "/health")
    assert "sli_journey" not in segment.get("annotations", {})  # no journey: nothing invented


def test_standalone_events_annotate_journey_and_outcome(
    daemon: XRayDaemon, recorder: AWSXRayRecorder
) -> None:
    # No SLI middleware: each @journey call is its own event, ending while the segment is open.
    xray.install(recorder=recorder)
    app = make_app(recorder, sli_middleware=False)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    server, port = serve(app)
    try:
        statuses = [get(port, p) for p in ("/pay/3", "/pay/0", "/pay_negative")]
        segments = daemon.wait_for(lambda s: len(s) >= 3)
    finally:
        server.shutdown()
    assert statuses == [200, 500, 200]
    outcomes = {
        path: segment_for(segments, path)[0].get("annotations")
        for path in ("/pay/3", "/pay/0", "/pay_negative")
    }
    assert outcomes["/pay/3"] == {"sli_journey": "pay", "sli_outcome": "success"}
    assert outcomes["/pay/0"] == {"sli_journey": "pay", "sli_outcome": "failure"}
    # A business exception listed in success_exceptions is the journey working.
    assert outcomes["/pay_negative"] == {"sli_journey": "pay", "sli_outcome": "success"}


def test_events_outside_any_segment_are_ignored_quietly(
    recorder: AWSXRayRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    xray.install(recorder=recorder)

    @sli.journey("batch")
    def batch() -> int:
        return 1

    assert batch() == 1
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "WARNING")]


@pytest.mark.parametrize(
    "key", ["sli.journey", "sli journey", "", "x" * 501, "sli-journey", "journée", None, 3]
)
def test_annotation_keys_follow_xray_rules_at_configuration_time(
    recorder: AWSXRayRecorder, key: Any
) -> None:
    with pytest.raises(sli.ConfigurationError) as info:
        xray.install(recorder=recorder, journey_key=key)
    assert repr(key) in str(info.value) and "A-Za-z0-9_" in str(info.value)
    if key is not None:  # outcome_key=None means: no outcome annotation
        with pytest.raises(sli.ConfigurationError):
            xray.install(recorder=recorder, outcome_key=key)


def test_valid_keys_and_values(recorder: AWSXRayRecorder) -> None:
    annotator = xray.install(recorder=recorder, journey_key="J" * 500, outcome_key=None)
    assert annotator.journey_key == "J" * 500
    with pytest.raises(sli.ConfigurationError, match="two different keys"):
        xray.install(recorder=recorder, journey_key="same", outcome_key="same")
    assert xray.validate_annotation_value("é" * 1000) == "é" * 1000
    with pytest.raises(sli.ConfigurationError, match="at most 1000"):
        xray.validate_annotation_value("x" * 1001)
