"""``app.add_middleware(sli_instrument.starlette.SLIMiddleware)``: see
:mod:`sli_instrument.integrations.starlette` (FastAPI too)."""

from __future__ import annotations

from .integrations.starlette import SLIMiddleware

__all__ = ["SLIMiddleware"]
