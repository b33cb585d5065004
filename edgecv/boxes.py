"""Boxes: intersection over union and the conversions between box layouts, the one home of both.

Layouts, all ``[N, 4]`` arrays in pixels or normalised units (the caller's choice):

* ``xyxy``: corners ``(x1, y1, x2, y2)``, edgecv's own layout (what :class:`~edgecv.detections.Detections`
  carry);
* ``xywh``: top-left corner and size (MOTChallenge files, COCO ``bbox``);
* ``cxcywh``: centre and size (YOLO heads and label files, the Kalman state).

Conversions and IoU keep the arrays' dtype and do each operation in the dtype numpy promotes to, in the order
written here: NMS is compared bit for bit with a brute-force reference and tracking scores are committed
figures, so a reordered sum or an early cast to float64 would show up as a changed result.

IoU conventions: boxes with zero or negative width or height overlap nothing (IoU 0); an empty input gives
an empty matrix of the right shape. :func:`iou_reference` is the plain definition, one pair at a time, which
the vectorised functions are tested against.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_SMALLEST_UNION = float(np.finfo(np.float32).tiny)


def _check_boxes(boxes: np.ndarray, name: str) -> None:
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{name} must be boxes of shape [N, 4], found shape {list(boxes.shape)}")


def xywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    """Top-left corner and size ``[N, 4]`` → corners ``[N, 4]``."""
    return np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:4]], axis=1)


def xyxy_to_xywh(boxes: np.ndarray) -> np.ndarray:
    """Corners ``[N, 4]`` → top-left corner and size ``[N, 4]``."""
    return np.concatenate([boxes[:, :2], boxes[:, 2:4] - boxes[:, :2]], axis=1)


def cxcywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    """Centre and size ``[N, 4]`` → corners ``[N, 4]``."""
    out = np.empty_like(boxes)  # keeps the input's memory layout
    half = boxes[:, 2:4] / 2
    np.subtract(boxes[:, :2], half, out=out[:, :2])
    np.add(boxes[:, :2], half, out=out[:, 2:])
    return out


def xyxy_to_cxcywh(boxes: np.ndarray) -> np.ndarray:
    """Corners ``[N, 4]`` → centre and size ``[N, 4]``."""
    out = np.empty_like(boxes)  # keeps the input's memory layout
    centre = np.add(boxes[:, :2], boxes[:, 2:4], out=out[:, :2])
    centre *= 0.5
    np.subtract(boxes[:, 2:4], boxes[:, :2], out=out[:, 2:])
    return out


def cxcywh_to_xywh(boxes: np.ndarray) -> np.ndarray:
    """Centre and size ``[N, 4]`` → top-left corner and size ``[N, 4]`` (the size kept, not recomputed)."""
    return np.concatenate([boxes[:, :2] - boxes[:, 2:4] / 2, boxes[:, 2:4]], axis=1)


def iou_reference(
    a: Sequence[Sequence[float]] | np.ndarray, b: Sequence[Sequence[float]] | np.ndarray
) -> np.ndarray:
    """IoU of every ``xyxy`` box of ``a`` with every box of ``b``, pair by pair in Python floats.

    Returns ``float64[len(a), len(b)]``: the definition the vectorised functions below are tested against,
    far too slow for a frame loop.
    """
    rows = np.asarray(a, np.float64).reshape(-1, 4).tolist()
    cols = np.asarray(b, np.float64).reshape(-1, 4).tolist()
    out = np.zeros((len(rows), len(cols)))
    for i, (ax1, ay1, ax2, ay2) in enumerate(rows):
        for j, (bx1, by1, bx2, by2) in enumerate(cols):
            inter = max(min(ax2, bx2) - max(ax1, bx1), 0.0) * max(min(ay2, by2) - max(ay1, by1), 0.0)
            area_a = max(ax2 - ax1, 0.0) * max(ay2 - ay1, 0.0)
            area_b = max(bx2 - bx1, 0.0) * max(by2 - by1, 0.0)
            union = area_a + area_b - inter
            out[i, j] = inter / union if union > 0 else 0.0
    return out


def box_areas(boxes: np.ndarray) -> np.ndarray:
    """Areas of ``xyxy`` boxes ``[N, 4]`` in their own dtype: ``[N]``, negative for an inverted box."""
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def _areas_t(boxes_t: np.ndarray) -> np.ndarray:
    """Areas of coordinate-major boxes ``[4, ...]`` in their own dtype."""
    size = boxes_t[2:] - boxes_t[:2]
    return size[0] * size[1]


def _divide_by_union(inter: np.ndarray, union: np.ndarray) -> np.ndarray:
    # Areas are not clipped at zero: a box with a non-positive side intersects nothing, and a zero
    # intersection is IoU 0 whatever the union. A positive intersection makes the union at least the larger
    # area, so flooring the union only turns 0 / 0 and 0 / negative into 0 (and would touch areas below
    # 1e-38, which no image has); it costs less than a masked divide on the tracker's per-frame matrices.
    np.maximum(union, _SMALLEST_UNION, out=union)
    np.divide(inter, union, out=inter)
    return inter


def pairwise_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every ``xyxy`` box of ``a[N, 4]`` with every box of ``b[M, 4]``: ``[N, M]``.

    NMS passes the same array twice (its layout and areas are then computed once); the tracker passes
    predicted tracks and detections. Each box's area is computed in its own dtype, the intersection in the
    wider dtype of the two.
    """
    _check_boxes(a, "a")
    _check_boxes(b, "b")
    # Coordinate-major and contiguous, [4, N]: each ufunc below then runs one inner loop per coordinate over
    # all the boxes; strided [N, 1] x [1, M] broadcasts cost several times more.
    a_t = np.ascontiguousarray(a.T).reshape(4, -1, 1)
    b_t = a_t.reshape(4, 1, -1) if b is a else np.ascontiguousarray(b.T).reshape(4, 1, -1)
    area_a = _areas_t(a_t)  # [N, 1]
    area_b = area_a.reshape(1, -1) if b is a else _areas_t(b_t)  # [1, M]
    dtype = np.result_type(a_t, b_t)
    a_t, b_t = a_t.astype(dtype, copy=False), b_t.astype(dtype, copy=False)  # widened once, not per ufunc
    size = np.minimum(a_t[2:], b_t[2:])  # [2, N, M]: intersection width, height
    size -= np.maximum(a_t[:2], b_t[:2])
    np.maximum(size, 0.0, out=size)
    inter = size[0] * size[1]
    union = area_a + area_b
    union -= inter
    return _divide_by_union(inter, union)


