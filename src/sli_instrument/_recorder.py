"""The hot path: one call per event, counted in process, handed to OpenTelemetry in aggregate.

Why not four SDK calls per event? One SDK ``Histogram.record`` with attributes costs several
microseconds (attribute hashing, locks, exemplar checks); four of them would cost more than most
request handlers. So every event updates plain integers under one per-journey lock, and:

* the counters reach OpenTelemetry as *observable* counters whose callbacks read those integers:
  this works with any MeterProvider, including one that the ADOT distro or
  ``opentelemetry-instrument`` installed;
* the duration and TTFB histograms are aggregated here too when ``configure()`` owns the metric
  readers (they are merged into what those readers export, see ``_handoff.py``); with a provider we
  did not create there is no observable histogram in OpenTelemetry, so each event makes exactly one
  SDK ``Histogram.record`` (with attribute dictionaries built once per journey).

Every entry point catches its own errors: a fault here is logged once per kind and dropped.
"""

from __future__ import annotations

import bisect
import os
import threading
import time
import weakref
from collections.abc import Iterable, Sequence
from typing import Any

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

from . import _contract as c
from ._observers import event_observers as _event_observers
from ._observers import notify_event as _notify_event
from ._registry import Journey, registry
from ._safety import report_internal_error

try:  # the version is informational only
    from importlib.metadata import version as _dist_version

    _VERSION = _dist_version("sli_instrument")
except Exception:  # pragma: no cover - running from a source tree
    _VERSION = "0"


class HistogramAccumulator:
    """Explicit-bucket histogram state of one (journey, outcome) series."""

    __slots__ = ("counts", "max", "min", "slow", "sum", "window_max", "window_min")

    def __init__(self, buckets: int) -> None:
        self.counts = [0] * buckets
        #: Events slower than the journey's threshold (counted, not read from the buckets).
        self.slow = 0
        self.sum = 0.0
        self.min = float("inf")
        self.max = float("-inf")
        # Min/max since the last collection; ``min``/``max`` are complete after take_window().
        self.window_min = float("inf")
        self.window_max = float("-inf")

    @property
    def count(self) -> int:
        """Events of the series (the sum of its buckets); the journey's counters are sums of
        these (JourneyStats). Read at collection, so the record path updates one integer."""
        return sum(self.counts)

    def add(self, value: float, index: int) -> None:
        self.counts[index] += 1
        self.sum += value
        if value < self.window_min:
            self.window_min = value
        if value > self.window_max:
            self.window_max = value

    def take_window(self) -> tuple[float, float]:
        """Fold the window's extremes into the lifetime ones; return the window's and restart it.

        The record path only tracks the window (two comparisons instead of four); collection,
        under the journey lock, keeps the lifetime extremes up to date.
        """
        lo, hi = self.window_min, self.window_max
        if lo < self.min:
            self.min = lo
        if hi > self.max:
            self.max = hi
        self.window_min = float("inf")
        self.window_max = float("-inf")
        return lo, hi


class JourneyStats:
    """All in-process aggregates of one journey. Mutated only under ``lock``.

    The counters (requests, failures, slow, aborted) are not stored apart: they are sums of the
    per-outcome series' counts, so an event updates one object (see Recorder.record).
    """

    __slots__ = (
        "_aborted",
        "_failure",
        "_success",
        "attrs",
        "bounds",
        "duration",
        "journey",
        "journey_attrs",
        "lock",
        "threshold",
        "ttfb",
    )

    def __init__(self, journey: Journey, bounds: tuple[float, ...] | None = None) -> None:
        self.journey = journey
        self.lock = threading.Lock()
        #: Bucket bounds of this journey's histograms (see journey_bounds()).
        self.bounds = bounds if bounds is not None else journey_bounds(journey)
        buckets = len(self.bounds) + 1
        self.threshold = journey.latency_threshold
        self._success = HistogramAccumulator(buckets)
        self._failure = HistogramAccumulator(buckets)
        self._aborted = HistogramAccumulator(buckets)
        self.duration = {
            c.OUTCOME_SUCCESS: self._success,
            c.OUTCOME_FAILURE: self._failure,
            c.OUTCOME_ABORTED: self._aborted,
        }
        self.ttfb = HistogramAccumulator(buckets)
        self.attrs = {
            outcome: {c.ATTR_JOURNEY: journey.name, c.ATTR_OUTCOME: outcome}
            for outcome in (c.OUTCOME_SUCCESS, c.OUTCOME_FAILURE, c.OUTCOME_ABORTED)
        }

        self.journey_attrs = {c.ATTR_JOURNEY: journey.name}

    @property
    def requests(self) -> int:
        """Valid events (success and failure; aborted ones are not)."""
        return self._success.count + self._failure.count

    @property
    def failures(self) -> int:
        return self._failure.count

    @property
    def slow(self) -> int:
        """Valid events slower than the threshold."""
        return self._success.slow + self._failure.slow

    @property
    def aborted(self) -> int:
        return self._aborted.count

    @property
    def has_events(self) -> bool:
        return bool(self.requests or self.aborted or self.ttfb.count)

    def rebound(self, bounds: tuple[float, ...]) -> bool:
        """Adopt new bucket bounds if no event was counted yet; False if it is too late."""
        with self.lock:
            if self.has_events:
                return False
            self.bounds = bounds
            for acc in (*self.duration.values(), self.ttfb):
                acc.counts = [0] * (len(bounds) + 1)
            return True


