"""The core record path: a plain function vs ``@journey`` vs one SDK ``Histogram.record``.

Three callables are timed side by side, in the same process and in alternating order:

* ``plain``: ``def f(): return 1``;
* ``@journey``: the same function decorated with ``@sli.journey("bench")`` and called outside
  any request (so each call is one SLI event: requests, failures, slow and duration all live);
* ``with journey()``: ``with sli.journey("bench_block"): return f()`` (the context-manager form,
  name looked up on each call);
* ``1 record``: a ``functools.wraps`` closure around the same function that measures the call
  with ``perf_counter`` and makes one OpenTelemetry SDK ``Histogram.record`` with the same two
  attributes we use (``sli.journey``, ``sli.outcome``): the cheapest hand-written SLI.

Two set-ups, each in a fresh interpreter:

* ``foreign``: an SDK ``MeterProvider`` with an ``InMemoryMetricReader`` installed as the global
  provider by the benchmark (what the ADOT distro or ``opentelemetry-instrument`` do), then
  ``sli.configure()`` which uses it (our counters are observable, each event makes one SDK
  histogram record);
* ``owned``: ``sli.configure(exporter="memory")`` builds and owns the pipeline (counters and
  histogram aggregated in process, handed to the reader at collection).

Each round times ``--calls`` calls of every callable (gc disabled while timing); the figures are
medians over ``--rounds`` rounds, and ratios are medians of the per-round ratios.

Run: ``python -m benchmarks core`` (or ``python -m benchmarks.bench_core``).
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import statistics
import subprocess
import sys
import time
from typing import Any, Callable

SETUPS = ("foreign", "owned")
ROWS = ("plain", "@journey", "with journey()", "1 record", "@journey in request")


def build(setup: str) -> dict[str, Callable[[], Any]]:
    import sli_instrument as sli
    from sli_instrument._context import open_scope

    if setup == "foreign":
        from opentelemetry import metrics
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader

        provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
        metrics.set_meter_provider(provider)
        config = sli.configure(service_name="bench")
        assert not config.owned
        assert config.meter_provider is provider
    else:
        config = sli.configure(service_name="bench", exporter="memory")
        assert config.owned
        provider = config.meter_provider

    histogram = provider.get_meter("bench").create_histogram("bench.duration", unit="s")
    attributes = {"sli.journey": "bench", "sli.outcome": "success"}
    perf_counter = time.perf_counter

    def plain() -> int:
        return 1

    decorated = sli.journey("bench")(plain)

    def with_block() -> int:
        with sli.journey("bench_block"):  # the name is looked up on every call, as in an app
            return plain()

    @functools.wraps(plain)
    def one_record() -> int:
        start = perf_counter()
        result = plain()
        histogram.record(perf_counter() - start, attributes)
        return result

    # Inside a request scope the decorator only names the journey (the middleware records).
    in_request = sli.journey("bench_in_request")(plain)
    _scope, _token = open_scope()

    def claimed() -> int:
        return in_request()  # type: ignore[no-any-return]

    return {
        "plain": plain,
        "@journey": decorated,
        "with journey()": with_block,
        "1 record": one_record,
        "@journey in request": claimed,
    }


def _time(func: Callable[[], Any], calls: int) -> float:
    loop = range(calls)
    gc.disable()
    try:
        started = time.perf_counter()
        for _ in loop:
            func()
        return (time.perf_counter() - started) / calls
    finally:
        gc.enable()


def measure(setup: str, calls: int, rounds: int) -> dict[str, Any]:
    funcs = build(setup)
    # "in request" runs with an open scope; the others must not: time it in its own context.
    import contextvars

    outside = contextvars.Context()
    in_request = funcs.pop("@journey in request")
    for func in funcs.values():
        outside.run(_time, func, 2_000)  # warm up (first event binds and fixes bounds)
    in_request()
    samples: dict[str, list[float]] = {row: [] for row in ROWS}
    ratios: list[float] = []
    overhead_ratios: list[float] = []
    names = list(funcs)
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        got = {name: outside.run(_time, funcs[name], calls) for name in order}
        got["@journey in request"] = _time(in_request, calls)
        for name, value in got.items():
            samples[name].append(value)
        ratios.append(got["@journey"] / got["1 record"])
        overhead_ratios.append((got["@journey"] - got["plain"]) / (got["1 record"] - got["plain"]))
    return {
        "setup": setup,
        "ns": {row: statistics.median(values) * 1e9 for row, values in samples.items()},
        "ratio": statistics.median(ratios),
        "overhead_ratio": statistics.median(overhead_ratios),
        "ratio_spread": [min(ratios), max(ratios)],
        "calls": calls,
        "rounds": rounds,
    }


def report(results: list[dict[str, Any]]) -> str:
    lines = ["Core record path (median ns per call; ratios are medians of per-round ratios)"]
    lines.append(f"{'set-up':<9}" + "".join(f"{row:>21}" for row in ROWS))
    for res in results:
        lines.append(f"{res['setup']:<9}" + "".join(f"{res['ns'][row]:>21.0f}" for row in ROWS))
    lines.append("")
    targets = {"foreign": ("must", 1.5), "owned": ("aim", 0.5)}
    for res in results:
        kind, limit = targets[res["setup"]]
        ok = "ok" if res["ratio"] <= limit else "MISSED"
        lo, hi = res["ratio_spread"]
        lines.append(
            f"{res['setup']:<9}@journey / 1 record = {res['ratio']:.2f}x "
            f"(rounds {lo:.2f}-{hi:.2f}; overhead ratio {res['overhead_ratio']:.2f}x) "
            f"[{kind} <= {limit}x: {ok}]"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20_000, help="calls per callable per round")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--setup", choices=SETUPS, help="run one set-up here (internal)")
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    args = parser.parse_args(argv)
    if args.setup:
        print(json.dumps(measure(args.setup, args.calls, args.rounds)))
        return 0
    results = []
    for setup in SETUPS:
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.bench_core",
                "--setup",
                setup,
                "--calls",
                str(args.calls),
                "--rounds",
                str(args.rounds),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(json.dumps(results, indent=2) if args.json else report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
