"""SLOs as code: the SLO file model and loader, error-budget and burn-rate math (no OpenTelemetry)."""

from __future__ import annotations

from .model import AlertWindow, JourneyObjective, LatencyObjective, SLOSpec, Window

__all__ = ["AlertWindow", "JourneyObjective", "LatencyObjective", "SLOSpec", "Window"]
