"""Working with the OpenTelemetry/ADOT distro: its providers are used, nothing is added.

Under ``opentelemetry-instrument`` the distro installs a MeterProvider (with its own exporter and
resource) before the application imports us. ``configure()`` must bind our instruments to it and
create no second pipeline: the receiver sees one resource, the distro's, with exact counts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.otlp_receiver import OTLPReceiver, all_resource_attributes, latest

pytest.importorskip("opentelemetry.distro")

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_configure_uses_the_distro_provider_and_adds_nothing(otlp_receiver: OTLPReceiver) -> None:
    instrument = shutil.which("opentelemetry-instrument", path=str(Path(sys.executable).parent))
    assert instrument, "opentelemetry-instrument is installed with opentelemetry-instrumentation"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SLI_"))}
    env.update(
        PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        OTEL_SERVICE_NAME="distro-app",
        OTEL_METRICS_EXPORTER="otlp",
        OTEL_TRACES_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
        OTEL_EXPORTER_OTLP_ENDPOINT=otlp_receiver.http_endpoint,
        OTEL_METRIC_EXPORT_INTERVAL="60000",
    )
    result = subprocess.run(
        [instrument, sys.executable, str(ROOT / "tests" / "support" / "distro_app.py"), "7"],
        env=env, capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found == {"owned": False, "same_provider": True, "provider": "MeterProvider"}
    otlp_receiver.wait_for(lambda r: len(r.metrics) >= 1, timeout=10)
    resources = [r for r in all_resource_attributes(otlp_receiver.metrics) if r]
    assert {r.get("service.name") for r in resources} == {"distro-app"}  # the distro's resource
    assert len({r.get("service.instance.id") for r in resources}) == 1  # one pipeline
    points = latest(otlp_receiver.metrics)
    requests = [p for (name, _), p in points.items() if name == "sli.journey.requests"]
    assert [(p.attributes["sli.journey"], p.value) for p in requests] == [("checkout", 7)]
    durations = [p for (name, _), p in points.items() if name == "sli.journey.duration"]
    assert sum(p.count or 0 for p in durations) == 7  # one SDK histogram record per event
