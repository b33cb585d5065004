"""Heartbeats the run loop leaves for whoever watches it (the service watchdog)."""

from __future__ import annotations

import time


class Heartbeats:
    """When each part of the loop last moved, in ``time.monotonic()`` seconds.

    Plain attributes written by the loop's threads and read by a watchdog thread: each write is one store,
    atomic under the GIL, so the hot path takes no lock. ``None`` means "not yet" (or, for
    ``inference_started``, "no inference running").
    """

    def __init__(self) -> None:
        self.started: float | None = None  # the loop began running
        self.frame: float | None = None  # a frame was last read from any source
        self.inference_started: float | None = None  # the inference now running began

    def inference_age(self, now: float | None = None) -> float:
        """Seconds the current inference has run, 0 when none is running."""
        started = self.inference_started
        return 0.0 if started is None else (time.monotonic() if now is None else now) - started
