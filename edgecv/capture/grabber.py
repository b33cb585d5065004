"""A thread that keeps only the newest frame of a live device, and reconnects it when it is lost."""

from __future__ import annotations

import logging
import threading
import time

import numpy as np

from edgecv.capture.base import CaptureDevice, FrameTimeout
from edgecv.capture.stats import SourceStats
from edgecv.errors import SourceError
from edgecv.frame import stamp

log = logging.getLogger(__name__)


class Backoff:
    """Delays before reopen attempts: ``min_s``, doubling up to ``max_s``; ``None`` once attempts run out."""

    def __init__(self, min_s: float, max_s: float, attempts: int | None = None) -> None:
        self.min_s = min_s
        self.max_s = max_s
        self.attempts = attempts  # None: forever, as a service that must outlive a camera reboot wants
        self.made = 0

    def next_delay(self) -> float | None:
        if self.attempts is not None and self.made >= self.attempts:
            return None
        delay = min(self.min_s * 2**self.made, self.max_s)
        self.made += 1
        return delay

    def reset(self) -> None:
        self.made = 0


class LatestFrameGrabber:
    """Reads ``device`` as fast as it delivers and keeps one slot holding the newest image.

    Why one slot and not a queue: a detector slower than the camera would otherwise fall further behind with
    every frame, and a live view seconds late is worse than one at a lower rate. A frame replaced before the
    reader took it is counted in ``stats.dropped``.

    Loss: failed reads are retried for ``read_timeout_s`` (one bad grab from a USB camera is not an outage);
    after that the device is closed and reopened after ``Backoff`` delays. A reopen only counts as recovered
    once a frame arrives, so a device that opens but stays dark keeps consuming attempts instead of resetting
    them. ``stats.failures`` counts failed reads and failed opens, ``stats.reconnects`` recoveries,
    ``stats.outages`` how long each loss lasted (last good frame to first frame after it).

    The device must already be open when ``start`` is called (so the caller sees open errors directly), unless
    ``opened=False``: then the thread starts by reopening it with backoff (a camera absent at service start).
    From then on only the grabber thread touches it, and closes it when it exits.
    """

    def __init__(
        self,
        device: CaptureDevice,
        stats: SourceStats,
        *,
        read_timeout_s: float,
        backoff: Backoff,
        opened: bool = True,
    ) -> None:
        self._device = device
        self._opened = opened
        self._stats = stats
        self._read_timeout_s = read_timeout_s
        self._backoff = backoff
        # Pause between retries of a failed read: a dead device often fails instantly, and spinning on it
        # would burn the core the detector needs.
        self._retry_pause_s = min(0.1, read_timeout_s / 4)
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._image: np.ndarray | None = None
        self._ts = 0.0
        self._mono = 0.0
        self._id = 0  # increments with every captured frame; readers ask for one newer than they have
        self._taken = True
        self._error: SourceError | None = None
        self._thread: threading.Thread | None = None
        # monotonic time since which the device has delivered nothing (None while frames flow); read by
        # watchdogs from other threads, so a plain attribute swapped whole.
        self.lost_since: float | None = None if opened else time.monotonic()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        # Daemon: a thread stuck inside a driver call must never keep the process from exiting.
        self._thread = threading.Thread(target=self._run, name=f"grab {self._device.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> bool:
        """Ask the thread to stop and wait up to ``timeout`` s; ``False`` if it is still stuck in a read.

        A stuck thread is left to finish its read and close the device itself: closing a device from
        another thread while a read is in progress crashes some drivers.
        """
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is None:
            self._device.close()
            return True
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning(
                "capture thread for %s did not stop within %.1f s; leaving it", self._device.name, timeout
            )
            return False
        return True

    def latest(self, after: int, timeout: float) -> tuple[int, np.ndarray, float, float]:
        """The newest frame newer than id ``after``: ``(id, image, capture ts, capture mono)``.

        Raises :class:`FrameTimeout` when none comes within ``timeout`` s, :class:`SourceError` once the
        device is lost for good (a frame captured before that is still handed out first).
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._id <= after or self._image is None:
                if self._error is not None:
                    raise self._error
                if self._stop.is_set() or (self._thread is not None and not self._thread.is_alive()):
                    raise SourceError(f"capture of {self._device.name} has stopped", "the source was closed")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise FrameTimeout(
                        f"no new frame from {self._device.name} within {timeout:g} s",
                        "it may be reconnecting; read again",
                    )
                self._cond.wait(remaining)
            self._taken = True
            return self._id, self._image, self._ts, self._mono

    def _run(self) -> None:
        try:
            self._capture()
        except Exception as exc:  # a driver bug must end the source loudly, not leave a silent dead thread
            log.exception("capture thread for %s failed", self._device.name)
            self._fail(
                SourceError(f"capture of {self._device.name} failed: {exc}", "see the log for details")
            )
        finally:
            self._device.close()
            with self._cond:
                self._cond.notify_all()

    def _capture(self) -> None:
        last_good = time.monotonic()
        lost_at: float | None = None
        if not self._opened:
            lost_at = last_good
            if not self._reopen():
                return
            last_good = time.monotonic()
        while not self._stop.is_set():
            image = self._read()
            # Both clocks at the moment the image arrived: ts for payloads, now (monotonic) for durations.
            ts, now = stamp()
            if image is not None:
                if lost_at is not None:
                    self._stats.reconnects += 1
                    self._stats.outages.append(now - lost_at)
                    log.info("%s is back after %.1f s", self._device.name, now - lost_at)
                    lost_at = None
                    self.lost_since = None
                    self._backoff.reset()
                last_good = now
                self._publish(image, ts, now)
                continue
            self._stats.failures += 1
            if now - last_good < self._read_timeout_s:
                self._stop.wait(self._retry_pause_s)
                continue
            if lost_at is None:
                lost_at = self.lost_since = last_good
                log.warning("lost %s: no frame for %.1f s; reconnecting", self._device.name, now - last_good)
            if not self._reopen():
                return
            # Give the reopened device a full read timeout to deliver its first frame.
            last_good = time.monotonic()

    def _read(self) -> np.ndarray | None:
        try:
            return self._device.read()
        except (
            Exception
        ) as exc:  # adapters should return None, but a raising driver is still just a failed read
            log.debug("read from %s failed: %s", self._device.name, exc)
            return None

    def _reopen(self) -> bool:
        """Close and reopen the device with backoff; ``False`` when stopping or out of attempts."""
        last_error = "no frames"
        while True:
            self._device.close()
            delay = self._backoff.next_delay()
            if delay is None:
                self._fail(
                    SourceError(
                        f"lost {self._device.name} and could not get it back after {self._backoff.made} "
                        f"reconnect attempts (last: {last_error})",
                        "check the camera, cable or network; "
                        "unset source.reconnect_attempts to retry forever",
                    )
                )
                return False
            if self._stop.wait(delay):
                return False
            try:
                self._device.open()
            except Exception as exc:  # any open failure is one failed attempt, not a dead thread
                self._stats.failures += 1
                last_error = str(exc)
                log.warning("reopening %s failed: %s", self._device.name, last_error)
                continue
            return True

    def _publish(self, image: np.ndarray, ts: float, mono: float) -> None:
        with self._cond:
            if not self._taken:
                self._stats.dropped += 1
            self._image = image
            self._ts = ts
            self._mono = mono
            self._id += 1
            self._taken = False
            self._cond.notify_all()

    def _fail(self, error: SourceError) -> None:
        # Not logged here: the reader raises it, and the CLI prints it as its one-line error.
        with self._cond:
            self._error = error
            self._cond.notify_all()
