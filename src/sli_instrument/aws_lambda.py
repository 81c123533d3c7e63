"""AWS Lambda: export before the invocation returns.

Lambda freezes the execution environment as soon as the handler returns, so a periodic export may
not run for minutes (or ever, if the environment is recycled). Decorate the handler::

    import sli_instrument as sli
    from sli_instrument.aws_lambda import flush_metrics

    sli.configure(service_name="orders", exporter="emf")   # EMF lines on stdout: no collector

    @flush_metrics
    @sli.journey("place-order")
    def handler(event, context):
        ...

``flush_metrics`` exports what is pending (through whatever ``configure()`` set up) after every
invocation, whether the handler returned or raised; the handler's result and exceptions pass
through unchanged, and a failing export never fails the invocation. With the ``emf`` exporter the
flush is a write to stdout, which Lambda ships to CloudWatch Logs, where the metrics are extracted.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Optional, TypeVar, overload

from ._duration import parse_duration
from ._safety import report_internal_error
from .config import current_configuration

__all__ = ["flush", "flush_metrics"]

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_TIMEOUT = 2.0


def flush(timeout: Any = DEFAULT_TIMEOUT) -> bool:
    """Export pending metrics (and spans) now; True when everything was exported. Never raises."""
    try:
        config = current_configuration()
        if config is None:
            return True
        seconds = parse_duration(timeout, what="flush timeout", source="argument")
        return config.force_flush(timeout_millis=int(seconds * 1000))
    except Exception as exc:
        report_internal_error("flushing at the end of an invocation", exc)
        return False


@overload
def flush_metrics(handler: F, /) -> F: ...


@overload
def flush_metrics(*, timeout: Any = DEFAULT_TIMEOUT) -> Callable[[F], F]: ...


def flush_metrics(handler: Optional[F] = None, /, *, timeout: Any = DEFAULT_TIMEOUT) -> Any:
    """Decorate a Lambda handler (sync or async) so every invocation ends with :func:`flush`."""
    parse_duration(timeout, what="flush timeout", source="flush_metrics(timeout=...)")

    def decorate(func: F) -> F:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                try:
                    return await func(*args, **kwargs)
                finally:
                    flush(timeout)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            finally:
                flush(timeout)

        return wrapper  # type: ignore[return-value]

    if handler is not None:
        return decorate(handler)
    return decorate
