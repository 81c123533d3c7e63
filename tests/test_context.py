"""The request scope: first journey named wins; a claim observer never reaches the app."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from sli_instrument import registry
from sli_instrument._context import close_scope, current_scope, open_scope
from sli_instrument._observers import claim_observers

pytestmark = [pytest.mark.core, pytest.mark.usefixtures("sli_reset")]


def test_open_claim_close() -> None:
    assert current_scope() is None
    scope, token = open_scope()
    try:
        assert current_scope() is scope
        first, second = registry.register("a"), registry.register("b")
        assert scope.claim(first) is True
        assert scope.claim(second, source="route") is False
        assert scope.journey is first and scope.source == "decorator"
    finally:
        close_scope(token)
    assert current_scope() is None


def test_claim_observer_called_once_and_its_errors_are_contained(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, "sli_instrument")
    calls: list[str] = []

    def observer(journey: object) -> None:
        calls.append(journey.name)  # type: ignore[attr-defined]
        raise RuntimeError("observer failed")

    claim_observers.append(observer)
    scope, token = open_scope()
    try:
        assert scope.claim(registry.register("a"))
        scope.claim(registry.register("b"))
    finally:
        close_scope(token)
        claim_observers.remove(observer)
    assert calls == ["a"]
    assert any("journey-claim observer" in r.getMessage() for r in caplog.records)


def test_threads_and_tasks_never_share_a_scope() -> None:
    scope, token = open_scope()
    seen: list[object] = []
    try:
        thread = threading.Thread(target=lambda: seen.append(current_scope()))
        thread.start()
        thread.join()

        async def task_scope() -> object:
            inner, inner_token = open_scope()
            await asyncio.sleep(0)
            close_scope(inner_token)
            return inner

        async def main() -> tuple[object, object]:
            a, b = await asyncio.gather(task_scope(), task_scope())
            return a, b

        a, b = asyncio.run(main())
        assert a is not b
        assert current_scope() is scope  # the tasks' scopes never leaked into ours
    finally:
        close_scope(token)
    assert seen == [None]
