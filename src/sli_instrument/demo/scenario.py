"""The demo's story: what traffic the shop gets, how each journey behaves, and the incident.

Pure data and decisions (no I/O). Times are fractions of the run, so a 6-second run and a
30-second run tell the same story; the run always stands for one hour of SLO time
(see :func:`time_scale`).
"""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import dataclass
from typing import Optional

#: The demo compresses one hour of SLO time into the run, whatever its length.
SIMULATED_SPAN = 3600.0


def time_scale(duration: float) -> float:
    """SLO seconds per real second for a run of ``duration`` seconds."""
    return SIMULATED_SPAN / max(duration, 0.1)


@dataclass(frozen=True)
class Call:
    """One kind of request the traffic driver sends."""

    journey: str
    method: str
    path: str
    weight: float
    body: Optional[str] = None
    #: The response body arrives in chunks (the driver reads it to the end).
    streaming: bool = False
    #: Status the driver expects when the shop is healthy (e.g. 404 for a missing product).
    expect: int = 200
    #: Ask the shop to decline the card (a 402: a success of the journey).
    decline: bool = False
    #: The Django example's path when it is not ``path`` with a trailing slash.
    django_path: Optional[str] = None

    def path_for(self, framework: str) -> str:
        if framework != "django":
            return self.path
        if self.django_path is not None:
            return self.django_path
        route, _, query = self.path.partition("?")
        route = route if route.endswith("/") else route + "/"
        return route + ("?" + query if query else "")


@dataclass(frozen=True)
class Behaviour:
    """How one journey behaves on a normal day (the shop adds the latency the driver asks for)."""

    #: Median extra latency (seconds) and its log-normal spread.
    median: float
    spread: float
    #: Share of requests that hit a slow dependency, and how much slower they are.
    slow_share: float
    slow_extra: float
    #: Share of requests failing with a 5xx on a normal day (the example shop can fail only
    #: checkout on request).
    error_rate: float


@dataclass(frozen=True)
class Incident:
    journey: str
    start: float
    end: float
    error_rate: float
    extra_latency: float
    description: str


@dataclass(frozen=True)
class Scenario:
    calls: tuple[Call, ...]
    behaviour: dict[str, Behaviour]
    incident: Incident

    @property
    def journeys(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for call in self.calls:
            seen.setdefault(call.journey, None)
        return tuple(seen)

    def phase(self, progress: float) -> str:
        """``before``, ``incident`` or ``after`` for a point of the run (0..1)."""
        if progress < self.incident.start:
            return "before"
        if progress < self.incident.end:
            return "incident"
        return "after"


@dataclass(frozen=True)
class Fault:
    delay: float
    fail: bool


class FaultPlan:
    """Decides, request by request, how much latency to add and whether to fail (thread-safe).

    The driver asks before each request and tells the shop through the shop's own knobs, so the
    demo knows exactly how many failures it caused. Failures are spread evenly (error diffusion
    from a seeded offset) rather than drawn at random: a short run then shows the error ratio the
    story states, not the luck of a few hundred draws. Latency is random (seeded).
    """

    def __init__(self, scenario: Scenario, seed: int = 0) -> None:
        self.scenario = scenario
        self._random = random.Random(seed)
        self._owed = {journey: self._random.random() for journey in scenario.behaviour}
        self._lock = threading.Lock()
        self._start: Optional[float] = None
        self._duration = 1.0

    def begin(self, duration: float) -> None:
        """Start the story's clock: the run lasts ``duration`` seconds from now."""
        self._duration = max(duration, 1e-3)
        self._start = time.monotonic()

    @property
    def progress(self) -> float:
        """How far into the run we are (0..1; 0 before :meth:`begin`)."""
        if self._start is None:
            return 0.0
        return min(1.0, (time.monotonic() - self._start) / self._duration)

    def decide(self, journey: str) -> Fault:
        behaviour = self.scenario.behaviour.get(journey)
        if behaviour is None:
            return Fault(0.0, False)
        incident = self.scenario.incident
        in_incident = journey == incident.journey and self.scenario.phase(self.progress) == (
            "incident"
        )
        with self._lock:
            rnd = self._random
            delay = behaviour.median * math.exp(rnd.gauss(0.0, behaviour.spread))
            if rnd.random() < behaviour.slow_share:
                delay += behaviour.slow_extra * (0.5 + rnd.random())
            error_rate = behaviour.error_rate
            if in_incident:
                delay += incident.extra_latency * (0.5 + rnd.random())
                error_rate = incident.error_rate
            owed = self._owed[journey] + error_rate
            fail = owed >= 1.0
            self._owed[journey] = owed - 1.0 if fail else owed
        return Fault(min(delay, 5.0), fail)


#: The shop's traffic: browse-heavy, like most shops; a few percent of 4xx (unknown products,
#: declined cards: successes, the shop worked), a streamed CSV export, and checkout losing its
#: payment provider for a while. Latency and failures reach the example shop through its own
#: request knobs (``X-Shop-Delay-Ms``, ``X-Shop-Fail``; see examples/flask_app/README.md).
SHOP = Scenario(
    calls=(
        Call("browse", "GET", "/", 3.0),
        Call("browse", "GET", "/products/{product}", 4.0),
        Call("browse", "GET", "/products/{missing}", 0.3, expect=404),
        Call("search", "GET", "/search?q={term}", 4.0),
        Call(
            "cart",
            "POST",
            "/cart",
            2.0,
            body='{"product_id": {product}}',
            django_path="/cart/{product}/",
        ),
        Call("cart", "GET", "/cart", 1.0),
        Call("checkout", "POST", "/checkout", 3.5, expect=201),
        Call("checkout", "POST", "/checkout", 0.1, decline=True, expect=402),
        Call("export", "GET", "/orders/export?rows=20&delay_ms=15", 0.3, streaming=True),
    ),
    behaviour={
        "browse": Behaviour(0.012, 0.5, 0.02, 0.3, 0.0),
        "search": Behaviour(0.030, 0.6, 0.04, 0.4, 0.0),
        "cart": Behaviour(0.015, 0.4, 0.02, 0.3, 0.0),
        "checkout": Behaviour(0.060, 0.4, 0.03, 0.4, 0.002),
        "export": Behaviour(0.005, 0.3, 0.0, 0.0, 0.0),
    },
    # Sized so that the 1h/5m page fires (45% errors for 17 minutes of SLO time spend 3.8% of a
    # 28-day budget at 99.5%) but the 6h/30m one does not: the page clears 5 minutes (SLO time)
    # after the incident ends, as it would in production.
    incident=Incident(
        journey="checkout",
        start=0.35,
        end=0.63,
        error_rate=0.45,
        extra_latency=0.1,
        description="the payment provider is flaky: 45% of checkouts fail, the rest are slow",
    ),
)
