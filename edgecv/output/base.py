"""The protocol every output shares."""

from __future__ import annotations

from typing import Protocol

from ..capture.frame import Frame
from ..detections import Detections


class Sink(Protocol):
    """Receives every processed frame on the post-processing thread; must return quickly."""

    def write_frame(self, frame: Frame, detections: Detections) -> None: ...

    def close(self) -> None: ...
