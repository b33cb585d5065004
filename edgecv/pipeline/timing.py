"""Per-stage timings kept in fixed-size ring buffers: constant memory however long the service runs."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

WINDOW = 4096  # recent samples per stage: enough for a stable p95, bounded for months-long runs


class StageTimes:
    """Thread-safe: each stage is written by one thread, read by whoever reports."""

    def __init__(self, window: int = WINDOW) -> None:
        self._window = window
        self._samples: dict[str, np.ndarray] = {}
        self._counts: dict[str, int] = {}
        self._totals: dict[str, float] = {}
        self._lock = threading.Lock()

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            buffer = self._samples.get(stage)
            if buffer is None:
                buffer = self._samples[stage] = np.zeros(self._window, np.float64)
                self._counts[stage] = 0
                self._totals[stage] = 0.0
            buffer[self._counts[stage] % self._window] = seconds
            self._counts[stage] += 1
            self._totals[stage] += seconds

    @contextmanager
    def time(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - start)

    def samples_since(self, stage: str, count: int) -> tuple[np.ndarray, int]:
        """The samples of ``stage`` added after the first ``count`` (at most the window's worth), and the
        count now: a reader that keeps the count folds every sample in once (/metrics' histogram)."""
        with self._lock:
            total = self._counts.get(stage, 0)
            new = min(total - count, self._window)
            if new <= 0:
                return np.zeros(0, np.float64), total
            positions = np.arange(total - new, total) % self._window
            return self._samples[stage][positions].copy(), total

    def summary_ms(self) -> dict[str, dict[str, float]]:
        """``{stage: {"mean": ms, "p95": ms}}``; the mean is over the whole run, p95 over the window."""
        with self._lock:
            out = {}
            for stage, buffer in self._samples.items():
                count = self._counts[stage]
                recent = buffer[: min(count, self._window)]
                out[stage] = {
                    "mean": round(self._totals[stage] / count * 1000, 3),
                    "p95": round(float(np.percentile(recent, 95)) * 1000, 3),
                }
            return out
