"""Hostile input over real sockets: raw, malformed and adversarial HTTP/1.1 requests to the
instrumented app under gunicorn and under uvicorn, each compared with the bare app's answer.

Whatever the server's parser lets through reaches our middleware. Checked: every answer equals
the bare app's (status and body, byte for byte), the workers survive (same pids), the exported
series are only the app's registered journeys, every request the app served is counted exactly
once, and neither the canary (in paths, queries, headers, baggage) nor an internal error appears
in what the instrumented process logged (the servers' own access/parse warnings excepted: those
are the server's, not ours).
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest
from harness import Server, wait_until
from rig import recorded

from conftest import otlp_env, save_result
from tests.support.otlp_receiver import OTLPReceiver, points

CANARY = b"zqxcanary"
KNOWN = {"browse", "search", "checkout", "pay", "slow", "stream", "unclaimed", "mixed", "cart"}
KNOWN |= {f"j{n}" for n in range(8)}


def _request(line: bytes, *headers: bytes, body: bytes = b"") -> bytes:
    head = [line, b"Host: localhost", b"Connection: close", *headers]
    if body:
        head.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def _baggage(value: bytes) -> bytes:
    return b"baggage: " + value


HOSTILE = [
    _request(b"GET /" + CANARY + b" HTTP/1.1"),
    _request(b"GET /browse?q=" + CANARY + b"&x=%00%ff%c3%a7 HTTP/1.1"),
    _request(b"GET /browse/../../etc/passwd" + CANARY + b" HTTP/1.1"),
    _request(b"GET //browse//" + CANARY + b" HTTP/1.1"),
    _request(b"GET /%2e%2e/" + CANARY + b"%00 HTTP/1.1"),
    _request(b"GET /\xc3\xa7" + CANARY + b" HTTP/1.1"),  # raw UTF-8 in the path
    _request(b"GET /" + CANARY * 400 + b" HTTP/1.1"),  # 3.6 KB path
    _request(b"GET http://evil.example/" + CANARY + b" HTTP/1.1"),  # absolute form
    _request(b"GET /browse HTTP/1.0"),
    _request(b"BREW /browse HTTP/1.1"),
    _request(b"ZQXCANARY /browse HTTP/1.1"),
    _request(b"G\x00T /browse HTTP/1.1"),
    _request(b"get /browse HTTP/1.1"),
    _request(b"DELETE /checkout HTTP/1.1"),
    _request(b"OPTIONS * HTTP/1.1"),
    _request(b"POST /checkout HTTP/1.1", body=CANARY * 1000),
    _request(b"GET /browse HTTP/1.1", b"X-Big: " + CANARY * 900),  # 8 KB header
    _request(b"GET /browse HTTP/1.1", *[b"X-H%d: " % i + CANARY for i in range(90)]),
    _request(b"GET /browse HTTP/1.1", b"X-Utf8: \xc3\xa7" + CANARY, b"X-Bin: \x01\x7f" + CANARY),
    _request(b"GET /browse HTTP/1.1", b"Transfer-Encoding: chunked", b"Content-Length: 3"),
    _request(b"GET /browse HTTP/1.1", b"Content-Length: -1"),
    _request(b"GET /browse HTTP/1.1", b"Cookie: session=" + CANARY),
    _request(b"GET /browse HTTP/1.1", b"Authorization: Bearer " + CANARY),
    _request(b"GET /browse HTTP/1.1", b"X-Forwarded-For: " + CANARY),
    _request(b"GET /browse HTTP/1.1", b"User-Agent: " + CANARY),
    _request(b"GET /browse HTTP/1.1", b"Traceparent: 00-" + CANARY + b"-01"),
    # baggage: allowed journeys, other journeys, unknown names, malformed, oversized, many
    _request(b"GET /__ready HTTP/1.1", _baggage(b"sli.journey=checkout")),  # allowed: checkout
    _request(b"GET /__ready HTTP/1.1", _baggage(b"sli.journey=pay")),  # registered, not allowed
    _request(b"GET /__ready HTTP/1.1", _baggage(b"sli.journey=" + CANARY)),
    _request(b"GET /__ready HTTP/1.1", _baggage(b"sli.journey=" + CANARY + b",sli.journey=x")),
    _request(b"GET /__ready HTTP/1.1", _baggage(b"sli.journey=checkout;p=" + CANARY)),
    _request(b"GET /__ready HTTP/1.1", _baggage(CANARY + b" =;;,=,sli.journey")),
    _request(b"GET /__ready HTTP/1.1", _baggage(b"sli.journey=\xc3\xa7" + CANARY)),
    _request(b"GET /__ready HTTP/1.1", _baggage(b"sli.journey=%ZZ" + CANARY)),
    _request(b"GET /__ready HTTP/1.1", _baggage(b"sli.journey=" + CANARY * 900)),
    _request(
        b"GET /__ready HTTP/1.1",
        _baggage(b",".join(b"k%d=%s" % (i, CANARY) for i in range(300)) + b",sli.journey=x"),
    ),
    _request(b"GET /browse HTTP/1.1", _baggage(b"sli.journey=checkout")),  # decorator wins
    b"\r\n\r\n\r\n",
]
#: Requests that never end: the server waits for the rest; we stop listening after a moment.
UNFINISHED = [
    b"GET /browse HTTP/1.1\r\nHost: x\r\n",
    CANARY * 100,
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + CANARY,  # a TLS hello (no line end)
]
HOSTILE += UNFINISHED


def _exchange(server: Server, data: bytes) -> bytes:
    """Send ``data`` and read until the server closes the connection."""
    # No half-close: an ASGI server that sees EOF drops the response of a request in progress.
    timeout = 0.3 if data in UNFINISHED else 10
    with socket.create_connection((server.host, server.port), timeout=timeout) as conn:
        conn.sendall(data)
        chunks = []
        while True:
            try:
                chunk = conn.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


_VOLATILE = re.compile(rb"(?im)^(date|server):.*\r\n")


_ALLOW = re.compile(rb"(?im)^(allow):(.*)\r\n")


def _normal(response: bytes) -> bytes:
    # Date and Server vary by time and server; frameworks build Allow from a set (its order
    # changes with each process's hash seed): compare its methods sorted.
    response = _VOLATILE.sub(b"", response)
    return _ALLOW.sub(
        lambda m: (
            m.group(1)
            + b": "
            + b",".join(sorted(v.strip() for v in m.group(2).split(b",")))
            + b"\r\n"
        ),
        response,
    )


def _ours(log: str) -> list[str]:
    """Lines the instrumented process logged that are not the server's own records."""
    server_line = re.compile(r"^(\[\d{4}-\d\d-\d\d |INFO:|WARNING:|ERROR:|DEBUG:)")
    return [line for line in log.splitlines() if line.strip() and not server_line.match(line)]