def journey_bounds(journey: Journey) -> tuple[float, ...]:
    """A journey's histogram bounds: the default bounds plus its own latency threshold.

    Per journey, so that a journey registered late (Django imports views at the first request,
    Flask blueprints may be registered lazily) still has its threshold as a bucket edge: the
    bounds of a journey are fixed by its own first event, not by the process's first event.
    """
    return tuple(sorted(set(c.DEFAULT_BOUNDS) | {journey.latency_threshold}))


class Recorder:
    """Owns the per-journey aggregates and their binding to an OpenTelemetry MeterProvider.

    States, from import to serving:

    * unbound: no real MeterProvider exists yet (only the API's proxy). Events are counted and
      their durations aggregated here; nothing is created on the proxy, so installing a provider
      later leaves no orphan instruments behind. Each event checks (cheaply) whether a global
      provider has appeared and binds to it.
    * bound, owned (``configure()`` built the pipeline): the same in-process aggregation; the
      counters are observed and the histograms handed to our readers at export (``_handoff``).
    * bound, foreign (a provider we did not create): counters observed; each event makes one SDK
      ``Histogram.record``.

    Histogram bounds: in process, each journey has its own (the defaults plus its threshold),
    fixed by its own first event. An SDK histogram on a foreign provider has one set of bounds for
    every journey, fixed when it is created, at the first event bound to that provider: the
    defaults plus every threshold registered by then.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._stats: dict[str, JourneyStats] = {}
        self._bounds: tuple[float, ...] | None = None
        self.start_time_ns = time.time_ns()
        # True when configure() owns the readers and merges our histograms into their exports.
        self.owns_histograms = False
        self._binding: _Binding | None = None
        # One binding per provider: the SDK ignores the callbacks of an instrument created twice
        # under the same name, so re-binding must reuse the instruments made the first time.
        self._bindings: weakref.WeakKeyDictionary[Any, _Binding] = weakref.WeakKeyDictionary()
        self._retired: weakref.WeakSet[Any] = weakref.WeakSet()
        # The SDK histograms events go to; None means "aggregate in process".
        self._sdk_duration: Any = None
        self._sdk_ttfb: Any = None
        # True once bound and the bounds are fixed: the record path then checks one flag.
        self._ready = False
        registry.add_listener(self._on_journey)

    # -- configuration time -------------------------------------------------------------------
    @property
    def bounds(self) -> tuple[float, ...]:
        """Bounds for one histogram shared by every journey: defaults plus every threshold.

        Fixed once an SDK histogram on a foreign provider was created with them; until then,
        computed from the journeys registered so far. (Our own histograms use per-journey
        bounds, ``JourneyStats.bounds``.)
        """
        bounds = self._bounds
        return bounds if bounds is not None else self._compute_bounds()

    @property
    def bounds_fixed(self) -> bool:
        return self._bounds is not None

    def _compute_bounds(self) -> tuple[float, ...]:
        thresholds = {j.latency_threshold for j in registry}
        thresholds.add(registry.default_latency_threshold)
        return tuple(sorted(set(c.DEFAULT_BOUNDS) | thresholds))

    def refresh_bounds(self) -> None:
        """Recompute every journey's bounds now (configuration time: it zeroes the histograms)."""
        with self._lock:
            self._ready = False
            for name, stats in list(self._stats.items()):
                fresh = JourneyStats(stats.journey)
                self._stats[name] = fresh
                stats.journey.stats = fresh

    def _on_journey(self, journey: Journey) -> None:
        with self._lock:
            stats = self._stats.get(journey.name)
            if stats is None or stats.journey is not journey:
                stats = JourneyStats(journey)
                self._stats[journey.name] = stats
                journey.stats = stats
            stats.threshold = journey.latency_threshold
            wanted = journey_bounds(journey)
            late = stats.bounds != wanted and not stats.rebound(wanted)
            shared = self._bounds
            if shared is not None and self._sdk_duration is not None:
                late = late or stats.threshold not in shared
            if late:
                # The threshold changed after this journey's histogram had events (or after the
                # foreign provider's histogram was created): "slow" stays exact (it is counted,
                # not read from buckets), only the histogram lacks the edge. Say so once.
                report_internal_error(
                    f"threshold {stats.threshold}s of journey {journey.name!r} set after its "
                    "histogram started; set thresholds at start-up (decorator or SLO file)",
                )

    def stats(self) -> list[JourneyStats]:
        return list(self._stats.values())

    def stats_of(self, name: str) -> JourneyStats | None:
        return self._stats.get(name)

    @property
    def provider(self) -> Any:
        """The MeterProvider we are bound to, or None."""
        binding = self._binding
        return None if binding is None else binding.provider

    def bind(self, provider: Any = None, *, owns_histograms: bool = False) -> None:
        """Observe our counters on ``provider`` (default: the global one).

        ``owns_histograms``: the provider's readers are ours and merge our histograms at export;
        otherwise every event also records into an SDK histogram on ``provider``.
        """
        with self._lock:
            provider = provider if provider is not None else metrics.get_meter_provider()
            binding = self._bindings.get(provider)
            if binding is None:
                binding = _Binding(self, provider)
                try:
                    self._bindings[provider] = binding
                except TypeError:  # pragma: no cover - a provider that cannot be weakly referenced
                    pass
            old = self._binding
            if old is not None and old is not binding:
                old.active = False
            binding.active = True
            self._binding = binding
            self.owns_histograms = owns_histograms
            self._sdk_duration = self._sdk_ttfb = None
            self._ready = False
            # A foreign provider's SDK histograms are created at the first event (_prepare), so
            # that thresholds registered until then are bucket edges.

    def _create_sdk_histograms(self) -> None:
        binding = self._binding
        if binding is None or self.owns_histograms:
            return
        with self._lock:
            if self._bounds is None:
                self._bounds = self._compute_bounds()
        binding.create_histograms(self._bounds)
        self._bounds = binding.bounds  # a provider's histogram keeps the bounds it was made with
        self._sdk_duration = binding.duration
        self._sdk_ttfb = binding.ttfb

    def unbind(self) -> None:
        """Stop observing (shutdown): events are counted in process until the next binding."""
        with self._lock:
            if self._binding is not None:
                self._binding.active = False
            self._binding = None
            self._sdk_duration = self._sdk_ttfb = None
            self.owns_histograms = False
            self._ready = False

    def _prepare(self) -> None:
        """Until bound (and, on a foreign provider, its histogram created), every event tries."""
        if self._binding is None:
            self._bind_global()
        if self._binding is None:
            return
        if not self.owns_histograms and self._sdk_duration is None:
            self._create_sdk_histograms()
        self._ready = True

    def ensure_bound(self) -> None:
        if self._binding is None:
            self._bind_global()

    def _bind_global(self) -> None:
        """Bind to the global provider if a real one is installed (never to the API's proxy)."""
        provider = metrics.get_meter_provider()
        if _is_proxy(provider) or provider in self._retired:
            return
        with self._lock:
            if self._binding is None:
                self.bind(provider, owns_histograms=False)

    def retire(self, provider: Any) -> None:
        """Never bind to ``provider`` again by ourselves (a pipeline of ours that was shut down but
        stays OpenTelemetry's global provider, since the global cannot be replaced)."""
        try:
            self._retired.add(provider)
        except TypeError:  # pragma: no cover - not weakly referenceable
            pass

    def reset(self) -> None:
        """Zero every aggregate (after a fork, the child counts only its own events)."""
        with self._lock:
            for name, stats in list(self._stats.items()):
                fresh = JourneyStats(stats.journey)
                self._stats[name] = fresh
                stats.journey.stats = fresh
            self.start_time_ns = time.time_ns()

    def forget(self) -> None:
        """Drop bindings, bounds and state entirely (tests)."""
        with self._lock:
            self.unbind()
            self._stats.clear()
            self._bounds = None
            self._ready = False
            self.start_time_ns = time.time_ns()
            for journey in registry:
                self._on_journey(journey)

    # -- request time -------------------------------------------------------------------------
    def record(
        self,
        stats: JourneyStats,
        duration: float,
        outcome: str,
        ttfb: float | None = None,
    ) -> None:
        """Record one event. Never raises."""
        try:
            if not self._ready:
                self._prepare()
            journey = stats.journey
            if journey.stats is not stats:  # reset or fork since the caller looked it up
                stats = journey.stats
            if not journey.enabled:
                return
            sdk = self._sdk_duration
            # acquire/release rather than ``with``: a third of the cost on CPython 3.11.
            lock = stats.lock
            lock.acquire()
            try:
                acc = stats.duration[outcome]
                # The bucket is counted on every path: the series' count is their sum.
                acc.counts[_bisect(stats.bounds, duration)] += 1
                if duration > stats.threshold:
                    acc.slow += 1
                if sdk is None:
                    # Inlined HistogramAccumulator.add: this is the hottest line of the library.
                    acc.sum += duration
                    if duration < acc.window_min:
                        acc.window_min = duration
                    if duration > acc.window_max:
                        acc.window_max = duration
                    if ttfb is not None:
                        stats.ttfb.add(ttfb, _bisect(stats.bounds, ttfb))
            finally:
                lock.release()
            if sdk is not None:
                sdk.record(duration, stats.attrs[outcome])
                if ttfb is not None:
                    self._sdk_ttfb.record(ttfb, stats.journey_attrs)
            if _event_observers:  # an integration (X-Ray SDK) labels the event
                _notify_event(journey, outcome)
        except Exception as exc:
            report_internal_error("recording an event", exc)


