"""The load tier compares like with like: the instrumented app runs the bare app's own code.

The throughput bound of ``test_load.py`` is "the same app without sli_instrument". Both variants
are one module run two ways (``RELIAPP_INSTRUMENT``), so a branch of the app that runs only when
instrumented would be charged to the middleware. It happened: the Starlette app's leak check read
the outgoing baggage through OpenTelemetry's propagators on every ``/jitter`` request while the
bare app skipped it, four propagator calls on one request in eight that were test code, not ours.

This drives each app's load mix in process, bare and instrumented, with a profile hook counting
Python calls, and compares what the *application* does: every call of a function defined by the
app, and every call the app's code makes into other code (Starlette, Flask, OpenTelemetry, ...).
They must be equal, call for call. What sli_instrument runs is left out, and so are the no-op
stand-ins the bare apps use for ``journey`` (replaced by ours when instrumented).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest
from inprocess_overhead import APPS, SLO, child_source
from instruction_count import ASGI_CALL

from tests.reliability.test_load import FASTAPI_SHOP_REQUESTS, STARLETTE_REQUESTS
from tests.support.loadgen import Req

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

#: The bare apps' stand-ins for ``sli_instrument.journey`` (module, function names).
STAND_INS = {
    "reliapp_instrument.py": {
        "no_journey",
        "__call__",
        "__enter__",
        "__exit__",
        "__aenter__",
        "__aexit__",
    },
    "shop_variants.py": {"<lambda>", "__call__", "__enter__", "__exit__"},
}

#: Installed in the child before its measured requests: counts ``(caller, callee)`` pairs in which
#: the caller or the callee is the application's code (files under the apps' directories).
_PROFILE = r"""
import collections as _collections, json as _json, os as _os, sys as _sys, threading as _threading

_APP_DIRS = tuple(_json.loads(_os.environ["FAIRNESS_APP_DIRS"]))
_CALLS = _collections.Counter()
_ON = [False]


def _where(code):
    name = code.co_filename
    if name.startswith(_APP_DIRS):
        return "app", _os.path.basename(name) + ":" + code.co_name
    if "sli_instrument" in name:
        return "ours", None
    return "other", name.rsplit("site-packages/", 1)[-1] + ":" + code.co_name


def _profile(frame, event, arg):
    if event != "call" or not _ON[0]:
        return
    callee_kind, callee = _where(frame.f_code)
    if callee_kind == "ours":
        return
    caller = frame.f_back
    caller_kind = _where(caller.f_code)[0] if caller is not None else "other"
    if callee_kind == "app":
        _CALLS["app function " + callee] += 1
    elif caller_kind == "app":
        _CALLS["called by the app " + callee] += 1


def _install():
    # Before the first request: threads started later (the thread pools') inherit the hook.
    _threading.setprofile(_profile)
    _sys.setprofile(_profile)


def _start_counting():
    _ON[0] = True


def _stop_counting():
    _ON[0] = False
    _sys.setprofile(None)
    _threading.setprofile(None)
    print("CALLS " + _json.dumps(_CALLS))
"""

_ASGI_CHILD = (
    r"""
import asyncio, importlib, json, sys
sys.path.insert(0, sys.argv[1])
app = importlib.import_module(sys.argv[3]).app
# [method, path, body, query, [[header, value], ...]] with text for bytes
MIX = [
    (m, path, body.encode(), query.encode(), [(k.lower().encode(), v.encode()) for k, v in heads])
    for m, path, body, query, heads in json.loads(sys.argv[2])
]
"""
    + ASGI_CALL
    + r"""

async def main():
    _install()
    for _ in range(3):  # warm-up: first-request work (imports, caches) is not the mix's
        for request in MIX:
            await call(*request)
    _start_counting()
    for _ in range(ROUNDS):
        for request in MIX:
            await call(*request)
    _stop_counting()


