"""Our own faults never reach the application: they are logged once per kind and dropped.

"Once per kind" is rate-limited rather than once forever, so a fault that persists for hours is
still visible in the logs (once every ``INTERVAL`` seconds, with the number of repeats suppressed).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Final

logger: Final = logging.getLogger("sli_instrument")

INTERVAL: Final = 60.0

_lock = threading.Lock()
_last: dict[str, float] = {}
_suppressed: dict[str, int] = {}


def report_internal_error(kind: str, exc: BaseException | None = None) -> None:
    """Log an internal fault of ``kind`` at most once per ``INTERVAL``; never raises."""
    try:
        now = time.monotonic()
        with _lock:
            last = _last.get(kind)
            if last is not None and now - last < INTERVAL:
                _suppressed[kind] = _suppressed.get(kind, 0) + 1
                return
            _last[kind] = now
            repeats = _suppressed.pop(kind, 0)
        suffix = f" ({repeats} similar errors suppressed)" if repeats else ""
        logger.error(
            "sli_instrument internal error (%s); the event is dropped, the application is "
            "unaffected%s",
            kind,
            suffix,
            exc_info=(type(exc), exc, exc.__traceback__) if exc is not None else None,
        )
    except Exception:  # pragma: no cover - logging itself failed; there is nothing left to do
        pass


def reset_error_log() -> None:
    """Forget which kinds were logged (for tests)."""
    with _lock:
        _last.clear()
        _suppressed.clear()
