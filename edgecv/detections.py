"""The one detections type every stage speaks: struct-of-arrays, no per-object Python objects."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Detections:
    """Boxes of one frame as parallel arrays.

    ``boxes`` are ``float32[N, 4]`` as (x1, y1, x2, y2): in model-input pixels straight out of a decoder, in
    source-image pixels once :func:`edgecv.detect.preprocess.Letterbox.unmap` has run. ``track_ids`` is
    ``None`` until a tracker has assigned ids; then ``int64[N]`` with -1 for detections no confirmed track owns.
    ``zones`` is ``None`` unless the camera has zones; then an object array ``[N]`` holding, per detection of a
    confirmed track, the tuple of the zones it is in (``None`` for the others): see
    :class:`edgecv.scene.rules.CameraScene`.
    """

    boxes: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray
    track_ids: np.ndarray | None = None
    zones: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = self.scores.shape[0]
        if self.boxes.shape != (n, 4):
            raise ValueError(f"boxes must have shape ({n}, 4) to match scores, got {self.boxes.shape}")
        if self.class_ids.shape != (n,):
            raise ValueError(f"class_ids must have shape ({n},) to match scores, got {self.class_ids.shape}")
        if self.track_ids is not None and self.track_ids.shape != (n,):
            raise ValueError(f"track_ids must have shape ({n},) to match scores, got {self.track_ids.shape}")
        if self.zones is not None and self.zones.shape != (n,):
            raise ValueError(f"zones must have shape ({n},) to match scores, got {self.zones.shape}")

    @classmethod
    def empty(cls) -> Detections:
        return cls(
            boxes=np.zeros((0, 4), np.float32),
            scores=np.zeros(0, np.float32),
            class_ids=np.zeros(0, np.int32),
        )

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    def __getitem__(self, index: np.ndarray | slice) -> Detections:
        """Select by boolean mask, index array or slice; every array is selected alike."""
        return Detections(
            boxes=self.boxes[index],
            scores=self.scores[index],
            class_ids=self.class_ids[index],
            track_ids=None if self.track_ids is None else self.track_ids[index],
            zones=None if self.zones is None else self.zones[index],
        )

    def with_boxes(self, boxes: np.ndarray) -> Detections:
        return Detections(boxes, self.scores, self.class_ids, self.track_ids, self.zones)

    def with_track_ids(self, track_ids: np.ndarray) -> Detections:
        return Detections(self.boxes, self.scores, self.class_ids, track_ids, self.zones)

    def with_zones(self, zones: np.ndarray) -> Detections:
        return Detections(self.boxes, self.scores, self.class_ids, self.track_ids, zones)
