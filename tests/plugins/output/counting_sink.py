"""A plug-in sink written exactly as "How to add a sink" in :mod:`edgecv.output` says, one file.

tests/test_plugins.py drops it into the ``edgecv.output`` package path of a real ``edgecv run``: listed in
``output.sinks`` (``[stdout, toy]``) it adds ``{"toy": {"frames": …, "detections": …, "events": …}}`` to
the summary.
"""

from __future__ import annotations

from typing import Any

from edgecv.detections import Detections
from edgecv.frame import Frame
from edgecv.output.base import SINKS, SinkContext
from edgecv.track.events import TrackEvent


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
