"""Fault tier: the collector misbehaving, our own code raising, the SLO file changing on disk, a
worker killed mid-request, while the app is under load (gunicorn, 2 sync workers, OTLP/HTTP).

In every fault: each response equals the bare app's (status, content type, body), no thread piles
up, memory stays bounded, data resumes flowing when the fault clears (exact counts), and the log
says what happened a bounded number of times (per export attempt or per process), never once per
request. ``SLI_FAULT_SECONDS`` sets the load per phase (CI 2 s; scripts/faults 20 s).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
from harness import Server, wait_until
from rig import FAILING, Rig, recorded

from conftest import EXPORT_INTERVAL_MS, FAULT_SECONDS, otlp_env, save_result
from tests.support.loadgen import Req, fetch, run_load
from tests.support.otlp_receiver import OTLPReceiver, points

pytestmark = [pytest.mark.faults, pytest.mark.timeout(600)]

#: Threads a worker may have beyond its healthy maximum (none: a fault must not start threads).
THREAD_SLACK = 0
#: RSS a worker may gain during the faults over its healthy maximum.
RSS_SLACK_MIB = 16


def _exports_in(seconds: float) -> int:
    return int(seconds * 1000 / EXPORT_INTERVAL_MS) + 2


def _assert_exact(got: dict[str, int], expected: dict[str, int], when: str) -> None:
    wrong = {j: (got.get(j, 0), n) for j, n in expected.items() if got.get(j, 0) != n}
    assert not wrong, f"{when}: recorded != answered for {wrong} (recorded, answered)"


def _check_phase(rig: Rig, phase: object, healthy_threads: int, healthy_rss: int) -> None:
    p = phase  # a rig.Phase
    assert p.load.unanswered == 0, (p.name, p.load.unanswered_examples)  # type: ignore[attr-defined]
    assert p.load.mismatches == 0, (p.name, p.load.mismatch_examples)  # type: ignore[attr-defined]
    assert p.load.answered > 0, p.name  # type: ignore[attr-defined]
    threads = max(p.max_threads.values(), default=0)  # type: ignore[attr-defined]
    assert threads <= healthy_threads + THREAD_SLACK, (p.name, p.max_threads)  # type: ignore[attr-defined]
    assert p.max_rss_kib <= healthy_rss + RSS_SLACK_MIB * 1024, p.name  # type: ignore[attr-defined]
    # Bounded logging: at most a line or two per export attempt and worker, never per request.
    seconds = p.end - p.start  # type: ignore[attr-defined]
    budget = 3 * _exports_in(seconds) * rig.workers
    assert len(p.log_lines) <= budget, (p.name, len(p.log_lines), p.log_lines[:5])  # type: ignore[attr-defined]
    assert len(p.log_lines) < p.load.answered, p.name  # type: ignore[attr-defined]


def test_collector_down_refusing_hanging_failing_then_back(tmp_path: Path) -> None:
    receiver = OTLPReceiver(grpc_enabled=False, hang_timeout=120).start()
    receiver.refuse()  # the collector is down before the app starts
    env = otlp_env(receiver.http_endpoint)
    numbers: dict[str, object] = {"phase_seconds": FAULT_SECONDS}
    try:
        with Rig(tmp_path, receiver, env) as rig:
            down = rig.phase("collector down since start", FAULT_SECONDS)
            receiver.ok()
            _assert_exact(rig.wait_counts(rig.expected()), rig.expected(), "collector back")
            healthy = rig.phase("healthy", FAULT_SECONDS)
            _assert_exact(rig.wait_counts(rig.expected()), rig.expected(), "healthy")
            healthy_threads = max(healthy.max_threads.values())
            healthy_rss = healthy.max_rss_kib
            _check_phase(rig, down, healthy_threads, healthy_rss)
            _check_phase(rig, healthy, healthy_threads, healthy_rss)
            assert not healthy.log_lines, healthy.log_lines[:5]

            faults = (
                ("collector answering 500", lambda: receiver.fail(status=500)),
                ("collector answering 503", lambda: receiver.fail(status=503)),
                ("collector refusing connections", receiver.refuse),
                ("collector hanging", receiver.hang),
            )
            for name, start_fault in faults:
                attempts_before = len(receiver.attempts)
                start_fault()
                phase = rig.phase(name, FAULT_SECONDS)
                attempts = len(receiver.attempts) - attempts_before
                receiver.ok()
                recovered_at = time.monotonic()
                _assert_exact(rig.wait_counts(rig.expected()), rig.expected(), name)
                numbers[name] = {
                    **phase.numbers(),
                    "export_attempts_seen_by_collector": attempts,
                    "seconds_to_exact_counts_after_recovery": round(
                        time.monotonic() - recovered_at, 2
                    ),
                }
                _check_phase(rig, phase, healthy_threads, healthy_rss)

            failures = recorded(receiver, "sli.journey.failures")
            for journey, n in rig.expected().items():
                assert failures.get(journey, 0) == (n if journey in FAILING else 0), journey
            numbers["collector down since start"] = down.numbers()
            numbers["healthy"] = healthy.numbers()
            memory = rig.memory(warmup=1.0)
            numbers["rss"] = memory.describe()
            numbers["answered_total"] = sum(rig.answered.values())
            numbers["recorded_total"] = sum(recorded(receiver).get(j, 0) for j in rig.answered)
        # After a graceful stop the final export has everything; nothing counted twice.
        _assert_exact(recorded(receiver), rig.expected(), "after graceful stop")
        log = rig.server.log_text()
        numbers["log_lines_total"] = len(
            [line for line in log.splitlines() if line.strip() and "[INFO]" not in line]
        )
        save_result("faults_collector", numbers)
    finally:
        receiver.stop()


def _records(lines: list[str], signature: str) -> int:
    return sum(1 for line in lines if signature in line)


def test_exporter_and_recorder_raising(tmp_path: Path, control_dir: Path) -> None:
    numbers: dict[str, object] = {"phase_seconds": FAULT_SECONDS}
    with (
        OTLPReceiver(grpc_enabled=False) as receiver,
        Rig(tmp_path, receiver, otlp_env(receiver.http_endpoint), control_dir=control_dir) as rig,
    ):
        rig.set_faults()
        healthy = rig.phase("healthy", FAULT_SECONDS)
        _assert_exact(rig.wait_counts(rig.expected()), rig.expected(), "healthy")
        healthy_threads = max(healthy.max_threads.values())
        healthy_rss = healthy.max_rss_kib
        rig.new_log_lines()

        # The exporter raises: exports fail (the SDK logs each failed export), requests do not
        # notice, and the cumulative counts catch up exactly once the exporter works again.
        rig.set_faults("exporter_raise")
        phase = rig.phase("exporter raising", FAULT_SECONDS)
        rig.set_faults()
        _assert_exact(rig.wait_counts(rig.expected()), rig.expected(), "exporter fixed")
        time.sleep(2 * EXPORT_INTERVAL_MS / 1000)
        phase.log_lines += rig.new_log_lines()
        export_errors = _records(phase.log_lines, "Exception while exporting metrics")
        assert 1 <= export_errors <= _exports_in(phase.end - phase.start + 1) * rig.workers
        assert _records(phase.log_lines, "injected fault: exporter") >= 1
        _check_phase_without_log_budget(phase, healthy_threads, healthy_rss)
        numbers["exporter raising"] = {**phase.numbers(), "export_error_records": export_errors}

        # Our recorder raises (its internals and every entry point callers use): each request
        # still gets the bare app's answer; the events of this phase are dropped, not half-counted;
        # the log says so once per worker process.
        rig.set_faults("recorder_raise")
        phase = rig.phase("recorder raising", FAULT_SECONDS)
        dropped = {tag: sum(s.values()) for tag, s in phase.load.per_tag.items()}
        # A WSGI event is recorded when the server closes the body, just after the client has the
        # whole response: let the last requests of the phase close under the fault.
        time.sleep(0.5)
        rig.set_faults()
        after = rig.phase("recorder fixed", FAULT_SECONDS / 2)
        expected = rig.expected(dropped)
        _assert_exact(rig.wait_counts(expected), expected, "recorder fixed")
        time.sleep(2 * EXPORT_INTERVAL_MS / 1000)
        lines = phase.log_lines + after.log_lines + rig.new_log_lines()
        internal = _records(lines, "sli_instrument internal error")
        assert 1 <= internal <= 3 * rig.workers, [ln for ln in lines if "internal error" in ln]
        _check_phase_without_log_budget(phase, healthy_threads, healthy_rss)
        numbers["recorder raising"] = {
            **phase.numbers(),
            "events_dropped": sum(dropped.values()),
            "internal_error_records": internal,
        }
        numbers["recorded_after_recovery"] = after.numbers()
    final = recorded(receiver)
    _assert_exact(final, rig.expected(dropped), "after graceful stop")
    save_result("faults_own_code", numbers)


def _check_phase_without_log_budget(phase: object, healthy_threads: int, healthy_rss: int) -> None:
    p = phase
    assert p.load.unanswered == 0, p.load.unanswered_examples  # type: ignore[attr-defined]
    assert p.load.mismatches == 0, p.load.mismatch_examples  # type: ignore[attr-defined]
    threads = max(p.max_threads.values(), default=0)  # type: ignore[attr-defined]
    assert threads <= healthy_threads + THREAD_SLACK, p.max_threads  # type: ignore[attr-defined]
    assert p.max_rss_kib <= healthy_rss + RSS_SLACK_MIB * 1024  # type: ignore[attr-defined]


def test_worker_killed_mid_request(tmp_path: Path, control_dir: Path) -> None:
    """SIGKILL the worker holding a request: gunicorn respawns it, the request in flight is lost
    honestly (the client gets no response, nothing is recorded for it), nothing counts twice."""
    numbers: dict[str, object] = {}
    with (
        OTLPReceiver(grpc_enabled=False) as receiver,
        Rig(tmp_path, receiver, otlp_env(receiver.http_endpoint), control_dir=control_dir) as rig,
    ):
        rig.set_faults()
        rig.phase("before the kill", FAULT_SECONDS)
        # Every worker has exported everything it served (its last export is its final word).
        _assert_exact(rig.wait_counts(rig.expected()), rig.expected(), "before the kill")
        time.sleep(3 * EXPORT_INTERVAL_MS / 1000)
        workers_before = set(rig.server.workers())

        outcome: dict[str, object] = {}

        def slow_request() -> None:
            try:
                response = fetch(rig.server.host, rig.server.port, Req("/slow?s=5"), timeout=20)
                outcome["response"] = response.status
            except Exception as exc:  # the connection dies with the worker
                outcome["error"] = repr(exc)

        client = threading.Thread(target=slow_request)
        client.start()
        assert wait_until(lambda: list(control_dir.glob("inflight-*")), 10), "slow request lost"
        victim = int(next(control_dir.glob("inflight-*")).name.split("-")[1])
        assert victim in workers_before
        os.kill(victim, signal.SIGKILL)
        # The other worker keeps serving while gunicorn replaces the dead one.
        during = rig.phase("while respawning", FAULT_SECONDS)
        client.join(30)
        assert "response" not in outcome, outcome
        assert "error" in outcome
        assert wait_until(
            lambda: len(rig.server.workers()) == rig.workers and victim not in rig.server.workers(),
            20,
        )
        workers_after = set(rig.server.workers())
        assert victim not in workers_after and len(workers_after - workers_before) == 1
        after = rig.phase("after the respawn", FAULT_SECONDS)
        for phase in (during, after):
            assert phase.load.unanswered == 0, phase.load.unanswered_examples
            assert phase.load.mismatches == 0, phase.load.mismatch_examples
        expected = rig.expected()
        _assert_exact(rig.wait_counts(expected), expected, "after the respawn")
        assert recorded(receiver).get("slow", 0) == 0, "the killed request must not be recorded"
        instances = {p.resource.get("service.instance.id") for p in points(receiver.metrics)}
        numbers.update(
            {
                "killed_worker": "SIGKILL while holding GET /slow?s=5",
                "client_saw": outcome.get("error"),
                "requests_answered": sum(rig.answered.values()),
                "requests_recorded": sum(recorded(receiver).get(j, 0) for j in rig.answered),
                "in_flight_lost": 1,
                "slow_recorded": 0,
                "instances_exported": len(instances),
                "while_respawning": during.numbers(),
            }
        )
    _assert_exact(recorded(receiver), rig.expected(), "after graceful stop")
    save_result("faults_worker_killed", numbers)


SLO_TEMPLATE = """\
version: 1
service: reliapp-wsgi
journeys:
  browse:
    availability: 99.9
    latency: {{threshold: {threshold}, target: 99}}
