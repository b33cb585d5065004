"""A counting sink: frames, detections and track events of the run, reported in the run summary.

Listed in ``output.sinks`` (``[stdout, toy]``) it adds ``{"toy": {"frames": …, "detections": …,
"events": …}}`` to the summary. Also the worked example of a sink that lives in one file (see "How to add
a sink" in :mod:`edgecv.output`).
"""

from __future__ import annotations

from typing import Any

from ..detections import Detections
from ..frame import Frame
from ..track.events import TrackEvent
from .base import SINKS, SinkContext


class CountingSink:
    def __init__(self) -> None:
        self.frames = 0
        self.detections = 0
        self.events = 0

    def write_frame(self, frame: Frame, detections: Detections) -> None:
        self.frames += 1
        self.detections += len(detections)

    def write_events(self, frame: Frame, events: list[TrackEvent]) -> None:
        self.events += len(events)

    def summary(self) -> dict[str, Any]:
        return {"toy": {"frames": self.frames, "detections": self.detections, "events": self.events}}

    def close(self) -> None:
        return None


def build(context: SinkContext) -> CountingSink:
    return CountingSink()


SINKS.register("toy", build)
