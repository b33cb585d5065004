"""The small protocols every frame source and capture device speaks.

A *source* is what the run loop reads ``Frame`` objects from. A *device* is the thing behind a live source
(an OpenCV capture, a Pi camera): it only knows how to open, grab one image and close. The reconnect and
latest-frame logic lives once, in :mod:`edgecv.capture.grabber`, and works with any device.
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol

import numpy as np

from edgecv.capture.frame import Frame, SourceStats
from edgecv.errors import SourceError


class FrameTimeout(SourceError):
    """No new frame from a live source within the ``read`` timeout.

    Not the end of anything: the source may be reconnecting in the background, so read again (the run loop
    uses the pause to check for shutdown). ``read`` returns ``None`` only for a clean end, and raises plain
    ``SourceError`` only when a live source is lost for good. Catch ``FrameTimeout`` before ``SourceError``.
    """


class FrameSource(Protocol):
    """Where frames come from. Sources may subclass this to inherit the context-manager methods.

    ``open`` raises :class:`SourceError` with a message a person can act on. ``read(timeout)`` returns the
    next frame, ``None`` once the source has ended (a file or folder without ``loop``; every later call
    returns ``None`` again), raises :class:`FrameTimeout` when a live source had no new frame within
    ``timeout`` seconds, and :class:`SourceError` when a live source is lost beyond recovery. Files and
    folders never time out: their reads are local. ``close`` is idempotent and stops any capture thread
    promptly. ``with source:`` opens it (when not open yet) and closes it on the way out.
    """

    name: str  # for logs and errors; stream credentials are masked
    live: bool  # True: frames arrive in real time and are skipped when the reader is slower
    stats: SourceStats

    def open(self) -> None: ...

    def read(self, timeout: float) -> Frame | None: ...

    def close(self) -> None: ...

    def __enter__(self) -> FrameSource:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class CaptureDevice(Protocol):
    """The hardware (or stream) behind a live source, driven only from the grabber thread.

    ``open`` raises :class:`SourceError` when the device cannot be opened; ``read`` blocks until the next
    image (BGR uint8 ``H×W×3``, a new array each time: it is handed on while the next one is captured) and
    returns ``None`` when that failed; ``close`` releases the device, never raises and may be called twice.
    The grabber calls ``close`` then ``open`` again to reconnect, so ``open`` must work after ``close``.
    """

    name: str

    def open(self) -> None: ...

    def read(self) -> np.ndarray | None: ...

    def close(self) -> None: ...
