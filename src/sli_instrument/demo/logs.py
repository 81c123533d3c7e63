"""Keeps library warnings off the demo's screen while it runs, and sums them up afterwards."""

from __future__ import annotations

import logging
from typing import TextIO


class CapturedLogs(logging.Handler):
    """Keeps library warnings (a collector that went away...) off the live view; summarized after.

    The OpenTelemetry exporter logs every failed export; on a redrawn screen those lines would
    tear the view apart, and in a pipe they would bury the table.
    """

    def __init__(self, *names: str) -> None:
        super().__init__(logging.WARNING)
        self._loggers = [logging.getLogger(name) for name in names]
        self._saved: list[bool] = []
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.messages) < 1000:
            self.messages.append(f"{record.name}: {record.getMessage()}")

    def __enter__(self) -> CapturedLogs:
        for logger in self._loggers:
            self._saved.append(logger.propagate)
            logger.propagate = False
            logger.addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        for logger, propagate in zip(self._loggers, self._saved):
            logger.removeHandler(self)
            logger.propagate = propagate

    def summarize(self, err: TextIO) -> None:
        if not self.messages:
            return
        last = " ".join(self.messages[-1].split())
        last = last if len(last) <= 300 else last[:297] + "..."
        print(
            f"demo: {len(self.messages)} warning(s) from the libraries during the run; "
            f"the last: {last}",
            file=err,
            flush=True,
        )
