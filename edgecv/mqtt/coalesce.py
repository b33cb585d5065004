"""Work that may be asked for often but is worth doing at most once per interval per key, newest wins: the
retained zone and line topics (a burst of crossings must not flood the broker or Home Assistant) and the
line totals file (an fsync per crossing would cost the SD card).

An action is a callable that reads the state it publishes or writes when it runs, so running the latest
request is the same as running them all. The first request for a key after a quiet interval runs at once
(no added latency for a single change); later ones within the interval run together at its end. Actions run
on the coalescer's own thread, so the pipeline's post thread never waits for a file or a lock of the network.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

Action = Callable[[], None]

# A zone's or line's retained topic changes at most this often (the newest value wins): a burst of crossings
# must not flood the broker and Home Assistant's recorder. The first change after a quiet second goes at once.
SCENE_MIN_INTERVAL_S = 1.0


class Coalescer:
    """Runs each key's latest action at most once per ``interval_s``, on a thread of its own."""

    def __init__(self, interval_s: float, name: str = "edgecv-coalesce") -> None:
        self.interval_s = interval_s
        self._pending: dict[str, tuple[float, Action]] = {}  # key -> (due, monotonic; action)
        self._last_run: dict[str, float] = {}
        self._wake = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def request(self, key: str, action: Action, *, now: bool = False) -> None:
        """Run ``action`` for ``key`` when the key's interval allows (``now``: at once, whatever ran last),
        replacing a request still waiting for the same key."""
        with self._wake:
            if self._stopped:
                return
            at = time.monotonic()
            due = at if now else max(at, self._last_run.get(key, -self.interval_s) + self.interval_s)
            waiting = self._pending.get(key)
            if waiting is not None and not now:
                due = waiting[0]  # an earlier request set the time; only the action is newer
            self._pending[key] = (due, action)
            self._wake.notify()

    def _due(self, at: float) -> list[tuple[str, Action]]:
        ready = [(key, action) for key, (due, action) in self._pending.items() if due <= at]
        for key, _ in ready:
            del self._pending[key]
            self._last_run[key] = at
        return ready

    def _run(self) -> None:
        while True:
            with self._wake:
                if self._stopped:
                    return
                at = time.monotonic()
                ready = self._due(at)
                if not ready:
                    next_due = min((due for due, _ in self._pending.values()), default=None)
                    self._wake.wait(None if next_due is None else max(0.0, next_due - at))
                    continue
            for key, action in ready:
                _call(key, action)

    def close(self) -> None:
        """Stop the thread, then run what is still waiting, here and now (the final values go out)."""
        with self._wake:
            self._stopped = True
            self._wake.notify()
        self._thread.join()
        with self._wake:
            waiting = [(key, action) for key, (_, action) in self._pending.items()]
            self._pending.clear()
        for key, action in waiting:
            _call(key, action)


def _call(key: str, action: Action) -> None:
    try:
        action()
    except Exception:  # one failed publish or write must not end the thread that runs all of them
        log.exception("mqtt: updating %s failed", key)
