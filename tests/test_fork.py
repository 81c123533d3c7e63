"""Pre-fork servers: a pipeline created before a fork is rebuilt in every child, with no user hook.

End to end: the app under gunicorn (4 workers, with and without ``--preload``) and uWSGI (app
loaded in the master, with and without ``py-call-uwsgi-fork-hooks``) sends OTLP to a real
collector process (rotel), which forwards OTLP to the test's receiver. After N requests the sum
over workers of ``sli.journey.requests`` equals N exactly, per journey; every process reports under
its own ``service.instance.id``; the master (``--preload``) never reports a worker's events.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.support.otlp_receiver import OTLPReceiver, points
from tests.support.rotel import RotelCollector, free_port, wait_listening

ROOT = Path(__file__).resolve().parent.parent
REQUESTS = "sli.journey.requests"
FAILURES = "sli.journey.failures"


def by_instance(receiver: OTLPReceiver, name: str) -> dict[str, list[Any]]:
    """Points of metric ``name`` per service.instance.id, in arrival order."""
    result: dict[str, list[Any]] = defaultdict(list)
    for point in points(receiver.metrics, resource={"service.name": "prefork"}):
        if point.name == name:
            result[point.resource["service.instance.id"]].append(point)
    return result


def final_sum(receiver: OTLPReceiver, name: str, journey: str) -> float:
    total = 0.0
    for series in by_instance(receiver, name).values():
        values = [p.value for p in series if p.attributes.get("sli.journey") == journey]
        # Cumulative per process: never decreasing (two processes under one id would break it).
        assert values == sorted(values), f"{name} of one instance went down: {values}"
        total += values[-1] if values else 0.0
    return total


def _send(port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


SERVERS = {
    # name: (command, app loaded before the fork, export interval in ms)
    # Without a fork after the import, nothing is exported before exit (ten-minute interval): the
    # numbers prove the exit flush. After a fork, the periodic export must work in the workers.
    "gunicorn": (["{python}", "-m", "gunicorn", "-w", "4", "-b", "127.0.0.1:{port}",
                  "--graceful-timeout", "10", "--log-level", "warning"], False, "600000"),
    "gunicorn-preload": (["{python}", "-m", "gunicorn", "-w", "4", "-b", "127.0.0.1:{port}",
                          "--graceful-timeout", "10", "--log-level", "warning", "--preload"],
                         True, "300"),
    # uWSGI loads the app in the master and forks with the C library: no at-fork hook runs
    # unless asked, sli_instrument then rebuilds from uWSGI's own post-fork hook. Exit flush too.
    "uwsgi": (["{uwsgi}", "--master", "--processes", "4", "--http-socket", "127.0.0.1:{port}",
               "--enable-threads", "--die-on-term", "--need-app", "--disable-logging"],
              True, "600000"),
    "uwsgi-fork-hooks": (["{uwsgi}", "--master", "--processes", "4",
                          "--http-socket", "127.0.0.1:{port}", "--enable-threads", "--die-on-term",
                          "--need-app", "--disable-logging", "--py-call-uwsgi-fork-hooks"],
                         True, "300"),
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("server_name", sorted(SERVERS))
def test_prefork_workers_through_a_real_collector(tmp_path: Path, server_name: str) -> None:
    command, forked_after_import, interval = SERVERS[server_name]
    uwsgi = shutil.which("uwsgi", path=str(Path(sys.executable).parent)) or shutil.which("uwsgi")
    if "{uwsgi}" in command and uwsgi is None:
        pytest.skip("uWSGI is not installed (pip install pyuwsgi)")
    ids_file = tmp_path / "ids.txt"
    port = free_port()
    args = [a.format(python=sys.executable, uwsgi=uwsgi, port=port) for a in command]
    if "{uwsgi}" in command:
        args += ["--module", "tests.support.prefork_app:app"]
    else:
        args.append("tests.support.prefork_app:app")
    worker_role = "forked" if forked_after_import else "import"
    with (
        OTLPReceiver() as receiver,
        RotelCollector(forward_to=receiver.grpc_endpoint, workdir=tmp_path / "rotel") as collector,
    ):
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
            "SLI_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector.http_endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_METRIC_EXPORT_INTERVAL": interval,
            "PREFORK_IDS": str(ids_file),
        }
        server = subprocess.Popen(
            args, cwd=ROOT, env=env,
            stdout=subprocess.DEVNULL, stderr=open(tmp_path / "server.log", "wb"),
        )  # fmt: skip
        try:
            wait_listening(port, timeout=20)
            # Every worker must be up (and have noted its identity) before the load starts.
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                lines = ids_file.read_text().splitlines() if ids_file.exists() else []
                if len({line.split()[0] for line in lines if line.split()[1] == worker_role}) >= 4:
                    break
                time.sleep(0.05)
            paths = ["/checkout"] * 50 + ["/checkout?fail"] * 10 + ["/search"] * 40
            with ThreadPoolExecutor(8) as pool:
                statuses = list(pool.map(lambda p: _send(port, p), paths))
            assert statuses.count(200) == 90 and statuses.count(402) == 10
            if interval == "300":  # periodic export works while serving, before any exit
                receiver.wait_for(lambda r: final_sum(r, REQUESTS, "checkout") == 60, timeout=15)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(30)
        receiver.wait_for(
            lambda r: (
                final_sum(r, REQUESTS, "checkout") == 60 and final_sum(r, REQUESTS, "search") == 40
            ),
            timeout=20,
        )
        time.sleep(0.5)  # anything late would show up as a double count below
    log = (tmp_path / "server.log").read_text(errors="replace")[-3000:]
    assert final_sum(receiver, REQUESTS, "checkout") == 60, log
    assert final_sum(receiver, REQUESTS, "search") == 40
    assert final_sum(receiver, FAILURES, "checkout") == 10

    notes = [line.split() for line in ids_file.read_text().splitlines()]
    roles: dict[str, tuple[str, str]] = {}
    for pid, role, instance in notes:
        assert instance not in roles or roles[instance][0] == pid, "one id in two processes"
        roles[instance] = (pid, role)
    workers = {i for i, (_, role) in roles.items() if role == worker_role}
    assert len(workers) >= 4
    assert len({pid for pid, _ in roles.values()}) == len(roles), "each process: one id"
    reported = by_instance(receiver, REQUESTS)
    assert set(reported) <= set(roles), "every reported identity belongs to a known process"
    if forked_after_import:
        (master,) = [i for i, (_, role) in roles.items() if role == "import"]
        assert master not in workers
        # The master served nothing: it reports zeros under its own id, never a worker's events.
        assert all(p.value == 0 for p in reported.get(master, []))


@pytest.mark.core
@pytest.mark.usefixtures("sli_reset")
def test_os_fork_children_report_only_their_own_events(otlp_receiver: OTLPReceiver) -> None:
    import sli_instrument as sli
    from sli_instrument._recorder import recorder

    config = sli.configure(
        service_name="forker", exporter="otlp", endpoint=otlp_receiver.http_endpoint,
        export_interval="1h", install_global=False,
    )  # fmt: skip
    handle = sli.journey("work")
    for _ in range(5):
        recorder.record(handle.journey.stats, 0.001, "success")
    parent_id = config.meter_provider._sdk_config.resource.attributes["service.instance.id"]
    children = []
    for k in (2, 3):
        pid = os.fork()
        if pid == 0:  # child: record k events, flush what configure() rebuilt, leave at once
            code = 1
            try:
                child = sli.current_configuration()
                assert child is not None and child is not config
                for _ in range(k):
                    recorder.record(handle.journey.stats, 0.001, "success")
                sli.shutdown()
                code = 0
            finally:
                os._exit(code)
        children.append(pid)
    for pid in children:
        assert os.waitpid(pid, 0)[1] == 0
    config.force_flush()
    per_instance = {
        instance: series[-1].value
        for instance, series in _by_instance(otlp_receiver, "forker").items()
    }
    assert per_instance[parent_id] == 5
    assert sorted(v for i, v in per_instance.items() if i != parent_id) == [2, 3]


def _by_instance(receiver: OTLPReceiver, service: str) -> dict[str, list[Any]]:
    result: dict[str, list[Any]] = defaultdict(list)
    for point in points(receiver.metrics, resource={"service.name": service}):
        if point.name == REQUESTS:
            result[point.resource["service.instance.id"]].append(point)
    return result


@pytest.mark.core
@pytest.mark.usefixtures("sli_reset")
def test_os_fork_reuses_an_exporter_instance_the_user_passed(tmp_path: Path) -> None:
    import json

    import sli_instrument as sli
    from sli_instrument._recorder import recorder
    from sli_instrument.exporters.emf import EMFExporter

    out = tmp_path / "emf.log"
    config = sli.configure(
        service_name="emf-fork", exporter=EMFExporter(output=str(out)), export_interval="1h",
        install_global=False,
    )  # fmt: skip
    handle = sli.journey("work")
    for _ in range(4):
        recorder.record(handle.journey.stats, 0.001, "success")
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            for _ in range(3):
                recorder.record(handle.journey.stats, 0.001, "failure")
            sli.shutdown()
            code = 0
        finally:
            os._exit(code)
    assert os.waitpid(pid, 0)[1] == 0
    config.force_flush()
    per_instance: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for line in out.read_text().splitlines():
        doc = json.loads(line)
        if "sli.journey.requests" in doc:
            totals = per_instance[doc["service.instance.id"]]
            totals[0] += doc["sli.journey.requests"]
            totals[1] += doc["sli.journey.failures"]
    assert sorted(per_instance.values()) == [[3, 3], [4, 0]]
