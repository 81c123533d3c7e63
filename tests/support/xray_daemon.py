"""A stand-in for the X-Ray daemon: a UDP listener on loopback that decodes what the SDK sends.

The daemon protocol (AWS X-Ray developer guide, "Sending segment documents to the X-Ray daemon"):
each datagram is the header ``{"format": "json", "version": 1}``, a newline, then one segment (or
subsegment) document as JSON. Malformed datagrams are kept in ``rejected`` so a test can fail on
them.

    with XRayDaemon() as daemon:
        xray_recorder.configure(daemon_address=daemon.address, ...)
        ...
        daemon.wait_for(lambda segments: len(segments) >= 3)
        daemon.segments     # list of decoded segment documents, in arrival order
"""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any, Callable

HEADER = {"format": "json", "version": 1}


class XRayDaemon:
    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.1)
        self.port = int(self._socket.getsockname()[1])
        self.segments: list[dict[str, Any]] = []
        self.rejected: list[bytes] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="xray-daemon", daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> XRayDaemon:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._socket.close()

    def __enter__(self) -> XRayDaemon:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._socket.recv(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            header, sep, body = data.partition(b"\n")
            try:
                if not sep or json.loads(header) != HEADER:
                    raise ValueError("bad header")
                document = json.loads(body)
            except ValueError:
                with self._lock:
                    self.rejected.append(data)
                continue
            with self._lock:
                self.segments.append(document)

    def wait_for(
        self, condition: Callable[[list[dict[str, Any]]], bool], timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                segments = list(self.segments)
            if condition(segments):
                return segments
            if time.monotonic() > deadline:
                raise AssertionError(f"X-Ray daemon: condition not met; got {segments!r}")
            time.sleep(0.02)