def _served_by_app(response: bytes) -> bool:
    # Parse errors are answered by the server itself (no Server header from gunicorn; uvicorn's
    # are plain text "Invalid HTTP request"); everything else went through the app.
    head = response.split(b"\r\n\r\n", 1)[0].lower()
    return (
        bool(response)
        and b"invalid http request" not in response.lower()
        and (b"\r\nserver:" in head)
    )


@pytest.mark.parametrize("kind", ["gunicorn", "uvicorn"])
def test_raw_hostile_requests_against_real_servers(tmp_path: Path, kind: str) -> None:
    with OTLPReceiver(grpc_enabled=False) as receiver:
        env = otlp_env(receiver.http_endpoint)
        if kind == "gunicorn":
            make = lambda name, e: Server.gunicorn(  # noqa: E731
                "reliapp_wsgi:app", log_path=tmp_path / f"{name}.log", env=e, workers=1
            )
        else:
            make = lambda name, e: Server.uvicorn(  # noqa: E731
                "reliapp_asgi:application", log_path=tmp_path / f"{name}.log", env=e
            )
        bare = make("bare", {"RELIAPP_INSTRUMENT": "0"})
        inst = make("instrumented", env)
        with bare, inst:
            workers = set(inst.workers())
            served = 0
            answers = []
            for data in HOSTILE:
                expected = _exchange(bare, data)
                got = _exchange(inst, data)
                assert _normal(got) == _normal(expected), (data[:80], got[:300], expected[:300])
                served += _served_by_app(got)
                answers.append(got.split(b"\r\n", 1)[0].decode("latin-1"))
            assert set(inst.workers()) == workers, "a worker died"
        expected_total = served + inst.probes

        def counted() -> bool:
            return sum(recorded(receiver).values()) >= expected_total

        wait_until(counted, 15)
        got_counts = {j: n for j, n in recorded(receiver).items() if n}
        exported = {p.attributes.get("sli.journey") for p in points(receiver.metrics)}
        log = inst.log_text()
    assert sum(got_counts.values()) == expected_total, (got_counts, served, inst.probes)
    assert exported <= KNOWN, exported - KNOWN
    # POST /checkout, and the two requests whose baggage names the allowed journey checkout
    # (one with a W3C property); the others' baggage named nothing allowed: unclaimed.
    assert got_counts.get("checkout", 0) == 3, got_counts
    assert CANARY.decode() not in str(list(receiver.metrics))
    ours = _ours(log)
    assert not [line for line in ours if CANARY.decode() in line.lower()], ours[:5]
    assert not [line for line in ours if "internal error" in line], ours[:5]
    save_result(
        f"hostile_raw_{kind}",
        {
            "requests": len(HOSTILE),
            "served_by_app": served,
            "rejected_by_server_parser": len(HOSTILE) - served,
            "status_lines": sorted(set(answers)),
            "recorded_per_journey": got_counts,
            "log_lines_from_us": len(ours),
        },
    )
