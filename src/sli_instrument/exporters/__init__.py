"""Metric exporters of our own: :mod:`sli_instrument.exporters.emf` (CloudWatch EMF)."""

from __future__ import annotations
