"""The shop examples, as gunicorn and uvicorn serve them, with or without sli_instrument.

``gunicorn shop_variants:app`` serves ``examples/flask_app/shop.py``'s ``create_app()``;
``RELIAPP_SHOP=fastapi uvicorn shop_variants:app`` serves ``examples/fastapi_app/shop.py``'s. With
``RELIAPP_INSTRUMENT=0`` the very same code runs without sli_instrument at all: before the shop
is imported, ``sli_instrument`` and its integration modules are replaced in ``sys.modules`` by
stand-ins whose ``journey`` does nothing, whose Flask ``SLI`` installs nothing, and whose
``SLIMiddleware`` adds no layer (building it returns the app it would wrap). That is the baseline
the load tier compares throughput against ("the same app without it").
"""

from __future__ import annotations

import contextlib
import os
import sys
import types
from pathlib import Path
from typing import Any

SHOP = os.environ.get("RELIAPP_SHOP", "flask")
if SHOP not in ("flask", "fastapi"):
    raise SystemExit(f"RELIAPP_SHOP={SHOP!r}: expected flask or fastapi")
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / f"{SHOP}_app"


class _NoJourney(contextlib.ContextDecorator):
    def __call__(self, func: Any) -> Any:  # type: ignore[override]
        return func

    def __enter__(self) -> _NoJourney:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class _NoMiddleware:
    """``app.add_middleware(SLIMiddleware, ...)`` with this adds no layer to Starlette's stack."""

    def __new__(cls, app: Any, **options: Any) -> Any:
        return app


def _install_stand_ins() -> None:
    stub = types.ModuleType("sli_instrument")
    stub.journey = lambda *args, **kwargs: _NoJourney()  # type: ignore[attr-defined]
    stub.configure = lambda **kwargs: None  # type: ignore[attr-defined]
    flask_stub = types.ModuleType("sli_instrument.flask")

    class SLI:
        def __init__(self, app: Any = None, **options: Any) -> None:
            pass

    flask_stub.SLI = SLI  # type: ignore[attr-defined]
    starlette_stub = types.ModuleType("sli_instrument.starlette")
    starlette_stub.SLIMiddleware = _NoMiddleware  # type: ignore[attr-defined]
    stub.flask = flask_stub  # type: ignore[attr-defined]
    stub.starlette = starlette_stub  # type: ignore[attr-defined]
    sys.modules["sli_instrument"] = stub
    sys.modules["sli_instrument.flask"] = flask_stub
    sys.modules["sli_instrument.starlette"] = starlette_stub


INSTRUMENT = os.environ.get("RELIAPP_INSTRUMENT", "1") == "1"
if not INSTRUMENT:
    assert "sli_instrument" not in sys.modules, "the bare shop must not load sli_instrument"
    _install_stand_ins()

sys.path.insert(0, str(EXAMPLE))
import shop  # noqa: E402

if SHOP == "fastapi":
    # RELIAPP_FASTAPI_METRICS=1: FastAPI's own HTTP metrics on, as FastAPI has them by default
    # whenever a global meter provider exists (the example turns them off; docs/fastapi.md).
    native = os.environ.get("RELIAPP_FASTAPI_METRICS") == "1"
    app = shop.create_app(native_metrics=native)
else:
    app = shop.create_app()
