"""Per-request overhead on a FastAPI app, side by side in one run: ours against FastAPI's own.

FastAPI 0.142 and later instrument themselves with OpenTelemetry (``http.server.request.duration``
and ``http.server.active_requests`` per method, route and status) whenever a meter provider is
there, and ``sli.configure()`` installs one globally. A one-route FastAPI app (an ``async``
endpoint returning a small dict, serialised by FastAPI) is driven in process (no sockets) through:

* ``bare``: FastAPI's telemetry off (the baseline subtracted from every other row);
* ``sli``: our ``SLIMiddleware``, ``configure()`` owning the pipeline (in-memory reader), FastAPI's
  metrics off, as ``docs/fastapi.md`` recommends;
* ``fastapi native``: FastAPI's own metrics on an SDK meter provider (in-memory reader), no sli;
* ``sli + native``: both, FastAPI's metrics on our pipeline's provider: what ``sli.configure()``
  gives a FastAPI 0.142+ app whose telemetry settings are left at FastAPI's defaults;
* ``prometheus``: the hand-written prometheus-client middleware of ``bench_http``.

Each variant serves ``--requests`` requests per round; rounds alternate the variants, and the
figure is the median over ``--rounds`` rounds of the mean CPU time per request. Overhead = variant
minus bare; the last column divides each overhead by FastAPI's own.

Run: ``python -m benchmarks fastapi`` from the repository root. Needs ``fastapi`` 0.142 or later
(``pip install -e ".[fastapi,prometheus]"``); with an older one it says so and exits 0.
"""

from __future__ import annotations

import argparse
import gc
import inspect
import json
import statistics
import sys
from typing import Any

from benchmarks.bench_http import prometheus_asgi, run_asgi, sdk_meter_provider

VARIANTS = ("bare", "sli", "fastapi native", "sli + native", "prometheus")


def _telemetry_supported() -> bool:
    from fastapi import FastAPI

    return "telemetry" in inspect.signature(FastAPI.__init__).parameters


def build(variant: str) -> Any:
    from fastapi import FastAPI

    from sli_instrument import configure
    from sli_instrument.testing import reset_state

    provider = None
    if variant.startswith("sli"):
        reset_state()
        config = configure(service_name="bench", exporter="memory", install_global=False)
        provider = config.meter_provider
    if variant == "fastapi native":
        provider = sdk_meter_provider()
    native = variant in ("fastapi native", "sli + native")
    # Spans and logs stay off in every variant: only the metrics are compared.
    telemetry: dict[str, Any] = {"tracing": False, "logs": False, "metrics": native}
    if native:
        telemetry["meter_provider"] = provider
    app = FastAPI(telemetry=telemetry)

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, Any]:
        return {"id": item_id, "name": "espresso cup", "price": 9.5}

    if variant.startswith("sli"):
        from sli_instrument.starlette import SLIMiddleware

        app.add_middleware(SLIMiddleware, routes={"/items/{item_id}": "browse"})
    elif variant == "prometheus":
        app.add_middleware(prometheus_asgi)  # type: ignore[arg-type]
    return app


def measure(requests: int, rounds: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for _ in range(rounds):
        for variant in VARIANTS:
            app = build(variant)
            run_asgi(app, min(500, requests), path="/items/7")  # warm up: routing, caches
            gc.collect()
            gc.disable()
            try:
                samples[variant].append(run_asgi(app, requests, path="/items/7"))
            finally:
                gc.enable()
    return {variant: statistics.median(values) for variant, values in samples.items()}


def report(medians: dict[str, float]) -> str:
    bare = medians["bare"]
    native = medians["fastapi native"] - bare
    lines = ["\nFASTAPI (median of rounds, microseconds per request)"]
    lines.append(f"{'variant':<16}{'total':>10}{'overhead':>10}{'/ native':>10}")
    for variant in VARIANTS:
        over = medians[variant] - bare
        ratio = over / native if variant != "bare" else float("nan")
        lines.append(
            f"{variant:<16}{medians[variant] * 1e6:>10.2f}{over * 1e6:>10.2f}{ratio:>10.2f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5_000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--json", action="store_true", help="print the medians as JSON")
    args = parser.parse_args(argv)
    try:
        supported = _telemetry_supported()
    except ImportError:
        print("bench_fastapi: FastAPI is not installed; skipped")
        return 0
    if not supported:
        print("bench_fastapi: this FastAPI has no native telemetry (0.142+); skipped")
        return 0
    medians = measure(args.requests, args.rounds)
    print(json.dumps(medians, indent=2) if args.json else report(medians))
    from sli_instrument.testing import reset_state

    reset_state()
    return 0


if __name__ == "__main__":
    sys.exit(main())
