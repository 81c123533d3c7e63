"""The traffic driver: a few client threads sending the scenario's requests over real HTTP.

Each thread keeps one HTTP/1.1 connection to the shop on loopback and reads every response to the
end (streaming ones chunk by chunk), so the server measures what a real client causes. What the
clients saw is tallied per journey, so the demo (and its tests) can compare it with the metrics.
"""

from __future__ import annotations

import http.client
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Optional

from .scenario import Call, FaultPlan, Scenario

#: The example shops' knobs (examples/flask_app/README.md): extra latency, and a payment failure.
DELAY_HEADER = "X-Shop-Delay-Ms"
FAIL_HEADER = "X-Shop-Fail"
DECLINE_HEADER = "X-Shop-Decline"
CART_HEADER = "X-Cart-Id"

_TERMS = ("cup", "press", "beans", "grinder", "frother", "kettle", "filter", "mug")


@dataclass
class Tally:
    """What the clients saw for one journey."""

    sent: int = 0
    #: Requests the driver asked the shop to fail.
    induced_failures: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    #: Connection errors (no status at all).
    errors: int = 0

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


class TrafficDriver:
    def __init__(
        self,
        host: str,
        port: int,
        scenario: Scenario,
        plan: FaultPlan,
        *,
        framework: str = "flask",
        threads: int = 8,
        seed: int = 0,
        pause: float = 0.0,
    ) -> None:
        self.host = host
        self.port = port
        self.scenario = scenario
        self.plan = plan
        self.framework = framework
        self.threads = threads
        self.pause = pause
        self._seed = seed
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers: list[threading.Thread] = []
        self.tally: dict[str, Tally] = {journey: Tally() for journey in scenario.journeys}

    def start(self) -> None:
        for index in range(self.threads):
            worker = threading.Thread(
                target=self._run,
                args=(random.Random(self._seed * 1000 + index),),
                name=f"sli-demo-client-{index}",
                daemon=True,
            )
            worker.start()
            self._workers.append(worker)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        deadline = time.monotonic() + timeout
        for worker in self._workers:
            worker.join(max(0.0, deadline - time.monotonic()))

    @property
    def total_sent(self) -> int:
        with self._lock:
            return sum(t.sent for t in self.tally.values())

    def _run(self, rnd: random.Random) -> None:
        calls = self.scenario.calls
        weights = [call.weight for call in calls]
        connection: Optional[http.client.HTTPConnection] = None
        while not self._stop.is_set():
            call = rnd.choices(calls, weights)[0]
            if connection is None:
                connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
            status: Optional[int] = None
            fault = self.plan.decide(call.journey)
            fail = fault.fail and not call.decline  # a declined card answers before paying
            try:
                status = self._send(connection, call, rnd, fault.delay, fail)
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = None
            if self._stop.is_set() and status is None:
                break  # the server went away at the end of the run: not a result
            with self._lock:
                tally = self.tally[call.journey]
                tally.sent += 1
                tally.induced_failures += int(fail)
                if status is None:
                    tally.errors += 1
                else:
                    tally.statuses[status] = tally.statuses.get(status, 0) + 1
            if self.pause:
                self._stop.wait(self.pause * rnd.random())
        if connection is not None:
            connection.close()

    def _send(
        self,
        connection: http.client.HTTPConnection,
        call: Call,
        rnd: random.Random,
        delay: float,
        fail: bool,
    ) -> int:
        path = call.path_for(self.framework).format(
            product=rnd.randint(1, 5), missing=rnd.randint(100, 999), term=rnd.choice(_TERMS)
        )
        body = None
        headers = {CART_HEADER: str(threading.get_ident() % 1000)}
        if delay > 0:
            headers[DELAY_HEADER] = str(round(delay * 1000))
        if fail:
            headers[FAIL_HEADER] = "1"
        if call.decline:
            headers[DECLINE_HEADER] = "1"
        if call.body is not None:
            body = call.body.replace("{product}", str(rnd.randint(1, 5))).encode()
            headers["Content-Type"] = "application/json"
        connection.request(call.method, path, body=body, headers=headers)
        response = connection.getresponse()
        while response.read(16384):
            pass
        if response.will_close:
            connection.close()
        return response.status
