"""Number formatting in the HTML report."""

from __future__ import annotations

import pytest

from sli_instrument.report._format import human_seconds, pct, seconds_tick, share

pytestmark = pytest.mark.core


def test_percentages_keep_the_nines_and_small_values():
    assert pct(None) == "&mdash;"
    assert pct(99.95) == "99.95%" and pct(99.0) == "99%" and pct(99.9) == "99.9%"
    assert pct(84.04) == "84.0%" and pct(0.074) == "0.07%" and pct(0.0) == "0.0%"


def test_other_formats():
    assert share(1, 4) == 25.0 and share(1, 0) is None
    assert seconds_tick(0) == "0" and seconds_tick(0.25) == "250ms" and seconds_tick(2) == "2s"
    assert human_seconds(120) == "2 min" and human_seconds(86400) == "1 d"
    assert human_seconds(5.5) == "5.5 s" and human_seconds(30) == "30 s"
