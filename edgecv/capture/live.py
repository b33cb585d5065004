"""A live source: a camera or stream read by a grabber thread, handed out newest-first."""

from __future__ import annotations

import logging

from edgecv.capture.base import CaptureDevice, SourceBase
from edgecv.capture.grabber import Backoff, LatestFrameGrabber
from edgecv.capture.pacing import Pacer
from edgecv.capture.stats import SourceStats
from edgecv.config.sections import SourceConfig
from edgecv.errors import SourceError
from edgecv.frame import Frame

log = logging.getLogger(__name__)


class LiveSource(SourceBase):
    """Frames from ``device`` as they happen; a reader slower than the device gets the newest one.

    ``max_fps`` makes ``read`` wait for its next slot and then take the newest frame, so frames in between are
    skipped (and counted in ``stats.dropped``) while the one handed out is as fresh as possible.
    """

    live = True

    def __init__(self, device: CaptureDevice, config: SourceConfig, source_id: str = "0") -> None:
        self.name = device.name
        self.source_id = source_id
        self.stats = SourceStats()
        self._device = device
        self._config = config
        self._pacer = Pacer(config.max_fps)
        self._grabber: LatestFrameGrabber | None = None
        self._last_id = 0
        self._closed = False

    def open(self) -> None:
        if self._closed:
            raise SourceError(
                f"{self.name} was closed", "open a new source instead of reopening a closed one"
            )
        if self._grabber is not None:
            return
        # Opened here, not in the thread, so a wrong uri fails at start-up with its own message; with
        # retry_open a service keeps starting and the grabber keeps trying in the background instead.
        opened = True
        try:
            self._device.open()
        except SourceError as exc:
            if not self._config.retry_open:
                raise
            self.stats.failures += 1
            opened = False
            log.warning("%s is not available (%s); retrying in the background", self.name, exc.message)
        self._grabber = LatestFrameGrabber(
            self._device,
            self.stats,
            read_timeout_s=self._config.read_timeout_s,
            backoff=Backoff(
                self._config.reconnect_min_s, self._config.reconnect_max_s, self._config.reconnect_attempts
            ),
            opened=opened,
        )
        self._grabber.start()

    @property
    def lost_since(self) -> float | None:
        """``time.monotonic()`` since which the device has been absent or lost, ``None`` while it delivers."""
        return self._grabber.lost_since if self._grabber is not None else None

    def read(self, timeout: float) -> Frame:
        if self._grabber is None or self._closed:
            raise self._not_open()
        self._pacer.wait()
        frame_id, image, ts, mono = self._grabber.latest(self._last_id, timeout)
        self._last_id = frame_id
        frame = Frame(image=image, seq=self.stats.frames, ts=ts, source_id=self.source_id, mono=mono)
        self.stats.frames += 1
        return frame

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._grabber is not None:
            self._grabber.stop()
        else:
            self._device.close()
