"""A real OpenTelemetry collector process (the ``rotel`` agent shipped by the ``rotel`` package).

    with RotelCollector(forward_to=receiver.grpc_endpoint, workdir=tmp_path) as collector:
        collector.http_endpoint     # "http://127.0.0.1:PORT": OTLP/HTTP in
        collector.grpc_endpoint     # "http://127.0.0.1:PORT": OTLP/gRPC in

It receives OTLP on two free loopback ports and exports OTLP/gRPC to ``forward_to``. The agent runs
in the foreground as a child of the test (never ``--daemon``), and is stopped with SIGTERM, then
SIGKILL after a grace period.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Optional


def agent_path() -> Path:
    import rotel

    return Path(rotel.__file__).parent / "rotel-agent"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


class RotelCollector:
    def __init__(
        self, *, forward_to: str, workdir: Path, batch_timeout: str = "100ms", **env: str
    ) -> None:
        self.forward_to = forward_to
        self.workdir = Path(workdir)
        self.grpc_port = free_port()
        self.http_port = free_port()
        self.batch_timeout = batch_timeout
        self.extra_env = env
        self.process: Optional[subprocess.Popen[bytes]] = None

    @property
    def grpc_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.grpc_port}"

    @property
    def http_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def log_file(self) -> Path:
        return self.workdir / "rotel.log"

    def start(self) -> RotelCollector:
        self.workdir.mkdir(parents=True, exist_ok=True)
        args = [
            str(agent_path()),
            "start",
            "--otlp-grpc-endpoint", f"127.0.0.1:{self.grpc_port}",
            "--otlp-http-endpoint", f"127.0.0.1:{self.http_port}",
            "--exporter", "otlp",
            "--otlp-exporter-endpoint", self.forward_to,
            "--otlp-exporter-protocol", "grpc",
            "--batch-timeout", self.batch_timeout,
            "--pid-file", str(self.workdir / "rotel.pid"),
            "--log-file", str(self.log_file),
        ]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("ROTEL_")}
        env.update(self.extra_env)
        self.process = subprocess.Popen(
            args, env=env, stdout=subprocess.DEVNULL, stderr=open(self.log_file, "ab")
        )
        try:
            wait_listening(self.grpc_port)
            wait_listening(self.http_port)
        except AssertionError:
            self.stop()
            raise AssertionError(f"rotel did not start: {self.log_text()}") from None
        return self

    def log_text(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self, grace: float = 5.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

    def __enter__(self) -> RotelCollector:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
