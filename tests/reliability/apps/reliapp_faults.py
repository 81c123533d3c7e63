"""Faults injected into sli_instrument inside a server process, switched on and off by the test.

These patch the library from the outside (test code only): nothing in ``src/`` knows about them.
"""

from __future__ import annotations

from typing import Any


class InjectedFault(RuntimeError):
    """Raised by an injected fault; its message is what the log must show, once."""


class _RaisingBisect:
    """Stands in for the ``bisect`` module inside the recorder: its first step raises."""

    @staticmethod
    def bisect_left(*_args: Any, **_kwargs: Any) -> int:
        raise InjectedFault("injected fault: recorder internals")


def _raise_recording(*_args: Any, **_kwargs: Any) -> None:
    raise InjectedFault("injected fault: recorder entry point")


def _raise_export(*_args: Any, **_kwargs: Any) -> Any:
    raise InjectedFault("injected fault: exporter")


class FaultSwitch:
    def __init__(self) -> None:
        self.active: dict[str, Any] = {}

    def set(self, name: str, on: bool) -> None:
        if on and name not in self.active:
            self.active[name] = getattr(self, f"_apply_{name}")()
        elif not on and name in self.active:
            undo = self.active.pop(name)
            undo()

    # -- recorder ------------------------------------------------------------------------------
    def _apply_recorder_raise(self) -> Any:
        import sli_instrument._recorder as rec_mod
        from sli_instrument import decorators

        recorder = rec_mod.recorder
        saved: list[tuple[Any, str, Any, bool]] = []

        def patch(target: Any, attr: str, value: Any) -> None:
            had = attr in vars(target) if hasattr(target, "__dict__") else True
            saved.append((target, attr, getattr(target, attr), had))
            setattr(target, attr, value)

        # The recorder's own body raises (its guard must catch it) ...
        patch(rec_mod, "bisect", _RaisingBisect)
        # ... and every recording entry point that callers look up raises straight into them
        # (their guards must catch it): the instance attribute, the decorators' bound alias, and
        # the aliases the HTTP middleware modules keep, whatever they are called.
        patch(recorder, "record", _raise_recording)
        if hasattr(decorators, "_record"):
            patch(decorators, "_record", _raise_recording)
        import sys

        for module_name in ("sli_instrument.wsgi", "sli_instrument.asgi", "sli_instrument._http"):
            module = sys.modules.get(module_name)
            if module is None:
                continue
            for attr, value in list(vars(module).items()):
                if getattr(value, "__func__", None) is rec_mod.Recorder.record:
                    patch(module, attr, _raise_recording)

        def undo() -> None:
            for target, attr, value, had in reversed(saved):
                if target is recorder and not had:
                    delattr(target, attr)
                else:
                    setattr(target, attr, value)

        return undo

    # -- exporter ------------------------------------------------------------------------------
    def _apply_exporter_raise(self) -> Any:
        import sli_instrument

        config = sli_instrument.current_configuration()
        exporter = getattr(getattr(config, "reader", None), "_exporter", None)
        if exporter is None:
            return lambda: None
        exporter.export = _raise_export

        def undo() -> None:
            del exporter.export

        return undo
