"""Helpers every report source shares."""

from __future__ import annotations

import pytest

from sli_instrument.report.sources import cumulative, step_for

pytestmark = pytest.mark.core


def test_cumulative_counts_start_at_zero_and_never_go_down() -> None:
    assert cumulative([None, 2.0, 0.0, None, 3.5, -1.0]) == [0.0, 2.0, 2.0, 2.0, 5.5, 5.5]
    assert cumulative([]) == []


def test_step_is_whole_minutes() -> None:
    assert step_for(3600) == 60
    assert step_for(86400) == 120
    assert step_for(28 * 86400, points=672) == 3600