def pairwise_buffered_iou(a: np.ndarray, b: np.ndarray, margin: np.ndarray) -> np.ndarray:
    """IoU of ``a[N, 4]`` with ``b[M, 4]`` (``xyxy``) after widening both boxes of each pair: ``[N, M]``.

    ``margin[N, 2]`` is, per box of ``a``, what is added on every side of both boxes of its pairs: ``(x, y)``
    in pixels (C-BIoU's buffered IoU, Yang et al. 2023). A margin turns "near" into "overlapping", so a box
    that moved a little more than its own size since the last look still scores above zero, while boxes
    that already overlap keep their order. A zero margin gives exactly :func:`pairwise_iou`'s values.
    """
    _check_boxes(a, "a")
    _check_boxes(b, "b")
    if margin.shape != (a.shape[0], 2):
        raise ValueError(
            f"margin must have shape [{a.shape[0]}, 2] (x, y per box of a), found {list(margin.shape)}"
        )
    dtype = np.result_type(a, b, margin)
    grow = (2 * margin.astype(dtype, copy=False)).T.reshape(2, -1, 1)  # [2, N, 1]: added to a width, height
    a_t = np.ascontiguousarray(a.T, dtype=dtype).reshape(4, -1, 1)
    b_t = np.ascontiguousarray(b.T, dtype=dtype).reshape(4, 1, -1)
    size_a = a_t[2:] - a_t[:2]
    size_a += grow
    size_b = b_t[2:] - b_t[:2] + grow  # [2, N, M]: b's sides widened by each row's margin
    # The widened boxes' intersection is the plain one plus twice the margin on each axis.
    size = np.minimum(a_t[2:], b_t[2:])
    size -= np.maximum(a_t[:2], b_t[:2])
    size += grow
    np.maximum(size, 0.0, out=size)
    inter = size[0] * size[1]
    union = size_a[0] * size_a[1] + size_b[0] * size_b[1]
    union -= inter
    return _divide_by_union(inter, union)


def iou_one_to_many(box: np.ndarray, boxes: np.ndarray, areas: np.ndarray | None = None) -> np.ndarray:
    """IoU of one ``xyxy`` box ``[4]`` with each box of ``boxes[N, 4]``: ``[N]``, the values of a row of
    :func:`pairwise_iou` without building the matrix (NMS over thousands of candidates).

    ``areas`` is ``box_areas(boxes)`` when the caller already has it (NMS asks once per kept box).
    """
    if box.shape != (4,):
        raise ValueError(f"box must be one box of shape [4], found shape {list(box.shape)}")
    _check_boxes(boxes, "boxes")
    width = np.minimum(box[2], boxes[:, 2])
    width -= np.maximum(box[0], boxes[:, 0])
    height = np.minimum(box[3], boxes[:, 3])
    height -= np.maximum(box[1], boxes[:, 1])
    np.maximum(width, 0.0, out=width)
    np.maximum(height, 0.0, out=height)
    inter = width * height
    union = (box[2] - box[0]) * (box[3] - box[1]) + (box_areas(boxes) if areas is None else areas)
    union -= inter
    return _divide_by_union(inter, union)
