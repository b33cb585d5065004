"""Scene events (a track entered or left a zone, stayed in one, crossed a line) and their JSON contract.

Scene events carry no box and no score: they say where a track is relative to a rule, and a subscriber that
wants the box has the track's own events and frame lines for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..labels import Labels

SceneEventKind = Literal["zone_enter", "zone_exit", "loiter", "line_cross"]
Direction = Literal["in", "out"]


@dataclass(frozen=True)
class SceneEvent:
    """One event of one track at one rule; ``rule`` is the zone's or the line's name."""

    kind: SceneEventKind
    track_id: int
    class_id: int
    rule: str
    ts: float  # capture time of the frame that produced it, epoch seconds (wall clock, for payloads)
    direction: Direction | None = None  # line_cross only


class SceneEventJson(BaseModel):
    """One line of ``edgecv run`` (and one message on the events topic) per scene event."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["event"] = "event"
    event: SceneEventKind = Field(
        description="zone_enter / zone_exit: a confirmed track's anchor has been inside / outside the zone for "
        "its inertia_s; loiter: it has stayed loiter_s (once per stay); line_cross: it crossed the line."
    )
    camera: str = Field(description="The camera whose rule fired.")
    track_id: int = Field(ge=0, description="The track's id, as in frame lines and track events.")
    label: str = Field(description="The track's class name (at the crossing, or when it entered the zone).")
    zone: str | None = Field(None, description="The zone's name (zone events only).")
    line: str | None = Field(None, description="The line's name (line_cross only).")
    direction: Direction | None = Field(
        None,
        description="line_cross only: in = to the side where (x2-x1)(y-y1) - (y2-y1)(x-x1) > 0 (for a line "
        "drawn top to bottom, towards the left of the image); out = the other way.",
    )
    ts: float = Field(description="Capture time of the frame that produced the event, epoch seconds.")


def scene_event_json(event: SceneEvent, camera: str, labels: Labels) -> dict[str, Any]:
    """The plain dict of :class:`SceneEventJson` for ``event`` (tests validate it against the model)."""
    out: dict[str, Any] = {
        "type": "event",
        "event": event.kind,
        "camera": camera,
        "track_id": event.track_id,
        "label": labels.name(event.class_id),
    }
    if event.kind == "line_cross":
        out["line"] = event.rule
        out["direction"] = event.direction
    else:
        out["zone"] = event.rule
    out["ts"] = event.ts
    return out
