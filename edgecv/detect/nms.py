"""Greedy non-maximum suppression in vectorized numpy.

The loop runs once per *kept* box, each step a vector operation over the boxes still in play, so the cost
grows with what survives (tens of boxes), not with the candidates (hundreds). Boxes are ordered by score
with a stable sort, so ties keep decoder order and the result is deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..detections import Detections


def iou_one_to_many(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one (x1, y1, x2, y2) box against ``boxes[N, 4]``; zero-area boxes have IoU 0."""
    ix1 = np.maximum(box[0], boxes[:, 0])
    iy1 = np.maximum(box[1], boxes[:, 1])
    ix2 = np.minimum(box[2], boxes[:, 2])
    iy2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(ix2 - ix1, 0, None) * np.clip(iy2 - iy1, 0, None)
    area = max(box[2] - box[0], 0) * max(box[3] - box[1], 0)
    areas = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
    union = area + areas - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def nms(
    detections: Detections,
    iou_threshold: float = 0.45,
    *,
    agnostic: bool = False,
    class_iou: Mapping[int, float] | None = None,
    max_detections: int = 300,
) -> Detections:
    """Keep the best box of each overlapping group.

    * class-aware by default: a box suppresses only boxes of its own class; ``agnostic`` lets any box
      suppress any other (for models that confuse similar classes, e.g. car/truck);
    * ``class_iou`` overrides ``iou_threshold`` per class id: raise it for classes that crowd (people in a
      queue) so neighbours survive, lower it for classes that should never overlap;
    * a box is suppressed when its IoU with a kept box is strictly greater than the threshold of the
      *kept* box's class;
    * at most ``max_detections`` boxes are kept, best first.
    """
    n = len(detections)
    if n == 0 or max_detections <= 0:
        return detections[np.zeros(0, np.int64)]
    order = np.argsort(-detections.scores, kind="stable")
    boxes = detections.boxes[order].astype(np.float64)
    classes = detections.class_ids[order]
    thresholds = None
    if class_iou:
        thresholds = np.full(n, iou_threshold, np.float64)
        for class_id, value in class_iou.items():
            thresholds[classes == class_id] = value
    remaining = np.arange(n)
    keep: list[int] = []
    while remaining.size and len(keep) < max_detections:
        best = remaining[0]
        keep.append(best)
        rest = remaining[1:]
        if not rest.size:
            break
        overlap = iou_one_to_many(boxes[best], boxes[rest])
        threshold = iou_threshold if thresholds is None else thresholds[best]
        suppress = overlap > threshold
        if not agnostic:
            suppress &= classes[rest] == classes[best]
        remaining = rest[~suppress]
    return detections[order[np.asarray(keep, dtype=np.int64)]]
