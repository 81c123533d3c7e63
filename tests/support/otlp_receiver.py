"""A real OTLP receiver on loopback, for tests that check what leaves the process on the wire.

It speaks both OTLP transports and decodes every body with ``opentelemetry-proto``:

* gRPC: ``opentelemetry.proto.collector.metrics.v1.MetricsService/Export`` and
  ``...trace.v1.TraceService/Export`` (grpcio server; gzip handled by grpc itself);
* HTTP: ``POST /v1/metrics`` and ``POST /v1/traces`` with a protobuf body
  (``Content-Encoding: gzip`` understood; ``application/json`` bodies are parsed too).

API::

    from tests.support.otlp_receiver import OTLPReceiver, totals, resource_attributes

    with OTLPReceiver() as receiver:              # starts both transports on free ports
        receiver.grpc_endpoint                    # "http://127.0.0.1:PORT"
        receiver.http_endpoint                    # "http://127.0.0.1:PORT" (add /v1/metrics
                                                  #   yourself if your exporter needs it)
        receiver.http_metrics_url                 # ".../v1/metrics"; also http_traces_url
        ... run the code under test ...
        receiver.wait_for(lambda r: len(r.metrics) >= 2, timeout=10)   # True or AssertionError
        receiver.wait_for_metric("sli.journey.requests", timeout=10)   # Point list
        receiver.metrics        # list[ExportMetricsServiceRequest], in arrival order
        receiver.traces         # list[ExportTraceServiceRequest]
        receiver.received       # list[Received(kind, transport, message, headers, time)]
        receiver.attempts       # every request seen, including those failed/hung on purpose
        receiver.clear()        # forget what was received so far

    Fault injection (for fault-tolerance tests):
        receiver.fail()                 # HTTP 500 / gRPC UNAVAILABLE until receiver.ok()
        receiver.fail(times=2)          # the next 2 requests fail, then back to ok
        receiver.fail(status=503)       # HTTP status to answer (gRPC always UNAVAILABLE)
        receiver.hang()                 # requests block until receiver.ok() or hang_timeout
        receiver.refuse()               # close the listening sockets: connection refused
        receiver.ok()                   # normal service again (re-listens on the same ports)

    Only successfully answered requests are stored in ``metrics``/``traces``/``received``.

Flattening helpers (module functions, taking one request or a list of them):

    points(requests)                -> list[Point]: one per data point, with metric name, unit,
                                       description, kind, temporality, attributes, resource...
    latest(requests)                -> {(name, attrs_key): Point}: the newest point per series
    totals(requests)                -> {(name, attrs_key): float | HistogramTotal}: the running
                                       value per series, aware of temporality: cumulative sums
                                       and histograms take the latest point, delta ones are added
                                       up; gauges take the latest value
    series_key(name, **attrs) / attrs_key(dict) -> the key used above
    resource_attributes(request)    -> dict of the first resource's attributes
    all_resource_attributes(reqs)   -> list of dicts, one per ResourceMetrics/ResourceSpans
    spans(requests)                 -> list[SpanView] (name, attributes, resource, trace/span id)

Every helper accepts ``resource={"service.name": "x"}`` to keep only matching resources (several
processes may export to one receiver, e.g. forked workers).
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
import zlib
from collections.abc import Iterable, Mapping
from concurrent import futures
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional, Union

import grpc
from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

MetricsRequest = metrics_service_pb2.ExportMetricsServiceRequest
TraceRequest = trace_service_pb2.ExportTraceServiceRequest

__all__ = [
    "HistogramTotal",
    "OTLPReceiver",
    "Point",
    "Received",
    "SpanView",
    "all_resource_attributes",
    "any_value",
    "attributes",
    "attrs_key",
    "latest",
    "points",
    "resource_attributes",
    "series_key",
    "spans",
    "totals",
]

AGGREGATION_DELTA = 1
AGGREGATION_CUMULATIVE = 2


@dataclass
class Received:
    kind: str  # "metrics" | "traces"
    transport: str  # "grpc" | "http"
    message: Any
    headers: dict[str, str]
    time: float


class _State:
    """Mode shared by both transports; guarded by the receiver's condition."""

    def __init__(self) -> None:
        self.mode = "ok"  # ok | fail | hang
        self.fail_times: Optional[int] = None
        self.fail_status = 500
        self.release = threading.Event()


