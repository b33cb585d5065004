"""Masks and size filters: detections dropped before tracking, so a tracker never follows them.

A mask drops the detections whose anchor lies in its polygon (a waving tree, a road beyond the fence, a
timestamp overlay); a size filter drops a class's boxes whose area or width/height ratio is out of range
(a "person" the size of a wall, a "car" two pixels wide). Both are lookups: one raster gather per anchor
kind, and per-class bound arrays indexed by class id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ..detections import Detections
from .geometry import ANCHORS, anchor_points

_SHIFT = 4  # fillPoly's fractional bits


@dataclass(frozen=True)
class MaskRule:
    polygon: np.ndarray  # float32[K, 2], source-frame pixels
    anchor: str = "bottom_center"


@dataclass(frozen=True)
class SizeRule:
    """Bounds of one class, in source-frame pixels (a fraction of the frame already resolved)."""

    min_area: float = 0.0
    max_area: float = np.inf
    min_ratio: float = 0.0
    max_ratio: float = np.inf


def polygon_mask(polygons: Sequence[np.ndarray], width: int, height: int) -> np.ndarray:
    """``bool[height, width]``: True where any of ``polygons`` covers the pixel (boundary included)."""
    layer = np.zeros((height, width), np.uint8)
    for polygon in polygons:
        points = np.round(polygon * (1 << _SHIFT)).astype(np.int32).reshape(-1, 2)
        cv2.fillPoly(layer, [points], 1, lineType=cv2.LINE_8, shift=_SHIFT)
    return layer.astype(bool)


class DetectionFilter:
    """Masks and per-class size bounds of one camera (``width`` x ``height`` frames)."""

    def __init__(
        self,
        masks: Sequence[MaskRule],
        sizes: Mapping[int, SizeRule],
        num_classes: int,
        width: int,
        height: int,
    ) -> None:
        self.width, self.height = width, height
        self.num_classes = num_classes
        self._anchors = sorted({m.anchor for m in masks}, key=ANCHORS.index)
        self._rasters = (
            np.stack(
                [
                    polygon_mask([m.polygon for m in masks if m.anchor == a], width, height)
                    for a in self._anchors
                ]
            )
            if masks
            else np.zeros((0, height, width), bool)
        )
        # Bounds per class id; the last entry (class ids past the labels) is unbounded.
        bounds = np.array([[0.0, np.inf, 0.0, np.inf]] * (num_classes + 1))
        for class_id, rule in sizes.items():
            if 0 <= class_id < num_classes:
                bounds[class_id] = (rule.min_area, rule.max_area, rule.min_ratio, rule.max_ratio)
        self._bounds = bounds
        self.active = bool(masks) or bool(sizes)

    def keep(self, detections: Detections) -> np.ndarray:
        """``bool[N]``: the detections that pass every mask and their class's size bounds."""
        n = len(detections)
        keep = np.ones(n, bool)
        if not n or not self.active:
            return keep
        boxes = detections.boxes
        if self._anchors:
            points = anchor_points(boxes, self._anchors)  # [A, N, 2]
            x = np.clip(points[..., 0].astype(np.intp), 0, self.width - 1)
            y = np.clip(points[..., 1].astype(np.intp), 0, self.height - 1)
            masked = self._rasters[np.arange(len(self._anchors))[:, None], y, x].any(axis=0)
            keep &= ~masked
        w = boxes[:, 2] - boxes[:, 0]
        h = boxes[:, 3] - boxes[:, 1]
        area = w * h
        ratio = w / np.maximum(h, np.float32(1e-6))
        b = self._bounds[np.minimum(detections.class_ids, self.num_classes)]
        keep &= (area >= b[:, 0]) & (area <= b[:, 1]) & (ratio >= b[:, 2]) & (ratio <= b[:, 3])
        return keep

    def apply(self, detections: Detections) -> Detections:
        """``detections`` without the masked and out-of-bounds ones (the same object when nothing drops)."""
        keep = self.keep(detections)
        return detections if keep.all() else detections[keep]
