"""``@journey``: name a critical user journey on a function, a method or a block of code.

Outside a request scope each call (or ``with`` block) is one SLI event, recorded when it ends.
Inside a request scope opened by our middleware, the decorator only names the request's journey
(the first journey named wins) and the middleware records the request as the single event.

What the outcome of an event is:
* it returned (or a generator was exhausted or closed by its consumer): success;
* it raised an ``Exception`` listed in the journey's ``success_exceptions``: success
  (a business error such as "card declined" is the journey working);
* it raised any other ``Exception``: failure;
* it was interrupted by a ``BaseException`` that is not an ``Exception`` (task cancelled,
  ``KeyboardInterrupt``, ``SystemExit``): aborted, which is not a valid event of the SLI.
The exception always propagates unchanged.
"""

from __future__ import annotations

import functools
import inspect
from contextvars import ContextVar
from time import perf_counter
from typing import Any, Callable, Optional, TypeVar, overload

import wrapt

from . import _contract as c
from ._context import current_scope
from ._recorder import recorder
from ._registry import Journey, registry
from ._safety import report_internal_error
from .errors import ConfigurationError

__all__ = ["JourneyHandle", "journey"]

F = TypeVar("F", bound=Callable[..., Any])

_record = recorder.record
_SUCCESS = c.OUTCOME_SUCCESS
_FAILURE = c.OUTCOME_FAILURE
_ABORTED = c.OUTCOME_ABORTED


def _outcome(journey: Journey, exc: BaseException) -> str:
    if isinstance(exc, Exception):
        return _SUCCESS if isinstance(exc, journey.success_exceptions) else _FAILURE
    return _ABORTED


def _finish(journey: Journey, start: float, outcome: str) -> None:
    _record(journey.stats, perf_counter() - start, outcome)


_FunctionWrapper: Any = getattr(wrapt, "FunctionWrapper")  # noqa: B009 - untyped on some wrapt/Python pairs


class _JourneyWrapper(_FunctionWrapper):  # type: ignore[misc]
    """wrapt's FunctionWrapper: classmethod/staticmethod objects, bound methods, callable objects,
    (async) generator functions (see ``_wrap``)."""


def _wrap(func: Any, wrapper: Callable[..., Any], journey: Journey, kind: str) -> Any:
    """Wrap ``func``: a plain function for a plain (coroutine) function, wrapt for the rest.

    A plain synchronous or coroutine function gets a plain function of the same kind back,
    with ``functools.update_wrapper`` metadata (``__wrapped__``, so ``inspect.signature`` sees the
    original). It binds as a method like any function, and it is cheap where frameworks look at
    it on every request: Flask's ``ensure_sync`` and Django's handler call
    ``inspect.iscoroutinefunction`` on the view per request, which costs about three times as much
    on a wrapt proxy (every attribute read goes through the proxy) as on a function.

    Everything else goes through wrapt's FunctionWrapper: classmethod and staticmethod objects
    (either decorator order), bound methods, callable objects, and generator and async generator
    functions, whose wrapper must still *be* one for ``inspect`` while the journey is claimed at
    the call, not at the first iteration.
    """
    if not (inspect.isfunction(func) and not hasattr(func, "__self__")):
        return _JourneyWrapper(func, wrapper)
    if kind == "sync":
        measured = _measured_sync(journey, func)
    elif kind == "coroutine":
        measured = _measured_coroutine(journey, func)
    else:
        return _JourneyWrapper(func, wrapper)
    return functools.update_wrapper(measured, func)


