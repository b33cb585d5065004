"""The protocol every output shares."""

from __future__ import annotations

from typing import Any, Protocol

from ..capture.frame import Frame
from ..detections import Detections


class Sink(Protocol):
    """Receives every processed frame on the post-processing thread; must return quickly.

    ``write_events`` receives the tracker's events of that frame (``new``/``update``/``end``) right after
    ``write_frame``; ``summary`` returns the sink's counters for the run summary, keyed by the sink's name
    (``{"mqtt": {...}}``), or ``{}``.
    """

    def write_frame(self, frame: Frame, detections: Detections) -> None: ...

    def write_events(self, frame: Frame, events: list[Any]) -> None: ...

    def summary(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


class SinkBase:
    """Defaults for sinks that care only about frames."""

    def write_events(self, frame: Frame, events: list[Any]) -> None:
        return None

    def summary(self) -> dict[str, Any]:
        return {}

    def close(self) -> None:
        return None
