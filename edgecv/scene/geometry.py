"""Anchors (the point of a box a rule looks at), polygons and segments in source-frame pixels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

Anchor = Literal["bottom_center", "center", "top_center", "bottom_left", "bottom_right"]
Units = Literal["pixels", "relative"]

# Where each anchor sits in its box, as fractions of the box's width and height from its top-left corner.
# bottom_center is the default everywhere: it is where a person stands, so a zone drawn on the ground holds
# the people standing in it whatever their height in the picture.
ANCHOR_FRACTIONS: dict[str, tuple[float, float]] = {
    "bottom_center": (0.5, 1.0),
    "center": (0.5, 0.5),
    "top_center": (0.5, 0.0),
    "bottom_left": (0.0, 1.0),
    "bottom_right": (1.0, 1.0),
}
ANCHORS: tuple[str, ...] = tuple(ANCHOR_FRACTIONS)


def anchor_points(boxes: np.ndarray, anchors: Sequence[str]) -> np.ndarray:
    """The anchor of every box for every rule: ``float32[len(anchors), N, 2]`` (x, y) from ``xyxy`` boxes."""
    fractions = np.array([ANCHOR_FRACTIONS[a] for a in anchors], np.float32).reshape(-1, 1, 2)
    corner = boxes[None, :, :2]
    size = boxes[None, :, 2:4] - corner
    return (corner + fractions * size).astype(np.float32, copy=False)


def to_pixels(points: Sequence[Sequence[float]], units: Units, width: int, height: int) -> np.ndarray:
    """``float32[K, 2]`` pixel coordinates of ``points`` given in ``units`` of a ``width`` x ``height`` frame."""
    out = np.asarray(points, np.float32).reshape(-1, 2)
    if units == "relative":
        out = out * np.array([width, height], np.float32)
    return out


def outside_frame(points: np.ndarray, width: int, height: int) -> bool:
    """Whether any point lies outside the frame ``[0, width] x [0, height]`` (its edges included)."""
    x, y = points[:, 0], points[:, 1]
    return bool(((x < 0) | (x > width) | (y < 0) | (y > height)).any())


def anchor_weights(anchors: Sequence[str]) -> np.ndarray:
    """``float64[5, 2A]``: ``[x1, y1, x2, y2, 1] @ W`` gives each anchor's x (first A columns), then its y.

    An anchor is linear in its box, so the anchors of every kind a camera's rules use come out of one matrix
    product per frame instead of a broadcast per kind.
    """
    n = len(anchors)
    w = np.zeros((5, 2 * n))
    for a, name in enumerate(anchors):
        fx, fy = ANCHOR_FRACTIONS[name]
        w[0, a], w[2, a] = 1 - fx, fx
        w[1, n + a], w[3, n + a] = 1 - fy, fy
    return w
