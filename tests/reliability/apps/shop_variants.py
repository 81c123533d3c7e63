"""The Flask shop example, as gunicorn serves it, with or without sli_instrument.

``gunicorn shop_variants:app`` serves ``examples/flask_app/shop.py``'s ``create_app()``. With
``RELIAPP_INSTRUMENT=0`` the very same code runs without sli_instrument at all: before the shop
is imported, ``sli_instrument`` and ``sli_instrument.flask`` are replaced in ``sys.modules`` by
stand-ins whose ``journey`` does nothing and whose ``SLI`` installs nothing. That is the baseline
the load tier compares throughput against ("the same app without it").
"""

from __future__ import annotations

import contextlib
import os
import sys
import types
from pathlib import Path
from typing import Any

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "flask_app"


class _NoJourney(contextlib.ContextDecorator):
    def __call__(self, func: Any) -> Any:  # type: ignore[override]
        return func

    def __enter__(self) -> _NoJourney:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _install_stand_ins() -> None:
    stub = types.ModuleType("sli_instrument")
    stub.journey = lambda *args, **kwargs: _NoJourney()  # type: ignore[attr-defined]
    stub.configure = lambda **kwargs: None  # type: ignore[attr-defined]
    flask_stub = types.ModuleType("sli_instrument.flask")

    class SLI:
        def __init__(self, app: Any = None, **options: Any) -> None:
            pass

    flask_stub.SLI = SLI  # type: ignore[attr-defined]
    stub.flask = flask_stub  # type: ignore[attr-defined]
    sys.modules["sli_instrument"] = stub
    sys.modules["sli_instrument.flask"] = flask_stub


INSTRUMENT = os.environ.get("RELIAPP_INSTRUMENT", "1") == "1"
if not INSTRUMENT:
    assert "sli_instrument" not in sys.modules, "the bare shop must not load sli_instrument"
    _install_stand_ins()

sys.path.insert(0, str(EXAMPLE))
import shop  # noqa: E402

app = shop.create_app()
