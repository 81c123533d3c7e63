"""Exceptions raised at configuration time. Nothing here is ever raised at request time."""

from __future__ import annotations

__all__ = ["ConfigurationError"]


class ConfigurationError(ValueError):
    """A setting, journey or SLO file is invalid.

    Subclasses :class:`ValueError` so ``except ValueError`` keeps working. The message always quotes
    the offending value and says where it came from (argument, environment variable, file and line).
    """
