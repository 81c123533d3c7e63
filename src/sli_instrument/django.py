"""``MIDDLEWARE = ["sli_instrument.django.SLIMiddleware", ...]``: see
:mod:`sli_instrument.integrations.django`."""

from __future__ import annotations

from .integrations.django import SLIMiddleware

__all__ = ["SLIMiddleware"]
