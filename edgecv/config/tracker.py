"""The ``tracker`` section: association thresholds, track lifetimes (in seconds), gating and events."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .sections import Section


class GateConfig(Section):
    """When a confirmed track becomes reportable (gets a ``new`` event): Frigate's false-positive rule."""

    min_score: float = Field(
        0.6,
        ge=0,
        le=1,
        description="The median of the track's recent scores must reach this. Raise it to silence flickering "
        "false positives; lower it for small or distant objects that never score high.",
    )
    min_hits: int = Field(
        3,
        ge=1,
        le=1000,
        description="The track must have been matched in at least this many frames. Higher delays 'new' "
        "events and drops short-lived ghosts.",
    )


class EventsConfig(Section):
    """When a reportable track earns an ``update`` event: only on meaningful change, and rate-limited."""

    min_move: float = Field(
        0.5,
        gt=0,
        description="Moved by more than this fraction of its size (box centre vs the last event's, relative "
        "to the box's larger side).",
    )
    min_score_change: float = Field(
        0.2, gt=0, le=1, description="Score changed by more than this since the last event."
    )
    min_interval_s: float = Field(
        1.0,
        ge=0,
        description="At most one update per track per this many seconds (class changes included).",
    )


class TrackerConfig(Section):
    enabled: bool = Field(
        True, description="Track objects across frames: track ids on frame lines and track events."
    )
    # high_score is in the detector's own score scale, so it was chosen on all three detectors at hand
    # (BENCHMARKS.md "Tracking"): the seven MOT15 sequences' Faster R-CNN detections, where most boxes
    # scored under 0.9 are false, gain MOTA steadily as it rises (0.343 at 0.5, 0.355 at 0.65, 0.367 at
    # 0.8, at native rate; the same at 5 fps; IDF1 within 0.01); the whole pipeline on TUD-Campus peaks at
    # 0.65 with YOLOv8n (MOTA 0.604 / 0.649 / 0.535 at 0.5 / 0.65 / 0.8) and falls from 0.5 with SSD
    # MobileNet v1, whose people score 0.4-0.8 (0.602 / 0.538 / 0.301). 0.65 keeps every MOT15 figure at
    # least 0.02 above the best peer's (0.01 at 0.5) and YOLOv8n at its best; the SSD family's own default
    # (ModelFamily.track_high_score) is 0.5, used while this key is left unset.
    high_score: float = Field(
        0.65,
        ge=0,
        le=1,
        description="Detections at or above this score are matched first, against the tracks in view and then "
        "the lost ones (ByteTrack's first stage). Lower follows weak objects and lets more false "
        "detections through. In the detector's own score scale: left unset, SSD models use 0.5 (they score "
        "people lower than YOLO does) and every other model 0.65.",
    )
    low_score: float = Field(
        0.1,
        ge=0,
        le=1,
        description="Detections between this and high_score only extend tracks seen in the previous frame "
        "(second stage): they keep an occluded object's id without starting new tracks.",
    )
    new_track_score: float = Field(
        0.7,
        ge=0,
        le=1,
        description="An unmatched detection starts a track only at or above this score: starting a track "
        "takes more evidence than extending one (ByteTrack's MOT17 setting: high_score + 0.1 to 0.2).",
    )
    match_iou: float = Field(
        0.2,
        ge=0,
        le=1,
        description="Minimum IoU between a track's predicted box and a high-score detection. Lower keeps fast "
        "or jerky objects; higher avoids swaps in crowds.",
    )
    low_match_iou: float = Field(
        0.5, ge=0, le=1, description="Minimum IoU for the second stage (low-score detections)."
    )
    class_consistent: bool = Field(
        True,
        description="Match tracks only to detections of the same class. Off: a track may change class "
        "(the detector hesitating between car and truck) and emits an update when it does.",
    )
    confirm_hits: int = Field(
        2,
        ge=1,
        le=100,
        description="A new track is tentative (no id reported) until matched in this many consecutive frames.",
    )
    lost_s: float = Field(
        1.0,
        gt=0,
        description="Seconds a confirmed track survives unseen (occlusion) before it ends. In seconds of "
        "frame timestamps, so dropped frames do not shorten it; lost_frames sets a floor in frames.",
    )
    lost_frames: int = Field(
        10,
        ge=0,
        le=10_000,
        description="A lost track also survives at least this many missed frames, however long they last: "
        "the lost window is max(lost_s, lost_frames frames). At 5 fps lost_s = 1 alone leaves five "
        "chances to find an object again after an occlusion; 10 frames are 2 s there and 0.33 s at 30 fps, "
        "where lost_s decides. 0: lost_s alone.",
    )
    match_buffer: float = Field(
        0.5,
        ge=0,
        le=5,
        description="Motion tolerance of matching, in box sizes per second between frames: before their "
        "IoU is taken, a track's predicted box and a detection are both widened on every side by "
        "match_buffer x the seconds since the previous frame x the track's width (x) or height (y) "
        "(C-BIoU's buffered IoU). 0.5 widens by 1.7% of the size at 30 fps and 10% at 5 fps, where a "
        "walker can move half their width between frames. 0: plain IoU.",
    )
    boxes: Literal["filtered", "detected"] = Field(
        "filtered",
        description="The box a tracked detection carries (frame lines, events): 'filtered' is the Kalman "
        "filter's estimate after this frame's detection, steadier and closer to the object than one "
        "detection; 'detected' is the detector's box unchanged. Untracked detections keep the detector's.",
    )
    gate: GateConfig = Field(
        default_factory=GateConfig, description="When a track is reported (all classes)."
    )
    class_gates: dict[str, GateConfig] = Field(
        default_factory=dict,
        description="Per-class gates overriding 'gate', keyed by class name or id "
        "(e.g. {person: {min_score: 0.7, min_hits: 5}}).",
    )
    events: EventsConfig = Field(default_factory=EventsConfig, description="When updates are emitted.")

    @model_validator(mode="after")
    def _check_order(self) -> TrackerConfig:
        if self.low_score > self.high_score:
            raise ValueError(f"low_score ({self.low_score}) must be <= high_score ({self.high_score})")
        return self
