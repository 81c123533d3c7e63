"""SLOs as code: the SLO file's model and loader, error-budget and burn-rate math.

Pure Python: no OpenTelemetry here. Reading a file needs PyYAML (``sli_instrument[slo]``); the
model and the math do not, so ``budget`` and ``policy`` import without it.

- :func:`load_slo_file`, :func:`parse_slo`, :func:`dump_slo`: the SLO file (``docs/slo-file.md``);
- :func:`from_openslo`, :func:`to_openslo`: OpenSLO v1 import and export;
- ``budget``: SLI, error budget, budget remaining, burn rate, time to exhaustion, ``CountSeries``;
- ``policy``: the Workbook's multi-window, multi-burn-rate alerts and their evaluation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .budget import (
    BudgetStatus,
    CountSeries,
    budget_consumed,
    budget_minutes,
    budget_remaining,
    budget_remaining_minutes,
    budget_status,
    burn_rate,
    error_budget,
    error_ratio,
    sli,
    time_to_exhaustion,
    window_bounds,
)
from .model import AlertWindow, JourneyObjective, LatencyObjective, SLOSpec, Window
from .policy import (
    DEFAULT_POLICY,
    AlertEvaluation,
    ConditionResult,
    burn_rate_factor,
    default_alerts,
    evaluate_alerts,
    evaluate_alerts_from_counts,
    low_traffic_warnings,
    never_fires_warnings,
    policy_windows,
)

if TYPE_CHECKING:
    from .loader import dump_slo, load_slo_file, parse_slo
    from .openslo import from_openslo, to_openslo

__all__ = [
    "DEFAULT_POLICY",
    "AlertEvaluation",
    "AlertWindow",
    "BudgetStatus",
    "ConditionResult",
    "CountSeries",
    "JourneyObjective",
    "LatencyObjective",
    "SLOSpec",
    "Window",
    "budget_consumed",
    "budget_minutes",
    "budget_remaining",
    "budget_remaining_minutes",
    "budget_status",
    "burn_rate",
    "burn_rate_factor",
    "default_alerts",
    "dump_slo",
    "error_budget",
    "error_ratio",
    "evaluate_alerts",
    "evaluate_alerts_from_counts",
    "from_openslo",
    "load_slo_file",
    "low_traffic_warnings",
    "never_fires_warnings",
    "parse_slo",
    "policy_windows",
    "sli",
    "time_to_exhaustion",
    "to_openslo",
    "window_bounds",
]

_LAZY = {
    "load_slo_file": "loader",
    "parse_slo": "loader",
    "dump_slo": "loader",
    "from_openslo": "openslo",
    "to_openslo": "openslo",
}


def __getattr__(name: str) -> Any:
    # The YAML parts load on first use, so the math works without PyYAML installed.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sli_instrument.slo' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