def _is_proxy(provider: Any) -> bool:
    """True for the API's placeholder (no MeterProvider installed yet)."""
    return type(provider).__name__ in ("_ProxyMeterProvider", "ProxyMeterProvider")


class _Binding:
    """Our instruments on one MeterProvider. Inactive bindings observe nothing."""

    def __init__(self, recorder: Recorder, provider: Any) -> None:
        self.active = True
        self.provider_ref: Any = _ref(provider)
        self._recorder = recorder
        self._meter = provider.get_meter(c.METER_NAME, _VERSION)
        for name, attr in (
            (c.REQUESTS, "requests"),
            (c.FAILURES, "failures"),
            (c.SLOW, "slow"),
            (c.ABORTED, "aborted"),
        ):
            self._meter.create_observable_counter(
                name,
                callbacks=[self._observer(attr)],
                unit=c.COUNTER_UNIT,
                description=c.DESCRIPTIONS[name],
            )
        self.duration: Any = None
        self.ttfb: Any = None
        self._bounds: tuple[float, ...] | None = None

    @property
    def provider(self) -> Any:
        return self.provider_ref()

    @property
    def bounds(self) -> tuple[float, ...] | None:
        return self._bounds

    def create_histograms(self, bounds: tuple[float, ...]) -> None:
        """Create the SDK histograms once per provider (the first bounds win, as in the SDK)."""
        if self.duration is not None:
            return
        advisory = list(bounds)
        self._bounds = bounds
        self.duration = self._meter.create_histogram(
            c.DURATION,
            unit=c.SECONDS,
            description=c.DESCRIPTIONS[c.DURATION],
            explicit_bucket_boundaries_advisory=advisory,
        )
        self.ttfb = self._meter.create_histogram(
            c.TTFB,
            unit=c.SECONDS,
            description=c.DESCRIPTIONS[c.TTFB],
            explicit_bucket_boundaries_advisory=advisory,
        )

    def _observer(self, attr: str) -> Any:
        def observe(options: CallbackOptions) -> Iterable[Observation]:
            if not self.active:
                return []
            observations = []
            for stats in self._recorder.stats():
                try:
                    if stats.journey.enabled:
                        observations.append(Observation(getattr(stats, attr), stats.journey_attrs))
                except Exception as exc:  # one journey's fault must not hide the others
                    report_internal_error("observing counters", exc)
            return observations

        return observe


def _ref(obj: Any) -> Any:
    try:
        return weakref.ref(obj)
    except TypeError:  # pragma: no cover - keep a strong reference when weak ones are impossible
        return lambda: obj


def bucket_index(bounds: Sequence[float], value: float) -> int:
    """OpenTelemetry explicit buckets: bucket i holds values in (bounds[i-1], bounds[i]]."""
    return bisect.bisect_left(bounds, value)


_bisect = bisect.bisect_left

recorder = Recorder()

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=recorder.reset)
