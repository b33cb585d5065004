"""Synthetic scenes for tracker tests: objects moving in straight lines, rendered as Detections."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from edgecv.detections import Detections


def make_detections(boxes: list[list[float]], scores: list[float] | None = None, classes=None) -> Detections:
    n = len(boxes)
    return Detections(
        boxes=np.asarray(boxes, np.float32).reshape(n, 4),
        scores=np.asarray(scores if scores is not None else [0.9] * n, np.float32),
        class_ids=np.asarray(classes if classes is not None else [0] * n, np.int32),
    )


def box_at(x: float, y: float, w: float = 40, h: float = 100) -> list[float]:
    return [x, y, x + w, y + h]


@pytest.fixture
def dets() -> Callable[..., Detections]:
    return make_detections


@pytest.fixture
def box() -> Callable[..., list[float]]:
    return box_at
