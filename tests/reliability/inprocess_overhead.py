"""CPU per request of the Flask shop example, bare and instrumented, driven in process (no server).

    python tests/reliability/inprocess_overhead.py [rounds]

The load tier measures throughput through gunicorn, where a shared machine adds noise larger than
the effect; this measures the same app's request mix without sockets, as process CPU time, each
variant in its own interpreter, alternating (ABBA), and prints the medians and their ratio.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

APPS = Path(__file__).resolve().parent / "apps"
SLO = Path(__file__).resolve().parents[2] / "examples" / "flask_app" / "slo.yaml"

_CHILD = r"""
import io, os, sys, time
sys.path.insert(0, sys.argv[2])
os.environ["RELIAPP_INSTRUMENT"] = sys.argv[1]
os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:9"  # export is off the request path
os.environ["OTEL_METRIC_EXPORT_INTERVAL"] = "5000"
if sys.argv[1] == "1":
    os.environ["SLI_SLO_FILE"] = sys.argv[3]
import shop_variants

app = shop_variants.app.wsgi_app
mix = [
    ("GET", "/", "", b"", {}),
    ("GET", "/products/3", "", b"", {}),
    ("GET", "/search", "q=cup", b"", {}),
    ("POST", "/cart", "", b'{"product_id": 2}',
     {"HTTP_X_CART_ID": "load", "CONTENT_TYPE": "application/json"}),
    ("POST", "/checkout", "", b"", {"HTTP_X_CART_ID": "load"}),
    ("POST", "/checkout", "", b"", {"HTTP_X_SHOP_FAIL": "1"}),
    ("GET", "/orders/export", "rows=5", b"", {}),
    ("GET", "/healthz", "", b"", {}),
]


def call(method, path, query, body, headers):
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
        "SERVER_NAME": "localhost", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)), "wsgi.errors": sys.stderr, **headers,
    }
    result = app(environ, lambda status, headers, exc_info=None: None)
    b"".join(result)
    if hasattr(result, "close"):
        result.close()


for _ in range(WARMUP):
    for request in mix:
        call(*request)
start = time.process_time()
for _ in range(ROUNDS):
    for request in mix:
        call(*request)
print((time.process_time() - start) / (ROUNDS * len(mix)) * 1e6)
"""

#: Requests in one round of the mix above.
MIX_SIZE = 8


def child_source(warmup: int = 200, rounds: int = 400) -> str:
    """The child program: ``warmup`` rounds of the mix, then ``rounds`` timed ones."""
    return f"WARMUP = {warmup}\nROUNDS = {rounds}\n" + _CHILD


def measure(instrumented: bool) -> float:
    out = subprocess.run(
        [sys.executable, "-c", child_source(), "1" if instrumented else "0", str(APPS), str(SLO)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return float(out.stdout.split()[-1])


def main(argv: list[str]) -> int:
    rounds = int(argv[1]) if len(argv) > 1 else 8
    bare: list[float] = []
    inst: list[float] = []
    for n in range(rounds):
        for instrumented in (False, True) if n % 2 == 0 else (True, False):
            (inst if instrumented else bare).append(measure(instrumented))
    b, i = sorted(bare)[len(bare) // 2], sorted(inst)[len(inst) // 2]
    print(f"bare µs CPU/request:         {', '.join(f'{x:.0f}' for x in bare)}")
    print(f"instrumented µs CPU/request: {', '.join(f'{x:.0f}' for x in inst)}")
    print(
        f"medians: bare {b:.0f}, instrumented {i:.0f}, overhead {i - b:.0f} µs per request, "
        f"throughput ratio {b / i:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
