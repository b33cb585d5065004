"""Holding a reader to ``max_fps``."""

from __future__ import annotations

import time
from collections.abc import Callable


class Pacer:
    """Sleeps just enough that ``wait()`` returns at most ``max_fps`` times per second.

    The next slot is counted from when the caller actually arrived, not from the previous slot, so a reader
    that fell behind (a slow inference) is not allowed to catch up in a burst: the rate is a ceiling, never a
    quota to make up.
    """

    def __init__(
        self,
        max_fps: float | None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._period = 1.0 / max_fps if max_fps else None
        self._clock = clock
        self._sleep = sleep
        self._next: float | None = None

    def wait(self) -> None:
        if self._period is None:
            return
        now = self._clock()
        if self._next is not None and now < self._next:
            self._sleep(self._next - now)
            now = self._next
        self._next = now + self._period