class OTLPReceiver:
    """OTLP/gRPC + OTLP/HTTP receiver on 127.0.0.1 (ports chosen by the OS)."""

    def __init__(
        self,
        *,
        grpc_enabled: bool = True,
        http_enabled: bool = True,
        host: str = "127.0.0.1",
        hang_timeout: float = 30.0,
    ) -> None:
        self.host = host
        self.hang_timeout = hang_timeout
        self._grpc_enabled = grpc_enabled
        self._http_enabled = http_enabled
        self._cond = threading.Condition()
        self._state = _State()
        self.received: list[Received] = []
        self.attempts: list[tuple[str, str, float]] = []  # (kind, transport, time)
        self.grpc_port: Optional[int] = None
        self.http_port: Optional[int] = None
        self._grpc_server: Any = None
        self._http_server: Optional[ThreadingHTTPServer] = None
        self._http_thread: Optional[threading.Thread] = None
        self._refused = False
        self._connections: set[Any] = set()

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> OTLPReceiver:
        if self._grpc_enabled:
            self._start_grpc(self.grpc_port or 0)
        if self._http_enabled:
            self._start_http(self.http_port or 0)
        return self

    def stop(self) -> None:
        self._state.release.set()
        self._stop_listeners()

    def __enter__(self) -> OTLPReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _start_grpc(self, port: int) -> None:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(
            _MetricsServicer(self), server
        )
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_TraceServicer(self), server)
        bound = server.add_insecure_port(f"{self.host}:{port}")
        if bound == 0:
            raise OSError(f"could not bind gRPC receiver on {self.host}:{port}")
        server.start()
        self.grpc_port = bound
        self._grpc_server = server

    def _start_http(self, port: int) -> None:
        receiver = self

        class Handler(_HTTPHandler):
            owner = receiver

        server = ThreadingHTTPServer((self.host, port), Handler)
        server.daemon_threads = True
        self.http_port = server.server_address[1]
        self._http_server = server
        self._http_thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._http_thread.start()

    def _stop_listeners(self) -> None:
        if self._grpc_server is not None:
            self._grpc_server.stop(grace=None).wait(5)
            self._grpc_server = None
        if self._http_server is not None:
            self._http_server.shutdown()
            self._http_server.server_close()
            self._http_server = None
            # Keep-alive connections outlive the listening socket: cut them too, or a client
            # with a pooled connection would keep exporting to a "refusing" receiver.
            with self._cond:
                open_connections = list(self._connections)
                self._connections.clear()
            for conn in open_connections:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        if self._http_thread is not None:
            self._http_thread.join(5)
            self._http_thread = None

    # -- endpoints ----------------------------------------------------------------------------
    @property
    def grpc_endpoint(self) -> str:
        assert self.grpc_port is not None, "gRPC transport not started"
        return f"http://{self.host}:{self.grpc_port}"

    @property
    def http_endpoint(self) -> str:
        assert self.http_port is not None, "HTTP transport not started"
        return f"http://{self.host}:{self.http_port}"

    @property
    def http_metrics_url(self) -> str:
        return self.http_endpoint + "/v1/metrics"

    @property
    def http_traces_url(self) -> str:
        return self.http_endpoint + "/v1/traces"

    # -- faults -------------------------------------------------------------------------------
    def ok(self) -> None:
        """Serve normally again (and listen again, on the same ports, after :meth:`refuse`)."""
        with self._cond:
            self._state.mode = "ok"
            self._state.fail_times = None
            self._state.release.set()
            self._state.release = threading.Event()
        if self._refused:
            self._refused = False
            self.start()

    def fail(self, *, times: Optional[int] = None, status: int = 500) -> None:
        """Answer with an error (HTTP ``status``, gRPC UNAVAILABLE); ``times`` limits how often."""
        with self._cond:
            self._state.mode = "fail"
            self._state.fail_times = times
            self._state.fail_status = status

    def hang(self) -> None:
        """Hold every request until :meth:`ok`, :meth:`stop` or ``hang_timeout`` seconds."""
        with self._cond:
            self._state.mode = "hang"

    def refuse(self) -> None:
        """Close the listening sockets so connections are refused; :meth:`ok` re-opens them."""
        self._refused = True
        self._stop_listeners()

    # -- storage ------------------------------------------------------------------------------
    def _decide(self, kind: str, transport: str) -> tuple[str, int]:
        """Return (action, http_status) for one incoming request and log the attempt."""
        with self._cond:
            self.attempts.append((kind, transport, time.time()))
            state = self._state
            if state.mode == "fail":
                if state.fail_times is not None:
                    state.fail_times -= 1
                    if state.fail_times <= 0:
                        state.mode = "ok"
                        state.fail_times = None
                self._cond.notify_all()
                return "fail", state.fail_status
            if state.mode == "hang":
                self._cond.notify_all()
                return "hang", 0
            return "ok", 200

    def _wait_released(self) -> None:
        with self._cond:
            release = self._state.release
        release.wait(self.hang_timeout)

    def _store(self, kind: str, transport: str, message: Any, headers: dict[str, str]) -> None:
        with self._cond:
            self.received.append(Received(kind, transport, message, headers, time.time()))
            self._cond.notify_all()

    @property
    def metrics(self) -> list[Any]:
        with self._cond:
            return [r.message for r in self.received if r.kind == "metrics"]

    @property
    def traces(self) -> list[Any]:
        with self._cond:
            return [r.message for r in self.received if r.kind == "traces"]

    def clear(self) -> None:
        with self._cond:
            self.received.clear()
            self.attempts.clear()

    # -- waiting ------------------------------------------------------------------------------
    def wait_for(
        self,
        predicate: Callable[[OTLPReceiver], Any],
        timeout: float = 10.0,
        message: str = "",
    ) -> Any:
        """Wait until ``predicate(self)`` is truthy and return it; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                try:
                    value = predicate(self)
                except Exception:  # the data may be incomplete; a later request may complete it
                    value = None
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"OTLP receiver: condition not met within {timeout}s "
                        f"({len(self.received)} requests received, {len(self.attempts)} attempts)"
                        + (f": {message}" if message else "")
                    )
                self._cond.wait(min(remaining, 0.05))

    def wait_for_metric(
        self,
        name: str,
        timeout: float = 10.0,
        where: Optional[Callable[[Point], bool]] = None,
    ) -> list[Point]:
        """Wait until at least one data point of metric ``name`` (matching ``where``) arrived."""

        def found(receiver: OTLPReceiver) -> list[Point]:
            return [
                p
                for p in points(receiver.metrics)
                if p.name == name and (where is None or where(p))
            ]

        result: list[Point] = self.wait_for(found, timeout, f"metric {name!r}")
        return result


class _MetricsServicer(metrics_service_pb2_grpc.MetricsServiceServicer):  # type: ignore[misc]
    def __init__(self, owner: OTLPReceiver) -> None:
        self.owner = owner

    def Export(self, request: Any, context: Any) -> Any:  # noqa: N802 - grpc naming
        _grpc_handle(self.owner, "metrics", request, context)
        return metrics_service_pb2.ExportMetricsServiceResponse()


class _TraceServicer(trace_service_pb2_grpc.TraceServiceServicer):  # type: ignore[misc]
    def __init__(self, owner: OTLPReceiver) -> None:
        self.owner = owner

    def Export(self, request: Any, context: Any) -> Any:  # noqa: N802 - grpc naming
        _grpc_handle(self.owner, "traces", request, context)
        return trace_service_pb2.ExportTraceServiceResponse()


def _grpc_handle(owner: OTLPReceiver, kind: str, request: Any, context: Any) -> None:
    action, _ = owner._decide(kind, "grpc")
    if action == "hang":
        owner._wait_released()
        context.abort(grpc.StatusCode.UNAVAILABLE, "receiver was hanging")
    if action == "fail":
        context.abort(grpc.StatusCode.UNAVAILABLE, "receiver told to fail")
    headers = {k: v for k, v in context.invocation_metadata() if isinstance(v, str)}
    owner._store(kind, "grpc", request, headers)


class _HTTPHandler(BaseHTTPRequestHandler):
    owner: OTLPReceiver
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def setup(self) -> None:
        super().setup()
        with self.owner._cond:
            self.owner._connections.add(self.connection)

    def finish(self) -> None:
        with self.owner._cond:
            self.owner._connections.discard(self.connection)
        super().finish()

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        path = self.path.split("?", 1)[0]
        kinds = {"/v1/metrics": ("metrics", MetricsRequest), "/v1/traces": ("traces", TraceRequest)}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if path not in kinds:
            self._answer(404, b"not found", "text/plain")
            return
        kind, message_type = kinds[path]
        action, status = self.owner._decide(kind, "http")
        if action == "hang":
            self.owner._wait_released()
            self._answer(503, b"receiver was hanging", "text/plain")
            return
        if action == "fail":
            self._answer(status, b"receiver told to fail", "text/plain")
            return
        try:
            encoding = (self.headers.get("Content-Encoding") or "").lower()
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            content_type = (self.headers.get("Content-Type") or "").lower()
            message = message_type()
            if "json" in content_type:
                json_format.Parse(body.decode("utf-8"), message, ignore_unknown_fields=True)
            else:
                message.ParseFromString(body)
        except Exception as exc:
            self._answer(400, f"bad OTLP body: {exc}".encode(), "text/plain")
            return
        self.owner._store(kind, "http", message, {k.lower(): v for k, v in self.headers.items()})
        response = (
            metrics_service_pb2.ExportMetricsServiceResponse()
            if kind == "metrics"
            else trace_service_pb2.ExportTraceServiceResponse()
        )
        self._answer(200, response.SerializeToString(), "application/x-protobuf")

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up (timeout); nothing to answer
            pass


# -- decoding helpers ---------------------------------------------------------------------------


def any_value(value: Any) -> Any:
    """Python value of an OTLP ``AnyValue``."""
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return tuple(any_value(v) for v in value.array_value.values)
    if which == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, which)


def attributes(key_values: Iterable[Any]) -> dict[str, Any]:
    """dict of a repeated ``KeyValue`` field."""
    return {kv.key: any_value(kv.value) for kv in key_values}


AttrsKey = tuple[tuple[str, Any], ...]


def attrs_key(attrs: Mapping[str, Any]) -> AttrsKey:
    return tuple(sorted(attrs.items()))


def series_key(name: str, **attrs: Any) -> tuple[str, AttrsKey]:
    """``series_key("sli.journey.requests", **{"sli.journey": "checkout"})``."""
    return name, attrs_key(attrs)


@dataclass
class Point:
    """One data point with everything needed to assert on it."""

    name: str
    unit: str
    description: str
    kind: str  # "sum" | "gauge" | "histogram" | "exponential_histogram" | "summary"
    temporality: Optional[int]  # 1 delta, 2 cumulative, None for gauges
    monotonic: Optional[bool]
    attributes: dict[str, Any]
    resource: dict[str, Any]
    scope: str
    start_time_unix_nano: int
    time_unix_nano: int
    value: Optional[float] = None
    count: Optional[int] = None
    sum: Optional[float] = None
    bucket_counts: list[int] = field(default_factory=list)
    explicit_bounds: list[float] = field(default_factory=list)
    min: Optional[float] = None
    max: Optional[float] = None

    @property
    def key(self) -> tuple[str, AttrsKey]:
        return self.name, attrs_key(self.attributes)

    @property
    def is_delta(self) -> bool:
        return self.temporality == AGGREGATION_DELTA


@dataclass
class HistogramTotal:
    count: int
    sum: float
    bucket_counts: list[int]
    explicit_bounds: list[float]


Requests = Union[Any, Iterable[Any]]


def _as_list(requests: Requests) -> list[Any]:
    if hasattr(requests, "resource_metrics") or hasattr(requests, "resource_spans"):
        return [requests]
    return list(requests)


def _matches(resource: dict[str, Any], wanted: Optional[Mapping[str, Any]]) -> bool:
    return wanted is None or all(resource.get(k) == v for k, v in wanted.items())


def points(requests: Requests, *, resource: Optional[Mapping[str, Any]] = None) -> list[Point]:
    """Every data point of the given ExportMetricsServiceRequest(s), in arrival order."""
    result: list[Point] = []
    for request in _as_list(requests):
        for rm in request.resource_metrics:
            res = attributes(rm.resource.attributes)
            if not _matches(res, resource):
                continue
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    which = metric.WhichOneof("data")
                    data = getattr(metric, which)
                    temporality = getattr(data, "aggregation_temporality", None)
                    monotonic = getattr(data, "is_monotonic", None)
                    for dp in data.data_points:
                        point = Point(
                            name=metric.name,
                            unit=metric.unit,
                            description=metric.description,
                            kind=which,
                            temporality=temporality,
                            monotonic=monotonic,
                            attributes=attributes(dp.attributes),
                            resource=res,
                            scope=sm.scope.name,
                            start_time_unix_nano=dp.start_time_unix_nano,
                            time_unix_nano=dp.time_unix_nano,
                        )
                        if which in ("sum", "gauge"):
                            number = dp.WhichOneof("value")
                            point.value = float(getattr(dp, number)) if number else None
                        elif which == "histogram":
                            point.count = dp.count
                            point.sum = dp.sum
                            point.bucket_counts = list(dp.bucket_counts)
                            point.explicit_bounds = list(dp.explicit_bounds)
                            point.min = dp.min if dp.HasField("min") else None
                            point.max = dp.max if dp.HasField("max") else None
                        else:
                            point.count = getattr(dp, "count", None)
                            point.sum = getattr(dp, "sum", None)
                        result.append(point)
    return result


def latest(
    requests: Requests, *, resource: Optional[Mapping[str, Any]] = None
) -> dict[tuple[str, AttrsKey], Point]:
    """The newest point of every series (by ``time_unix_nano``, then arrival order)."""
    result: dict[tuple[str, AttrsKey], Point] = {}
    for point in points(requests, resource=resource):
        previous = result.get(point.key)
        if previous is None or point.time_unix_nano >= previous.time_unix_nano:
            result[point.key] = point
    return result


def totals(
    requests: Requests, *, resource: Optional[Mapping[str, Any]] = None
) -> dict[tuple[str, AttrsKey], Any]:
    """Running value per series: a float for sums/gauges, a :class:`HistogramTotal` for histograms.

    Cumulative points replace each other (latest wins); delta points are added up. With several
    resources (processes) matching, cumulative values are summed over resources.
    """
    per_resource: dict[tuple[AttrsKey, str, AttrsKey], Any] = {}
    for point in points(requests, resource=resource):
        key = (attrs_key(point.resource), *point.key)
        previous = per_resource.get(key)
        if point.kind == "histogram":
            total = HistogramTotal(
                point.count or 0,
                point.sum or 0.0,
                list(point.bucket_counts),
                list(point.explicit_bounds),
            )
            if point.is_delta and previous is not None:
                total = HistogramTotal(
                    previous.count + total.count,
                    previous.sum + total.sum,
                    [a + b for a, b in zip(previous.bucket_counts, total.bucket_counts)],
                    total.explicit_bounds,
                )
            per_resource[key] = total
        else:
            value = point.value or 0.0
            if point.kind == "sum" and point.is_delta and previous is not None:
                value += previous
            per_resource[key] = value
    result: dict[tuple[str, AttrsKey], Any] = {}
    for (_, name, attrs), value in per_resource.items():
        key2 = (name, attrs)
        if key2 not in result:
            result[key2] = value
        elif isinstance(value, HistogramTotal):
            prev = result[key2]
            result[key2] = HistogramTotal(
                prev.count + value.count,
                prev.sum + value.sum,
                [a + b for a, b in zip(prev.bucket_counts, value.bucket_counts)],
                value.explicit_bounds,
            )
        else:
            result[key2] = result[key2] + value
    return result


def all_resource_attributes(requests: Requests) -> list[dict[str, Any]]:
    """Attributes of every ResourceMetrics / ResourceSpans, in order."""
    result = []
    for request in _as_list(requests):
        for block in list(getattr(request, "resource_metrics", [])) + list(
            getattr(request, "resource_spans", [])
        ):
            result.append(attributes(block.resource.attributes))
    return result


def resource_attributes(request: Any) -> dict[str, Any]:
    """Attributes of the first resource of one request (metrics or traces)."""
    found = all_resource_attributes(request)
    return found[0] if found else {}


@dataclass
class SpanView:
    name: str
    kind: int
    attributes: dict[str, Any]
    resource: dict[str, Any]
    scope: str
    trace_id: str
    span_id: str
    parent_span_id: str
    status_code: int


def spans(requests: Requests, *, resource: Optional[Mapping[str, Any]] = None) -> list[SpanView]:
    """Every span of the given ExportTraceServiceRequest(s)."""
    result = []
    for request in _as_list(requests):
        for rs in request.resource_spans:
            res = attributes(rs.resource.attributes)
            if not _matches(res, resource):
                continue
            for ss in rs.scope_spans:
                for span in ss.spans:
                    result.append(
                        SpanView(
                            name=span.name,
                            kind=span.kind,
                            attributes=attributes(span.attributes),
                            resource=res,
                            scope=ss.scope.name,
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_span_id=span.parent_span_id.hex(),
                            status_code=span.status.code,
                        )
                    )
    return result
