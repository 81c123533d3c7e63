"""The SLO model applied to the runtime: ``configure(slo_file=...)`` sets journeys and thresholds.

(Named test_slo_model.py, not test_model.py: test modules share one namespace, and report/ has a
model.py too.)
"""

from __future__ import annotations

import time

import pytest

import sli_instrument as sli
from sli_instrument import ConfigurationError, registry
from sli_instrument.slo import parse_slo
from sli_instrument.testing import recording

pytestmark = [pytest.mark.core, pytest.mark.usefixtures("sli_reset")]

SLO = """\
service: shop
journeys:
  checkout:
    availability: 99.9
    latency: {threshold: 50ms, target: 99}
    routes: ["/checkout"]
  search:
    availability: 99.5
"""


def write(tmp_path, text: str = SLO):
    path = tmp_path / "slo.yaml"
    path.write_text(text)
    return path


def test_model_properties() -> None:
    spec = parse_slo(SLO)
    checkout = spec.journey("checkout")
    assert checkout.latency is not None
    assert checkout.latency.error_budget == pytest.approx(0.01)
    assert len(checkout.pages) == 2 and len(checkout.tickets) == 1
    assert checkout.window.days == 28
    assert checkout.window.minutes == 28 * 24 * 60
    page = checkout.pages[0]
    assert page.error_ratio_threshold(checkout.error_budget) == pytest.approx(13.44 * 0.001)
    with pytest.raises(KeyError):
        spec.journey("nope")


def test_configure_with_slo_file_sets_thresholds_and_counts_slow(tmp_path) -> None:
    path = write(tmp_path)
    with recording(slo_file=str(path)) as rec:
        checkout = registry.get("checkout")
        assert checkout is not None
        assert checkout.latency_threshold == pytest.approx(0.05)
        assert str(path) in checkout.sources["latency_threshold"]
        assert "search" in registry
        assert sli.current_configuration().slo == parse_slo(SLO)  # type: ignore[union-attr]
        with sli.journey("checkout"):
            time.sleep(0.08)
        with sli.journey("checkout"):
            pass
        metrics = rec.journey("checkout")
        assert metrics.requests == 2
        assert metrics.slow == 1
        # The histogram's bounds include the file's threshold, so the latency SLI is exact.
        assert 0.05 in metrics.bounds
        # search has no latency objective: the default threshold applies.
        assert registry.get("search").latency_threshold == registry.default_latency_threshold


def test_slo_file_from_the_environment(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SLI_SLO_FILE", str(write(tmp_path)))
    with recording():
        assert registry.get("checkout").latency_threshold == pytest.approx(0.05)


def test_slo_file_overrides_a_decorator_threshold(tmp_path) -> None:
    @sli.journey("checkout", latency_threshold="2s")
    def checkout() -> None:
        time.sleep(0.08)

    with recording(slo_file=str(write(tmp_path))) as rec:
        checkout()
        assert rec.journey("checkout").slow == 1


def test_bad_slo_file_fails_at_configure_naming_file_and_line(tmp_path) -> None:
    path = write(tmp_path, SLO.replace("threshold: 50ms", "threshold: soon"))
    with pytest.raises(ConfigurationError) as caught:
        sli.configure(exporter="none", install_global=False, slo_file=str(path))
    assert str(caught.value).startswith(f"{path}:5: journeys.checkout.latency.threshold:")
    assert "'soon'" in str(caught.value)
    assert sli.current_configuration() is None


def test_missing_slo_file_fails_at_configure(tmp_path) -> None:
    with pytest.raises(ConfigurationError, match="not found"):
        sli.configure(
            exporter="none", install_global=False, slo_file=str(tmp_path / "missing.yaml")
        )


def test_file_journey_cap_raises_the_registry_cap(tmp_path) -> None:
    journeys = "".join(f"  j{i}: {{availability: 99}}\n" for i in range(120))
    path = write(tmp_path, f"service: s\njourney_cap: 150\njourneys:\n{journeys}")
    with recording(slo_file=str(path)):
        assert registry.cap == 150
        assert len(registry.names()) >= 120


def test_over_the_cap_without_journey_cap(tmp_path) -> None:
    journeys = "".join(f"  j{i}: {{availability: 99}}\n" for i in range(101))
    path = write(tmp_path, f"service: s\njourneys:\n{journeys}")
    with pytest.raises(ConfigurationError, match=r"slo\.yaml:103: journeys\.j100: .*cap of 100"):
        sli.configure(exporter="none", install_global=False, slo_file=str(path))
    # configure(journey_cap=...) applies before the file is read.
    with recording(slo_file=str(path), journey_cap=101):
        assert "j100" in registry


def test_slo_file_threshold_wins_over_a_decorator_defined_later(tmp_path) -> None:
    # configure() first, then a module defines its journey: the file still decides, no conflict.
    with recording(slo_file=str(write(tmp_path))) as rec:

        @sli.journey("checkout", latency_threshold="2s")
        def checkout() -> None:
            time.sleep(0.08)

        checkout()
        assert registry.get("checkout").latency_threshold == pytest.approx(0.05)
        assert rec.journey("checkout").slow == 1