def _measured_sync(journey: Journey, func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` under ``journey``: one event outside a request, a claim inside one.

    The body of every synchronous ``@journey``, in one Python frame: a plain function returns
    it as is; wrapt's wrapper (whose ``wrapped`` is bound anew on each call) builds it per call.
    """

    def measured(*args: Any, **kwargs: Any) -> Any:
        scope = current_scope()
        if scope is None:
            start = perf_counter()
            try:
                result = func(*args, **kwargs)
            except BaseException as exc:
                _record(journey.stats, perf_counter() - start, _outcome(journey, exc))
                raise
            _record(journey.stats, perf_counter() - start, _SUCCESS)
            return result
        if scope.journey is None:
            scope.claim(journey)
        return func(*args, **kwargs)

    return measured


def _measured_coroutine(journey: Journey, func: Callable[..., Any]) -> Callable[..., Any]:
    """The coroutine form of :func:`_measured_sync`: the event ends when the coroutine does."""

    async def measured(*args: Any, **kwargs: Any) -> Any:
        scope = current_scope()
        if scope is None:
            start = perf_counter()
            try:
                result = await func(*args, **kwargs)
            except BaseException as exc:
                _record(journey.stats, perf_counter() - start, _outcome(journey, exc))
                raise
            _record(journey.stats, perf_counter() - start, _SUCCESS)
            return result
        if scope.journey is None:
            scope.claim(journey)
        return await func(*args, **kwargs)

    return measured


class JourneyHandle:
    """What :func:`journey` returns: a decorator, a context manager and an async context manager."""

    __slots__ = ("_active", "journey")

    def __init__(self, journey: Journey) -> None:
        self.journey = journey
        # Start times of the ``with`` blocks open in this context outside any request scope.
        self._active: ContextVar[tuple[float, ...]] = ContextVar(
            f"sli_journey_{journey.name}", default=()
        )

    @property
    def name(self) -> str:
        return self.journey.name

    def __repr__(self) -> str:
        return f"<journey {self.journey.name!r}>"

    # -- decorator ----------------------------------------------------------------------------
    def __call__(self, func: F) -> F:
        if not callable(func) and not isinstance(func, (classmethod, staticmethod)):
            raise TypeError(f"@journey({self.journey.name!r}) decorates a callable, not {func!r}")
        target = getattr(func, "__func__", func)
        if inspect.isasyncgenfunction(target):
            kind, wrapper = "asyncgen", _iterator_wrapper(self.journey, _measured_async_generator)
        elif inspect.iscoroutinefunction(target):
            kind, wrapper = "coroutine", _coroutine_wrapper(self.journey)
        elif inspect.isgeneratorfunction(target):
            kind, wrapper = "generator", _iterator_wrapper(self.journey, _measured_generator)
        else:
            kind, wrapper = "sync", _sync_wrapper(self.journey)
        return _wrap(func, wrapper, self.journey, kind)  # type: ignore[no-any-return]

    # -- context managers ---------------------------------------------------------------------
    def __enter__(self) -> JourneyHandle:
        try:
            scope = current_scope()
            if scope is not None:
                # Inside a request the block only names the request's journey; the request scope
                # outlives the block, so __exit__ finds it again and knows there is nothing to do.
                if scope.journey is None:
                    scope.claim(self.journey)
                return self
            self._active.set((*self._active.get(), perf_counter()))
        except Exception as exc:
            report_internal_error("entering a journey block", exc)
        return self

    def __exit__(self, exc_type: Any, exc: Optional[BaseException], tb: Any) -> None:
        try:
            if current_scope() is not None:
                return  # a block inside a request: the request is the event
            stack = self._active.get()
            if not stack:
                return
            start = stack[-1]
            self._active.set(stack[:-1])
            _finish(self.journey, start, _SUCCESS if exc is None else _outcome(self.journey, exc))
        except Exception as error:
            report_internal_error("leaving a journey block", error)

    async def __aenter__(self) -> JourneyHandle:
        return self.__enter__()

    async def __aexit__(self, exc_type: Any, exc: Optional[BaseException], tb: Any) -> None:
        self.__exit__(exc_type, exc, tb)


def _sync_wrapper(journey: Journey) -> Callable[..., Any]:
    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        return _measured_sync(journey, wrapped)(*args, **kwargs)

    return wrapper


def _coroutine_wrapper(journey: Journey) -> Callable[..., Any]:
    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        return _measured_coroutine(journey, wrapped)(*args, **kwargs)

    return wrapper


def _iterator_wrapper(
    journey: Journey, measure: Callable[[Journey, Any, float], Any]
) -> Callable[..., Any]:
    """For (async) generator functions: the call returns ``measure(...)`` around the iterator."""

    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        scope = current_scope()
        if scope is not None:
            if scope.journey is None:
                scope.claim(journey)
            return wrapped(*args, **kwargs)
        start = perf_counter()
        return measure(journey, wrapped(*args, **kwargs), start)

    return wrapper


def _measured_generator(journey: Journey, generator: Any, start: float) -> Any:
    # The event starts at the call and ends when the generator is exhausted, raises, or is closed
    # (by its consumer, or by garbage collection of an abandoned generator). A generator that is
    # never iterated runs no code and records nothing.
    outcome = _SUCCESS
    try:
        return (yield from generator)
    except GeneratorExit:
        raise
    except BaseException as exc:
        outcome = _outcome(journey, exc)
        raise
    finally:
        _finish(journey, start, outcome)


async def _measured_async_generator(journey: Journey, agen: Any, start: float) -> Any:
    outcome = _SUCCESS
    try:
        to_send: Any = None
        while True:
            try:
                item = await agen.asend(to_send)
            except StopAsyncIteration:
                return
            while True:
                try:
                    to_send = yield item
                    break
                except GeneratorExit:
                    raise
                except BaseException as thrown:  # athrow() from our consumer: forward it
                    try:
                        item = await agen.athrow(thrown)
                    except StopAsyncIteration:
                        return
    except GeneratorExit:
        await agen.aclose()
        raise
    except BaseException as exc:
        outcome = _outcome(journey, exc)
        raise
    finally:
        _finish(journey, start, outcome)


@overload
def journey(name: F, /) -> F: ...


@overload
def journey(
    name: Optional[str] = None,
    /,
    *,
    latency_threshold: Any = None,
    success_exceptions: Any = None,
    enabled: Optional[bool] = None,
    failure_statuses: Any = None,
    classifier: Any = None,
) -> JourneyHandle: ...


def journey(
    name: Any = None,
    /,
    *,
    latency_threshold: Any = None,
    success_exceptions: Any = None,
    enabled: Optional[bool] = None,
    failure_statuses: Any = None,
    classifier: Any = None,
) -> Any:
    """Name a critical user journey.

    ``@journey("checkout", latency_threshold="300ms")`` on a function, method, coroutine or
    (async) generator; ``with journey("search"):`` or ``async with journey("search"):`` around a
    block; bare ``@journey`` takes the function's ``__name__``. The name is validated and the
    journey registered now, at definition time: a bad name or option raises
    :class:`~sli_instrument.ConfigurationError` here, never while serving.
    """
    if type(name) is str:
        # ``with journey("search", latency_threshold="250ms"):`` runs on every request: after the
        # first time, the same name with the same options is one dictionary lookup. (Options that
        # cannot be hashed as given, such as lists, are looked up by a normalized key below.)
        try:
            cached = _seen.get(
                (name, latency_threshold, success_exceptions, enabled, failure_statuses, classifier)
            )
        except TypeError:
            cached = None
        if cached is not None and _journeys.get(name) is cached.journey:
            return cached
    if callable(name) or isinstance(name, (classmethod, staticmethod)):
        func = name
        target = getattr(func, "__func__", func)
        handle = _handle(getattr(target, "__name__", None), f"@journey on {_where(target)}")
        return handle(func)
    options = {
        "latency_threshold": latency_threshold,
        "success_exceptions": success_exceptions,
        "enabled": enabled,
        "failure_statuses": failure_statuses,
        "classifier": classifier,
    }
    if name is None:
        return _NameFromFunction(options)
    if not isinstance(name, str):
        return _handle(name, f"journey({name!r})", **options)
    key = _options_key(name, options)
    if key is not None:
        cached = _seen.get(key)
        if cached is not None and _journeys.get(name) is cached.journey:
            return cached
    handle = _handle(name, f"journey({name!r})", **options)
    if len(_seen) < 4 * registry.cap + 64:
        raw = (name, latency_threshold, success_exceptions, enabled, failure_statuses, classifier)
        for cache_key in (key, raw):
            try:
                if cache_key is not None:
                    _seen[cache_key] = handle
            except TypeError:  # an unhashable option as given: the normalized key serves it
                pass
    return handle


def _options_key(name: str, options: dict[str, Any]) -> Any:
    """A hashable key for (name, options) with collections normalized, or None if impossible."""
    parts: list[Any] = [name]
    for option in ("latency_threshold", "enabled", "classifier"):
        parts.append(options[option])
    exceptions = options["success_exceptions"]
    if isinstance(exceptions, (list, set, frozenset)):
        exceptions = tuple(exceptions)
    statuses = options["failure_statuses"]
    if isinstance(statuses, (list, set, tuple)):
        statuses = frozenset(statuses)
    parts.extend((exceptions, statuses))
    key = tuple(parts)
    try:
        hash(key)
    except TypeError:
        return None
    return key


#: Handles of ``journey(name, **options)`` calls already seen (bounded: names are capped), by
#: the options as given and as normalized.
_seen: dict[Any, JourneyHandle] = {}
#: The registry's journeys by name: a cached handle is valid while its journey is the registered
#: one (tests and ``registry.clear()`` replace journeys).
_journeys = registry._journeys


#: One handle per journey, so ``with journey(name):`` in a request path costs a dict lookup and
#: the per-handle ContextVar is created once (bounded by the journey cap, not by traffic).
_handles: dict[str, JourneyHandle] = {}


def _handle(name: Any, source: str, **options: Any) -> JourneyHandle:
    caller = _caller()
    registered = registry.register(name, source=f"{source} at {caller}", **options)
    handle = _handles.get(registered.name)
    if handle is None or handle.journey is not registered:
        handle = JourneyHandle(registered)
        _handles[registered.name] = handle
    return handle


class _NameFromFunction:
    """``@journey(latency_threshold=...)`` without a name: the function's ``__name__`` is used."""

    __slots__ = ("_options",)

    def __init__(self, options: dict[str, Any]) -> None:
        self._options = options

    def __call__(self, func: F) -> F:
        target = getattr(func, "__func__", func)
        name = getattr(target, "__name__", None)
        handle = _handle(name, f"@journey(...) on {_where(target)}", **self._options)
        return handle(func)

    def __enter__(self) -> None:
        raise ConfigurationError(
            "journey() without a name can only decorate a function (its __name__ is the "
            'journey name); name the block: with journey("search"): ...'
        )

    __aenter__ = __enter__  # type: ignore[assignment]

    def __exit__(self, *exc: object) -> None:  # pragma: no cover - __enter__ always raises
        pass


def _where(func: Any) -> str:
    code = getattr(func, "__code__", None)
    if code is None:
        return repr(func)
    return f"{getattr(func, '__qualname__', func)} ({code.co_filename}:{code.co_firstlineno})"


def _caller() -> str:
    frame = inspect.currentframe()
    try:
        depth = 0
        while frame is not None and frame.f_globals.get("__name__") == __name__ and depth < 10:
            frame = frame.f_back
            depth += 1
        if frame is None:
            return "<unknown>"
        return f"{frame.f_code.co_filename}:{frame.f_lineno}"
    finally:
        del frame
