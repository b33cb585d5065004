"""The JSON that edgecv prints: one pydantic model per message, the single source of the wire spec.

Per-frame lines are built by :func:`detections_json` for speed (no model instance per object); a test
checks that what it builds validates against these models, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from .detections import Detections
from .labels import Labels
from .track.events import TrackEvent

CAMERA_ABOUT = (
    "The camera's name: a key of the cameras map, or mqtt.camera (default cam0) for the one-camera shorthand."
)


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DetectionJson(Contract):
    label: str = Field(description="Class name; class_<id> when the model has no name for it.")
    class_id: int = Field(description="The model's own class index.")
    score: float = Field(ge=0, le=1, description="Confidence of the detection.")
    box: list[float] = Field(
        min_length=4,
        max_length=4,
        description="[x1, y1, x2, y2] in pixels of the original image, clipped to it.",
    )
    track_id: int | None = Field(
        None, description="Id of the confirmed track this box belongs to (with tracking)."
    )


class FrameJson(Contract):
    """One line of ``edgecv run`` per processed frame."""

    type: Literal["frame"] = "frame"
    camera: str = Field(description=CAMERA_ABOUT)
    seq: int = Field(ge=0, description="Frame number within its camera, from 0.")
    ts: float = Field(description="Capture time, epoch seconds.")
    skipped: bool = Field(
        False,
        description="Present (true) only on a frame the detector skipped (motion gating or the camera's "
        "detect switch), printed with output.include_skipped; its detections are then empty: the tracks "
        "held their last boxes, see the latest frame that has them.",
    )
    detections: list[DetectionJson]


class EventJson(Contract):
    """One line of ``edgecv run`` per track event (with tracking on)."""

    type: Literal["event"] = "event"
    event: Literal["new", "update", "end"] = Field(
        description="new: confirmed; update: moved, rescored or reclassified; end: lost for good."
    )
    camera: str = Field(description=CAMERA_ABOUT)
    seq: int = Field(ge=0, description="Frame (within its camera) that produced the event.")
    ts: float = Field(description="Capture time of that frame, epoch seconds.")
    track_id: int = Field(ge=0, description="Unique within the run, across its cameras; never reused.")
    label: str
    class_id: int
    score: float = Field(ge=0, le=1, description="Latest score.")
    top_score: float = Field(ge=0, le=1, description="Best score the track ever had.")
    box: list[float] = Field(
        min_length=4, max_length=4, description="Latest [x1, y1, x2, y2], source pixels."
    )
    first_seen: float = Field(description="Capture time of the first sighting, epoch seconds.")
    last_seen: float = Field(description="Capture time of the latest sighting, epoch seconds.")
    age: float = Field(
        ge=0,
        description="Seconds between the first and the latest sighting, on the monotonic clock: "
        "last_seen - first_seen unless the wall clock was set in between (then it shows the step, not this).",
    )


class StageJson(Contract):
    mean: float = Field(description="Mean milliseconds.")
    p95: float = Field(description="95th percentile milliseconds.")


class CameraSummaryJson(Contract):
    """One camera of ``--summary-json``'s ``cameras``."""

    frames: int = Field(ge=0, description="Frames of this camera processed (inferred or skipped).")
    fps: float = Field(ge=0, description="Its frames per second over the run.")
    dropped_frames: int = Field(
        ge=0, description="Frames it captured but never inferred (a newer one was taken instead)."
    )
    skipped_frames: int = Field(
        ge=0,
        description="Of its frames, those the detector skipped (motion gating: nothing moved; or its detect "
        "switch off). Counted in frames.",
    )
    reconnects: int = Field(ge=0, description="Times its live source came back after a loss.")
    source_failures: int = Field(ge=0, description="Failed reads and (re)opens of its source.")
    error: str | None = Field(description="Why its source failed for good, if it did.")


class RunSummaryJson(Contract):
    """``edgecv run --summary-json`` (later features add keys)."""

    model_config = ConfigDict(extra="allow")

    frames: int = Field(description="Frames processed (inferred, decoded and output, or skipped and output).")
    fps: float = Field(description="Frames per second over the run, first frame in to last frame out.")
    dropped_frames: int = Field(description="Frames a live source captured but replaced before inference.")
    skipped_frames: int = Field(
        description="Frames the detector skipped (motion gating or a camera's detect switch), over the cameras."
    )
    peak_rss_mb: float = Field(description="Peak resident memory of the process, MiB.")
    stages_ms: dict[str, StageJson] = Field(description="Per-stage timings.")
    cameras: dict[str, CameraSummaryJson] = Field(
        description="Each camera's share, by name (one entry for the one-camera shorthand); the keys above "
        "are totals over the cameras."
    )


def event_json(event: TrackEvent, labels: Labels, decimals: int = 2) -> dict:
    """A :class:`TrackEvent` → the fields of :class:`EventJson` it owns (callers add type/camera/seq/ts)."""
    return {
        "event": event.kind,
        "track_id": event.track_id,
        "label": labels.name(event.class_id),
        "class_id": event.class_id,
        "score": round(float(event.score), 4),
        "top_score": round(float(event.top_score), 4),
        "box": np.round(np.asarray(event.box, np.float64), decimals).tolist(),
        "first_seen": round(event.first_seen, 6),
        "last_seen": round(event.last_seen, 6),
        "age": round(event.age, 3),
    }


def detections_json(detections: Detections, labels: Labels, decimals: int = 2) -> list[dict]:
    """Detections → list of JSON-ready dicts (the ``detections`` array of every contract above)."""
    n = len(detections)
    if n == 0:
        return []
    names = labels.names_for(detections.class_ids)
    class_ids = detections.class_ids.tolist()
    scores = np.round(detections.scores.astype(np.float64), 4).tolist()
    boxes = np.round(detections.boxes.astype(np.float64), decimals).tolist()
    if detections.track_ids is None:
        return [
            {"label": names[i], "class_id": class_ids[i], "score": scores[i], "box": boxes[i]}
            for i in range(n)
        ]
    track_ids = detections.track_ids.tolist()
    return [
        {
            "label": names[i],
            "class_id": class_ids[i],
            "score": scores[i],
            "box": boxes[i],
            **({"track_id": track_ids[i]} if track_ids[i] >= 0 else {}),
        }
        for i in range(n)
    ]
