"""JSON lines on stdout, one per processed frame: the default output when no broker is configured.

Registers the sink ``stdout``.
"""

from __future__ import annotations

import contextlib
import json
import sys
from typing import TYPE_CHECKING, Any, TextIO

from ..contracts import detections_json, event_json
from ..detections import Detections
from ..frame import Frame
from ..labels import Labels
from ..track.events import TrackEvent
from .base import SINKS, SinkBase, SinkContext

if TYPE_CHECKING:
    from ..config import Settings


class StdoutSink(SinkBase):
    def __init__(
        self,
        labels: Labels,
        *,
        stream: TextIO | None = None,
        include_empty: bool = True,
        include_skipped: bool = False,
        decimals: int = 2,
        owns_stream: bool = False,
    ) -> None:
        self.labels = labels
        self.stream = stream or sys.stdout
        self.include_empty = include_empty
        self.include_skipped = include_skipped
        self.decimals = decimals
        self.owns_stream = owns_stream  # a file this sink opened, closed with it
        self.lines = 0

    def write_frame(self, frame: Frame, detections: Detections) -> None:
        if frame.skipped:
            # The detector did not look at this frame: no detections, rather than boxes it did not see.
            if self.include_skipped:
                self.write_line(
                    {
                        "type": "frame",
                        "camera": frame.source_id,
                        "seq": frame.seq,
                        "ts": round(frame.ts, 6),
                        "skipped": True,
                        "detections": [],
                    }
                )
            return
        if not len(detections) and not self.include_empty:
            return
        line: dict[str, Any] = {
            "type": "frame",
            "camera": frame.source_id,
            "seq": frame.seq,
            "ts": round(frame.ts, 6),
        }
        line["detections"] = detections_json(detections, self.labels, self.decimals)
        self.write_line(line)

    def write_events(self, frame: Frame, events: list[TrackEvent]) -> None:
        for event in events:
            line: dict[str, Any] = {
                "type": "event",
                "camera": frame.source_id,
                "seq": frame.seq,
                "ts": round(frame.ts, 6),
            }
            line.update(event_json(event, self.labels, self.decimals))
            self.write_line(line)

    def write_line(self, line: dict[str, Any]) -> None:
        self.stream.write(json.dumps(line, separators=(",", ":")) + "\n")
        # Consumers read line by line from a pipe; don't let block buffering hold results back.
        self.stream.flush()
        self.lines += 1

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError, ValueError):
            self.stream.flush()
            if self.owns_stream:
                self.stream.close()


def stdout_enabled(settings: Settings) -> bool:
    """``output.stdout``: ``on``, ``off``, or ``auto``: on unless MQTT publishes (listed and given a host)."""
    mode = settings.output.stdout
    if mode == "auto":
        return "mqtt" not in settings.output.sinks or settings.mqtt.host is None
    return mode == "on"


def build(context: SinkContext) -> StdoutSink | None:
    settings = context.settings
    if not stdout_enabled(settings):
        return None
    return StdoutSink(
        context.labels,
        include_empty=settings.output.include_empty,
        include_skipped=settings.output.include_skipped,
        decimals=settings.output.decimals,
    )


SINKS.register("stdout", build)
