"""Hand-built tracked frames: boxes placed so that their anchor sits where a test wants it."""

from __future__ import annotations

import numpy as np

from edgecv.detections import Detections


def person(x: float, y: float, w: float = 20.0, h: float = 60.0) -> list[float]:
    """A box whose bottom centre is ``(x, y)``."""
    return [x - w / 2, y - h, x + w / 2, y]


def tracked(
    boxes: list[list[float]],
    ids: list[int],
    classes: list[int] | None = None,
    scores: list[float] | None = None,
) -> Detections:
    n = len(boxes)
    return Detections(
        boxes=np.array(boxes, np.float32).reshape(n, 4),
        scores=np.array(scores or [0.9] * n, np.float32),
        class_ids=np.array(classes or [0] * n, np.int32),
        track_ids=np.array(ids, np.int64),
    )
