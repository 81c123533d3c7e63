"""``@journey`` and ``with journey(...)``: one event per call outside a request, a claim inside one.

Numbers are read back from what an in-memory OpenTelemetry reader collects (``recording()``), so
every assertion is on exported data, not on our internals.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import inspect
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import sli_instrument as sli
from sli_instrument import ConfigurationError
from sli_instrument._context import close_scope, current_scope, open_scope
from sli_instrument.testing import Recording, recording

pytestmark = [pytest.mark.core, pytest.mark.usefixtures("sli_reset")]


class CardDeclined(Exception):
    pass


@pytest.fixture
def rec() -> Iterator[Recording]:
    with recording() as r:
        yield r


def durations(rec: Recording, name: str) -> dict[str, int]:
    """Events in the duration histogram per outcome (the success series exists at 0)."""
    return {k: v for k, v in rec.journey(name).duration_count.items() if v}


def counts(rec: Recording, name: str) -> tuple[int, int, int, int]:
    m = rec.journey(name)
    return m.requests, m.failures, m.slow, m.aborted


# -- sync functions -------------------------------------------------------------------------------


def test_bare_decorator_uses_the_function_name(rec: Recording) -> None:
    @sli.journey
    def checkout(cart: list[int], *, coupon: str = "") -> int:
        """Pay for the cart."""
        return sum(cart)

    assert checkout([1, 2]) == 3
    assert checkout([5], coupon="x") == 5
    assert counts(rec, "checkout") == (2, 0, 0, 0)
    assert durations(rec, "checkout") == {"success": 2}


def test_decorator_with_options_and_without_name(rec: Recording) -> None:
    @sli.journey(latency_threshold="10ms")
    def report() -> str:
        time.sleep(0.03)
        return "ok"

    @sli.journey("pay", latency_threshold=10.0)
    def pay() -> None:
        return None

    assert report() == "ok"
    pay()
    assert counts(rec, "report") == (1, 0, 1, 0)
    assert counts(rec, "pay") == (1, 0, 0, 0)
    assert sli.registry.get("report").latency_threshold == pytest.approx(0.01)


def test_exceptions_propagate_unchanged_and_count_as_failures(rec: Recording) -> None:
    error = RuntimeError("database down")

    @sli.journey("checkout")
    def checkout() -> None:
        raise error

    with pytest.raises(RuntimeError) as info:
        checkout()
    assert info.value is error
    assert info.value.__traceback__ is not None
    assert counts(rec, "checkout") == (1, 1, 0, 0)
    assert durations(rec, "checkout") == {"failure": 1}


def test_business_exceptions_are_successes_and_still_propagate(rec: Recording) -> None:
    declined = CardDeclined("insufficient funds")

    @sli.journey("pay", success_exceptions=(CardDeclined,))
    def pay(ok: bool) -> None:
        if not ok:
            raise declined
        raise KeyError("bug")

    with pytest.raises(CardDeclined) as info:
        pay(False)
    assert info.value is declined
    with pytest.raises(KeyError):
        pay(True)
    assert counts(rec, "pay") == (2, 1, 0, 0)
    assert durations(rec, "pay") == {"success": 1, "failure": 1}


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, SystemExit, GeneratorExit])
def test_base_exceptions_are_aborted_not_valid_events(
    rec: Recording, interrupt: type[BaseException]
) -> None:
    @sli.journey("upload")
    def upload() -> None:
        raise interrupt()

    with pytest.raises(interrupt):
        upload()
    assert counts(rec, "upload") == (0, 0, 0, 1)
    assert durations(rec, "upload") == {"aborted": 1}


def test_disabled_journey_records_nothing(rec: Recording) -> None:
    @sli.journey("internal", enabled=False)
    def internal() -> int:
        return 1

    assert internal() == 1
    assert rec.journey("internal").requests == 0
    assert "internal" not in rec.metrics()


# -- introspection --------------------------------------------------------------------------------


def test_signature_docstring_and_inspect_are_preserved() -> None:
    def sync(a: int, b: str = "x", *args: Any, c: float, **kw: Any) -> int:
        """Sync doc."""
        return a

    async def coro(a: int) -> int:
        """Coro doc."""
        return a

    def gen(n: int) -> Iterator[int]:
        """Gen doc."""
        yield n

    async def agen(n: int) -> Any:
        """Agen doc."""
        yield n

    for func, check in (
        (sync, inspect.isfunction),
        (coro, inspect.iscoroutinefunction),
        (gen, inspect.isgeneratorfunction),
        (agen, inspect.isasyncgenfunction),
    ):
        wrapped = sli.journey(func)
        assert inspect.signature(wrapped) == inspect.signature(func)
        assert wrapped.__doc__ == func.__doc__
        assert wrapped.__name__ == func.__name__
        assert wrapped.__qualname__ == func.__qualname__
        assert wrapped.__module__ == func.__module__
        assert wrapped.__wrapped__ is func
        assert check(wrapped)
        for other in (
            inspect.iscoroutinefunction,
            inspect.isgeneratorfunction,
            inspect.isasyncgenfunction,
        ):
            if other is not check:
                assert not other(wrapped)
    assert asyncio.iscoroutinefunction(sli.journey(coro))


def test_decorating_a_non_callable_raises() -> None:
    handle = sli.journey("x")
    with pytest.raises(TypeError, match="decorates a callable"):
        handle(42)  # type: ignore[arg-type]


def test_bad_name_fails_at_definition_with_location() -> None:
    with pytest.raises(ConfigurationError) as info:

        @sli.journey("check out")
        def f() -> None:
            pass

    message = str(info.value)
    assert "'check out'" in message and "[A-Za-z0-9_.-]" in message
    assert "test_decorators.py:" in message


def test_bare_decorator_on_a_function_with_an_invalid_name() -> None:
    def f() -> None:
        pass

    f.__name__ = "<lambda>"
    with pytest.raises(ConfigurationError, match="'<lambda>'.*@journey on"):
        sli.journey(f)


def test_unnamed_journey_cannot_be_a_block() -> None:
    with pytest.raises(ConfigurationError, match="without a name"):
        with sli.journey():
            pass


# -- methods --------------------------------------------------------------------------------------


def test_methods_classmethods_staticmethods(rec: Recording) -> None:
    class Shop:
        tag = "shop"

        def __init__(self, n: int) -> None:
            self.n = n

        @sli.journey("method")
        def method(self, k: int) -> int:
            """Method doc."""
            return self.n + k

        @sli.journey("cls_outer")
        @classmethod
        def cls_outer(cls) -> str:
            return cls.tag

        @classmethod
        @sli.journey("cls_inner")
        def cls_inner(cls) -> str:
            return cls.tag

        @sli.journey("static_outer")
        @staticmethod
        def static_outer(x: int) -> int:
            return x * 2

        @staticmethod
        @sli.journey("static_inner")
        def static_inner(x: int) -> int:
            return x * 3

    shop = Shop(10)
    assert shop.method(1) == 11
    assert Shop.method(shop, 2) == 12
    assert Shop.cls_outer() == shop.cls_outer() == "shop"
    assert Shop.cls_inner() == shop.cls_inner() == "shop"
    assert Shop.static_outer(2) == shop.static_outer(2) == 4
    assert Shop.static_inner(2) == shop.static_inner(2) == 6
    assert inspect.signature(shop.method) == inspect.signature(Shop(1).method)
    assert list(inspect.signature(shop.method).parameters) == ["k"]
    assert shop.method.__doc__ == "Method doc."
    for name in ("method", "cls_outer", "cls_inner", "static_outer", "static_inner"):
        assert counts(rec, name) == (2, 0, 0, 0), name


# -- coroutines -----------------------------------------------------------------------------------


def test_coroutine_function(rec: Recording) -> None:
    @sli.journey("search", latency_threshold="5ms")
    async def search(q: str) -> str:
        await asyncio.sleep(0.02)
        if q == "boom":
            raise ValueError(q)
        return q.upper()

    async def main() -> None:
        assert await search("shoes") == "SHOES"
        with pytest.raises(ValueError):
            await search("boom")

    asyncio.run(main())
    assert counts(rec, "search") == (2, 1, 2, 0)


def test_cancelled_coroutine_is_aborted(rec: Recording) -> None:
    @sli.journey("slow_call")
    async def slow_call() -> None:
        await asyncio.sleep(10)

    async def main() -> None:
        task = asyncio.ensure_future(slow_call())
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert counts(rec, "slow_call") == (0, 0, 0, 1)


# -- generators -----------------------------------------------------------------------------------


def _gen_journey(name: str, fail_at: int = -1) -> Any:
    @sli.journey(name)
    def rows(n: int) -> Iterator[int]:
        for i in range(n):
            if i == fail_at:
                raise RuntimeError("row failed")
            yield i

    return rows


def test_generator_exhausted(rec: Recording) -> None:
    rows = _gen_journey("export")
    gen = rows(3)
    assert rec.journey("export").requests == 0  # not finished yet
    assert list(gen) == [0, 1, 2]
    assert counts(rec, "export") == (1, 0, 0, 0)


def test_generator_duration_covers_the_consumer(rec: Recording) -> None:
    @sli.journey("stream", latency_threshold="20ms")
    def stream() -> Iterator[int]:
        yield 1
        yield 2

    for _ in stream():
        time.sleep(0.02)
    m = rec.journey("stream")
    assert m.slow == 1
    assert m.duration_sum["success"] >= 0.04


def test_generator_closed_half_way(rec: Recording) -> None:
    rows = _gen_journey("export")
    gen = rows(10)
    assert next(gen) == 0
    gen.close()
    assert counts(rec, "export") == (1, 0, 0, 0)


def test_generator_abandoned_half_way_and_collected(rec: Recording) -> None:
    rows = _gen_journey("export")
    gen = rows(10)
    assert next(gen) == 0
    assert next(gen) == 1
    del gen
    gc.collect()
    assert counts(rec, "export") == (1, 0, 0, 0)


def test_generator_never_iterated_records_nothing(rec: Recording) -> None:
    rows = _gen_journey("export")
    gen = rows(10)
    del gen
    gc.collect()
    assert counts(rec, "export") == (0, 0, 0, 0)


def test_generator_raising_is_a_failure(rec: Recording) -> None:
    rows = _gen_journey("export", fail_at=2)
    seen = []
    with pytest.raises(RuntimeError, match="row failed"):
        for row in rows(5):
            seen.append(row)
    assert seen == [0, 1]
    assert counts(rec, "export") == (1, 1, 0, 0)


def test_generator_send_throw_and_return_value(rec: Recording) -> None:
    @sli.journey("echo")
    def echo() -> Any:
        total = 0
        while True:
            try:
                value = yield total
            except KeyError:
                value = 100
            if value is None:
                return total
            total += value

    gen = echo()
    assert next(gen) == 0
    assert gen.send(5) == 5
    assert gen.throw(KeyError("x")) == 105
    with pytest.raises(StopIteration) as info:
        gen.send(None)
    assert info.value.value == 105
    assert counts(rec, "echo") == (1, 0, 0, 0)


# -- async generators -----------------------------------------------------------------------------


def _agen_journey(name: str, fail_at: int = -1) -> Any:
    @sli.journey(name)
    async def rows(n: int) -> Any:
        for i in range(n):
            if i == fail_at:
                raise RuntimeError("row failed")
            await asyncio.sleep(0)
            yield i

    return rows


def test_async_generator_exhausted_and_failing(rec: Recording) -> None:
    ok = _agen_journey("feed")
    bad = _agen_journey("feed_bad", fail_at=1)

    async def main() -> None:
        assert [i async for i in ok(3)] == [0, 1, 2]
        with pytest.raises(RuntimeError):
            async for _ in bad(3):
                pass

    asyncio.run(main())
    assert counts(rec, "feed") == (1, 0, 0, 0)
    assert counts(rec, "feed_bad") == (1, 1, 0, 0)


def test_async_generator_closed_half_way(rec: Recording) -> None:
    rows = _agen_journey("feed")

    async def main() -> None:
        agen = rows(10)
        assert await agen.__anext__() == 0
        await agen.aclose()

    asyncio.run(main())
    assert counts(rec, "feed") == (1, 0, 0, 0)


def test_async_generator_abandoned_half_way_and_collected(rec: Recording) -> None:
    rows = _agen_journey("feed")

    async def main() -> None:
        agen = rows(10)
        assert await agen.__anext__() == 0
        del agen
        gc.collect()
        for _ in range(5):  # the loop's finalizer schedules aclose() as a task
            await asyncio.sleep(0)

    asyncio.run(main())
    assert counts(rec, "feed") == (1, 0, 0, 0)


def test_async_generator_asend_and_athrow(rec: Recording) -> None:
    @sli.journey("acc")
    async def acc() -> Any:
        total = 0
        while True:
            try:
                value = yield total
            except KeyError:
                value = 10
            total += value

    async def main() -> None:
        agen = acc()
        assert await agen.asend(None) == 0
        assert await agen.asend(2) == 2
        assert await agen.athrow(KeyError("k")) == 12
        await agen.aclose()

    asyncio.run(main())
    assert counts(rec, "acc") == (1, 0, 0, 0)


# -- context managers -----------------------------------------------------------------------------


def test_with_block(rec: Recording) -> None:
    for _ in range(3):
        with sli.journey("search"):
            pass
    error = ValueError("bad query")
    with pytest.raises(ValueError) as info:
        with sli.journey("search"):
            raise error
    assert info.value is error
    with pytest.raises(CardDeclined):
        with sli.journey("pay", success_exceptions=[CardDeclined]):
            raise CardDeclined()
    assert counts(rec, "search") == (4, 1, 0, 0)
    assert counts(rec, "pay") == (1, 0, 0, 0)


def test_with_block_handle_is_reused_and_reentrant(rec: Recording) -> None:
    assert sli.journey("search") is sli.journey("search")
    handle = sli.journey("search")
    with handle:
        with handle:
            pass
    assert counts(rec, "search") == (2, 0, 0, 0)


def test_with_block_with_options_is_registered_once() -> None:
    first = sli.journey("pay", success_exceptions=[CardDeclined], latency_threshold="2s")
    again = sli.journey("pay", success_exceptions=[CardDeclined], latency_threshold="2s")
    assert again is first
    with pytest.raises(ConfigurationError, match="conflicting latency_threshold"):
        sli.journey("pay", latency_threshold="3s")


def test_async_with_block(rec: Recording) -> None:
    async def main() -> None:
        async with sli.journey("search"):
            await asyncio.sleep(0)
        with pytest.raises(ValueError):
            async with sli.journey("search"):
                raise ValueError()

    asyncio.run(main())
    assert counts(rec, "search") == (2, 1, 0, 0)


def test_exit_without_enter_is_contained() -> None:
    handle = sli.journey("stray")
    handle.__exit__(None, None, None)  # nothing open: nothing recorded, nothing raised


# -- request scope --------------------------------------------------------------------------------


def test_inside_a_request_scope_the_first_journey_wins_and_nothing_is_recorded(
    rec: Recording,
) -> None:
    @sli.journey("inner")
    def inner() -> str:
        return "inner"

    @sli.journey("outer")
    def outer() -> str:
        with sli.journey("block"):
            return inner()

    @sli.journey("gen")
    def gen() -> Iterator[int]:
        yield 1

    scope, token = open_scope()
    try:
        assert outer() == "inner"
        assert list(gen()) == [1]
        assert scope.journey is sli.registry.get("outer")
        assert scope.source == "decorator"
    finally:
        close_scope(token)
    for name in ("outer", "inner", "block", "gen"):
        assert counts(rec, name) == (0, 0, 0, 0)


def test_request_scope_with_async_and_block_claims(rec: Recording) -> None:
    @sli.journey("async_claim")
    async def handler() -> int:
        return 1

    async def serve() -> tuple[object, object]:
        scope, token = open_scope()
        try:
            await handler()
        finally:
            close_scope(token)
        block_scope, token = open_scope()
        try:
            async with sli.journey("block_claim"):
                pass
        finally:
            close_scope(token)
        return scope.journey, block_scope.journey

    first, second = asyncio.run(serve())
    assert first is sli.registry.get("async_claim")
    assert second is sli.registry.get("block_claim")
    assert rec.journey("async_claim").requests == 0
    assert rec.journey("block_claim").requests == 0
    assert current_scope() is None


# -- concurrency ----------------------------------------------------------------------------------


def test_threads_counts_are_exact(rec: Recording) -> None:
    @sli.journey("threaded")
    def work(i: int) -> int:
        if i % 10 == 0:
            raise ValueError(i)
        return i

    barrier = threading.Barrier(8)

    def run() -> None:
        barrier.wait()
        for i in range(10_000):
            try:
                work(i)
            except ValueError:
                pass

    threads = [threading.Thread(target=run) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    m = rec.journey("threaded")
    assert (m.requests, m.failures) == (80_000, 8_000)
    assert m.duration_count == {"success": 72_000, "failure": 8_000}
    assert sum(m.buckets["success"]) == 72_000


def test_asyncio_tasks_on_different_journeys_never_cross_talk(rec: Recording) -> None:
    journeys = [f"j{i}" for i in range(10)]
    funcs = {}
    for name in journeys:

        @sli.journey(name)
        async def call(i: int) -> int:
            await asyncio.sleep(0)
            if i % 4 == 0:
                raise ValueError(i)
            await asyncio.sleep(0)
            return i

        funcs[name] = call

    async def block(name: str, i: int) -> None:
        # the with-form keeps its start time per task: interleaving must not mix them up
        async with sli.journey(name):
            await asyncio.sleep(0)
            if i % 5 == 0:
                raise KeyError(i)

    async def one(i: int) -> None:
        name = journeys[i % 10]
        try:
            await funcs[name](i)
        except ValueError:
            pass
        try:
            await block(name, i)
        except KeyError:
            pass
        assert current_scope() is None

    async def main() -> None:
        await asyncio.gather(*(one(i) for i in range(1000)))

    asyncio.run(main())
    for k, name in enumerate(journeys):
        indexes = [i for i in range(1000) if i % 10 == k]
        expected_failures = sum(1 for i in indexes if i % 4 == 0) + sum(
            1 for i in indexes if i % 5 == 0
        )
        assert counts(rec, name) == (2 * len(indexes), expected_failures, 0, 0), name


def test_wrapped_functions_stay_usable_with_functools(rec: Recording) -> None:
    @sli.journey("partial")
    def add(a: int, b: int) -> int:
        return a + b

    assert functools.partial(add, 1)(2) == 3
    assert counts(rec, "partial") == (1, 0, 0, 0)
