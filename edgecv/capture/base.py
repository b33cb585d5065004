"""The small protocols every frame source and capture device speaks.

A *source* is what the run loop reads ``Frame`` objects from. A *device* is the thing behind a live source
(an OpenCV capture, a Pi camera): it only knows how to open, grab one image and close. The reconnect and
latest-frame logic lives once, in :mod:`edgecv.capture.grabber`, and works with any device.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Protocol, TypeVar

import numpy as np

from edgecv.capture.stats import SourceStats
from edgecv.errors import SourceError
from edgecv.frame import Frame


class FrameTimeout(SourceError):
    """No new frame from a live source within the ``read`` timeout.

    Not the end of anything: the source may be reconnecting in the background, so read again (the run loop
    uses the pause to check for shutdown). ``read`` returns ``None`` only for a clean end, and raises plain
    ``SourceError`` only when a live source is lost for good. Catch ``FrameTimeout`` before ``SourceError``.
    """


class FrameSource(Protocol):
    """Where frames come from.

    ``open`` raises :class:`SourceError` with a message a person can act on. ``read(timeout)`` returns the
    next frame, ``None`` once the source has ended (a file or folder without ``loop``; every later call
    returns ``None`` again), raises :class:`FrameTimeout` when a live source had no new frame within
    ``timeout`` seconds, and :class:`SourceError` when a live source is lost beyond recovery. Files and
    folders never time out: their reads are local. ``close`` is idempotent and stops any capture thread
    promptly. ``with source:`` opens it (when not open yet) and closes it on the way out; sources get that
    from :class:`SourceBase`.
    """

    name: str  # for logs and errors; stream credentials are masked
    source_id: str  # the name of the camera it serves, stamped on every frame; outputs' "camera"
    live: bool  # True: frames arrive in real time and are skipped when the reader is slower
    stats: SourceStats

    @property
    def lost_since(self) -> float | None:
        """``time.monotonic()`` since which a live source has had no device, ``None`` while it delivers.

        Read by the service watchdog from its own thread; sources that cannot be lost (files) keep ``None``.
        """
        ...

    def open(self) -> None: ...

    def read(self, timeout: float) -> Frame | None: ...

    def close(self) -> None: ...

    def __enter__(self) -> FrameSource: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


_Source = TypeVar("_Source", bound="SourceBase")


class SourceBase(ABC):
    """What every built-in source shares: the context-manager methods, and a ``lost_since`` that stays
    ``None`` (live sources override it). A base class, not part of the protocol, so that the protocol stays
    a description only."""

    name: str

    @property
    def lost_since(self) -> float | None:
        return None

    def _not_open(self) -> SourceError:
        """The error of a read before :meth:`open` (or after :meth:`close`)."""
        return SourceError(f"{self.name} is not open", "call open() first")

    @abstractmethod
    def open(self) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self: _Source) -> _Source:
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
