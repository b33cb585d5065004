"""One camera of a run: its source, detection parameters, tracker, counters and stage timings.

A run is a set of named cameras sharing one detector (one model, one interpreter: a Coral can be opened by
one process only). Everything that belongs to a camera lives here, so nothing about one camera is stored on
an object the others share: the detector holds only what never changes, and each camera's frames carry
their own transform (see :mod:`edgecv.detect.preprocess`).

Counters are written by the run loop's threads (frames, ``skipped_frames`` and ``tracks_moving`` by the post
thread, ``replaced`` and ``last_frame`` by the camera's capture thread) and read by the watchdog, the sinks and
the capture thread: each is one attribute written by one thread, so readers take no lock. The switches
``detect_enabled`` and ``motion_enabled`` are written by whoever controls the run and read by the capture
thread at every frame.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ..capture.base import FrameSource
from ..config.scene import MotionConfig, SceneConfig
from ..detect.detector import DetectParams
from ..detections import Detections
from ..scene.rules import CameraScene, needs_tracks
from ..track.events import TrackEvent
from .timing import StageTimes


class FrameTracker(Protocol):
    """What the post thread needs of a tracker (one per camera: tracks never cross cameras)."""

    def update(
        self, detections: Detections, ts: float, mono: float | None = None
    ) -> tuple[Detections, list[TrackEvent]]:
        """Detections of one frame captured at wall time ``ts`` and monotonic time ``mono`` → the same with
        ``track_ids``, and events. Durations are measured on ``mono`` (see :class:`~edgecv.frame.Frame`)."""
        ...

    def finish(self, ts: float) -> list[TrackEvent]:
        """The source ended: events that close every open track."""
        ...

    def origins(self, track_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where (first boxes) and when (wall times) the tracks of ``track_ids`` were first detected, while
        still tentative; nan for ids it does not hold (scene lines count crossings made before confirmation)."""
        ...

    def needs_detection(self) -> bool:
        """Whether a track needs the detector on the next frame even if nothing else moves (motion gating)."""
        ...

    def hold(self, mono: float) -> list[TrackEvent]:
        """The detector was skipped at ``mono`` because nothing moved: tracks seen stay as they are, unaged;
        lost ones age (their ``end`` events returned)."""
        ...

    def held(self) -> Detections:
        """The tracks a skipped frame holds in view (seen at the last detection), as detections with their
        ids, classes, last boxes and scores: the camera's zones and lines run on them."""
        ...


@dataclass(frozen=True)
class CameraSummary:
    """A camera's share of a run, for the run summary (``cameras: {name: ...}``)."""

    frames: int
    fps: float
    dropped_frames: int
    reconnects: int
    failures: int
    error: str | None
    # Scene totals since the start: {line: {in: {label: n}, out: {label: n}}}, {zone: {entered: {label: n}}};
    # empty without rules (the keys are always in the summary, so that tools can rely on them).
    lines: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    zones: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    skipped_frames: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "frames": self.frames,
            "fps": round(self.fps, 2),
            "dropped_frames": self.dropped_frames,
            "skipped_frames": self.skipped_frames,
            "reconnects": self.reconnects,
            "source_failures": self.failures,
            "error": self.error,
            "lines": self.lines,
            "zones": self.zones,
        }


class Camera:
    """A named source with what the run keeps for it alone.

    ``params`` are its detection parameters (``None``: the detector's own); ``tracker`` its tracker
    (``None``: not tracked); ``scene`` its scene rules (``None``: a camera built without labels, which
    :meth:`configure_scene` cannot give rules); ``motion`` its motion section (``None``: never gated). The
    source's frames must carry ``source_id == name``: sinks name the camera by it.

    Two switches, for whoever controls the run: ``motion_enabled`` (from ``motion.enabled``) gates the
    detector on motion; ``detect_enabled`` off skips the detector on every frame (frames still flow, marked
    skipped, and the tracker is left alone: no forced detection every ``max_skip_s``).
    """

    def __init__(
        self,
        name: str,
        source: FrameSource,
        *,
        params: DetectParams | None = None,
        tracker: FrameTracker | None = None,
        scene: CameraScene | None = None,
        motion: MotionConfig | None = None,
    ) -> None:
        self.name = name
        self.source = source
        self.params = params
        self.tracker = tracker
        self.scene = scene
        if scene is not None:
            self._check_scene(scene.config)
        self.motion = motion or MotionConfig()
        self.motion_enabled = self.motion.enabled
        self.detect_enabled = True
        self.timings = StageTimes()
        self.frames = 0  # frames through the whole pipeline (inferred or skipped, then output)
        self.skipped_frames = 0  # of those, frames the detector skipped (motion gating or detect off)
        self.tracks_moving = False  # the tracker's latest needs_detection(): read by the capture thread
        self.replaced = 0  # prepared for inference, then replaced by a newer frame of this camera
        self.last_frame: float | None = None  # time.monotonic() a frame was last read from the source
        self.ended = False  # its capture is over: the source ended, failed, or the run stopped
        self.error: str | None = None  # why the source failed, when it did

    @classmethod
    def of(cls, source: FrameSource, tracker: FrameTracker | None = None) -> Camera:
        """A plain source as a camera named by its ``source_id``, with the detector's parameters."""
        return cls(source.source_id, source, tracker=tracker)

    def configure_scene(self, config: SceneConfig) -> None:
        """Use ``config``'s zones, lines, masks and filters from the next frame on (motion aside), keeping the
        counts of rules that keep their name. ``ValueError`` naming the key, and nothing changes, when a class
        name is not the model's or zones and lines come without a tracker. Safe from any thread."""
        if self.scene is None:
            raise ValueError(f"camera {self.name} was built without the model's labels: it cannot take rules")
        self._check_scene(config)
        self.scene.configure(config)

    def _check_scene(self, config: SceneConfig) -> None:
        if self.tracker is None and needs_tracks(config):
            raise ValueError(
                "tracker.enabled is false, but zones and lines follow confirmed tracks: enable the tracker, or "
                "remove the zones and lines"
            )

    @property
    def live(self) -> bool:
        return bool(self.source.live)

    @property
    def dropped_frames(self) -> int:
        """Frames captured but never inferred: replaced in the source's grabber, or after preprocessing."""
        return self.source.stats.dropped + self.replaced

    def idle_s(self, now: float | None = None) -> float | None:
        """Seconds since the last frame was read (``None`` before the first)."""
        last = self.last_frame
        return None if last is None else (time.monotonic() if now is None else now) - last

    def summary(self, duration_s: float) -> CameraSummary:
        stats = self.source.stats
        return CameraSummary(
            frames=self.frames,
            fps=self.frames / duration_s if duration_s > 0 else 0.0,
            dropped_frames=self.dropped_frames,
            reconnects=stats.reconnects,
            failures=stats.failures,
            error=self.error,
            lines=self.scene.line_totals() if self.scene is not None else {},
            zones=self.scene.zone_totals() if self.scene is not None else {},
            skipped_frames=self.skipped_frames,
        )