"""


def test_slo_file_changing_on_disk(tmp_path: Path, control_dir: Path) -> None:
    """Decided behaviour: the SLO file is read once, by configure() at start-up. A change on disk
    (even an invalid file) does not touch a running process: no error, no log line, the thresholds
    stay those it started with. The next start applies the new file; an invalid file stops that
    start with a ConfigurationError naming file and line."""
    slo = tmp_path / "slo.yaml"
    slo.write_text(SLO_TEMPLATE.format(threshold="10s"))
    browse = (Req("/browse", tag="browse"),)
    with OTLPReceiver(grpc_enabled=False) as receiver:
        env = otlp_env(receiver.http_endpoint, RELIAPP_SLO_FILE=str(slo))
        with Rig(tmp_path, receiver, env, control_dir=control_dir, requests=browse) as rig:
            first = rig.phase("threshold 10s", FAULT_SECONDS / 2)
            slo.write_text(SLO_TEMPLATE.format(threshold="1us"))  # every request would be slow
            second = rig.phase("file changed to 1us", FAULT_SECONDS / 2)
            slo.write_text("journeys: [this is not an SLO file\n")
            third = rig.phase("file made invalid", FAULT_SECONDS / 2)
            _assert_exact(rig.wait_counts(rig.expected()), rig.expected(), "running")
            assert recorded(receiver, "sli.journey.slow").get("browse", 0) == 0
            for phase in (first, second, third):
                assert phase.load.mismatches == 0 and phase.load.unanswered == 0
                assert not phase.log_lines, phase.log_lines[:5]
            running_answered = rig.answered["browse"]

        # Restart with the valid new file: it applies (every browse request is now slow).
        slo.write_text(SLO_TEMPLATE.format(threshold="1us"))
        receiver.clear()
        restarted = Server.gunicorn(
            "reliapp_wsgi:app", log_path=tmp_path / "restarted.log", env=env, workers=1
        )
        with restarted:
            answered = run_load(
                restarted.host, restarted.port, browse, connections=2, count=200
            ).answered
        assert answered == 200
        slow = recorded(receiver, "sli.journey.slow")
        assert slow.get("browse") == 200, slow

        # Restart with an invalid file: start-up fails loudly, naming the file and line.
        slo.write_text(SLO_TEMPLATE.format(threshold="soon"))
        broken = Server.gunicorn(
            "reliapp_wsgi:app", log_path=tmp_path / "broken.log", env=env, workers=1
        )
        with pytest.raises(RuntimeError) as failed:
            broken.start(ready_timeout=30)
        broken.stop()
        log = broken.log_text()
        assert "ConfigurationError" in log, log[-2000:]
        assert f"{slo}:6" in log, log[-2000:]
    save_result(
        "faults_slo_file_changed",
        {
            "requests_while_file_changed": running_answered,
            "slow_recorded_while_running": 0,
            "slow_after_restart_with_new_file": slow.get("browse"),
            "invalid_file_at_restart": [
                line for line in log.splitlines() if "ConfigurationError" in line
            ][-1][:300],
            "start_error": str(failed.value).splitlines()[0][:200],
        },
    )