asyncio.run(main())
"""
)

ROUNDS = 20


def _asgi_mix(requests: Sequence[Req]) -> str:
    mix = []
    for r in requests:
        path, _, query = r.path.partition("?")
        mix.append([r.method, path, r.body.decode(), query, [list(h) for h in r.headers]])
    return json.dumps(mix)


def _counts(source: str, args: list[str], instrumented: bool, **extra_env: str) -> Counter[str]:
    env = {
        **os.environ,
        "RELIAPP_INSTRUMENT": "1" if instrumented else "0",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9",  # nothing listens: export is off
        "OTEL_METRIC_EXPORT_INTERVAL": "600000",
        "FAIRNESS_APP_DIRS": json.dumps([str(APPS), str(EXAMPLES)]),
        "PYTHONPATH": os.pathsep.join([str(APPS), str(ROOT)]),
    }
    env.update(extra_env)
    env.pop("SLI_SLO_FILE", None)
    env.pop("RELIAPP_ECHO_JOURNEY", None)
    done = subprocess.run(
        [sys.executable, "-c", source, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("CALLS "))
    return Counter(json.loads(line[len("CALLS ") :]))


def _application_calls(counts: Counter[str]) -> Counter[str]:
    """The counts without the journey stand-ins (what ``journey`` is in the bare app)."""
    kept: Counter[str] = Counter()
    for key, n in counts.items():
        module, _, function = key.rsplit(" ", 1)[-1].partition(":")
        if key.startswith("app function ") and function in STAND_INS.get(module, ()):
            continue
        kept[key] = n
    return kept


def _assert_same(bare: Counter[str], instrumented: Counter[str]) -> None:
    bare, instrumented = _application_calls(bare), _application_calls(instrumented)
    assert sum(bare.values()) > 0, "the profile counted nothing: the check would be vacuous"
    differ = {
        key: (bare.get(key, 0), instrumented.get(key, 0))
        for key in sorted(set(bare) | set(instrumented))
        if bare.get(key, 0) != instrumented.get(key, 0)
    }
    assert not differ, f"the app runs other code when instrumented (bare, instrumented): {differ}"


@pytest.mark.timeout(240)
def test_starlette_app_runs_the_same_code_bare_and_instrumented() -> None:
    mix = _asgi_mix(STARLETTE_REQUESTS)
    source = _PROFILE + _ASGI_CHILD.replace("ROUNDS", str(ROUNDS))
    bare = _counts(source, [str(APPS), mix, "reliapp_asgi"], instrumented=False)
    instrumented = _counts(source, [str(APPS), mix, "reliapp_asgi"], instrumented=True)
    # The mix reached the app's endpoints (a typo in a path would make this pass vacuously;
    # a coroutine counts once per call and once per resumption).
    for endpoint in ("browse", "search", "checkout", "pay", "mixed", "stream", "jitter"):
        assert bare.get(f"app function reliapp_asgi.py:{endpoint}", 0) >= ROUNDS, endpoint
    _assert_same(bare, instrumented)


@pytest.mark.timeout(240)
def test_flask_shop_runs_the_same_code_bare_and_instrumented() -> None:
    source = _PROFILE + child_source(warmup=3, rounds=ROUNDS)
    for before, after in (
        ("for _ in range(WARMUP):", "_install()\nfor _ in range(WARMUP):"),
        ("start = time.process_time()", "_start_counting()\nstart = time.process_time()"),
        ("print((time.process_time()", "_stop_counting()\nprint((time.process_time()"),
    ):
        assert source.count(before) == 1, before
        source = source.replace(before, after)
    args = [str(APPS), str(SLO)]
    bare = _counts(source, ["0", *args], instrumented=False)
    instrumented = _counts(source, ["1", *args], instrumented=True)
    assert sum(n for k, n in bare.items() if k.startswith("app function shop.py:")) >= ROUNDS * 8
    _assert_same(bare, instrumented)


@pytest.mark.timeout(240)
def test_fastapi_shop_runs_the_same_code_bare_and_instrumented() -> None:
    pytest.importorskip("fastapi")
    source = _PROFILE + _ASGI_CHILD.replace("ROUNDS", str(ROUNDS))
    args = [str(APPS), _asgi_mix(FASTAPI_SHOP_REQUESTS), "shop_variants"]
    bare = _counts(source, args, instrumented=False, RELIAPP_SHOP="fastapi")
    instrumented = _counts(source, args, instrumented=True, RELIAPP_SHOP="fastapi")
    for endpoint in ("index", "product", "search", "add_to_cart", "checkout", "export_orders"):
        assert bare.get(f"app function shop.py:{endpoint}", 0) >= ROUNDS, endpoint
    assert bare.get("app function shop.py:healthz", 0) >= ROUNDS
    _assert_same(bare, instrumented)
