"""``sli_instrument.flask.SLI(app)``: see :mod:`sli_instrument.integrations.flask`."""

from __future__ import annotations

from .integrations.flask import SLI

__all__ = ["SLI"]
