"""Greedy non-maximum suppression in vectorized numpy.

The loop runs once per *kept* box, each step a vector operation over the boxes still in play, so the cost
grows with what survives (tens of boxes), not with the candidates (hundreds). Boxes are ordered by score
with a stable sort, so ties keep decoder order and the result is deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..boxes import box_areas, iou_one_to_many, pairwise_iou
from ..detections import Detections

# Up to this many candidates the whole IoU matrix is computed at once (8 MB of float64 at the limit);
# beyond it (evaluation at conf 0.001) one row per kept box keeps memory flat.
MATRIX_LIMIT = 1024


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
    thresholds = np.full(n, iou_threshold, np.float64)
    for class_id, value in (class_iou or {}).items():
        thresholds[classes == class_id] = value
    keep = (
        _greedy_matrix(boxes, classes, thresholds, agnostic, max_detections)
        if n <= MATRIX_LIMIT
        else (_greedy_rows(boxes, classes, thresholds, agnostic, max_detections))
    )
    return detections[order[np.asarray(keep, dtype=np.int64)]]


def _greedy_matrix(
    boxes: np.ndarray, classes: np.ndarray, thresholds: np.ndarray, agnostic: bool, max_detections: int
) -> list[int]:
    # One matrix of "row suppresses column" decisions, then one vector op per kept box.
    suppresses = pairwise_iou(boxes, boxes) > thresholds[:, None]
    if not agnostic:
        suppresses &= classes[:, None] == classes[None, :]
    remaining = np.arange(boxes.shape[0])
    keep: list[int] = []
    while remaining.size and len(keep) < max_detections:
        best = int(remaining[0])
        keep.append(best)
        remaining = remaining[1:][~suppresses[best, remaining[1:]]]
    return keep


def _greedy_rows(
    boxes: np.ndarray, classes: np.ndarray, thresholds: np.ndarray, agnostic: bool, max_detections: int
) -> list[int]:
    areas = box_areas(boxes)
    remaining = np.arange(boxes.shape[0])
    keep: list[int] = []
    while remaining.size and len(keep) < max_detections:
        best = int(remaining[0])
        keep.append(best)
        rest = remaining[1:]
        if not rest.size:
            break
        overlap = iou_one_to_many(boxes[best], boxes[rest], areas[rest])
        suppress = overlap > thresholds[best]
        if not agnostic:
            suppress &= classes[rest] == classes[best]
        remaining = rest[~suppress]
    return keep
