"""Motion: is anything moving in the picture, measured on a small grey copy against a running background.

On a Pi most of the day nothing moves; measuring that costs ~0.1 ms a frame where the detector costs tens of
milliseconds. The frame is shrunk (bilinear, then a Gaussian blur that removes the shrink's aliasing and
sensor noise), compared with an exponentially weighted background, and the changed pixels outside the masks
counted. :class:`MotionGate` turns that into "run the detector on this frame or not".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ..frame import SAME_TIME_S
from .filters import polygon_mask

SMALL_WIDTH = 160  # pixels of the grey copy's width; a person 20 px wide in a 640 px frame is still 5 px


@dataclass(frozen=True)
class Motion:
    changed: float  # fraction of the (unmasked) frame whose brightness changed by more than the threshold
    moving: bool  # changed pixels reach min_area


class MotionDetector:
    """Motion of one camera's ``width`` x ``height`` frames.

    ``threshold`` is the brightness change (0-255) a pixel needs to count as changed: higher ignores
    flicker and compression noise, lower sees low-contrast movement. ``min_area`` is the changed area that
    means motion, in source pixels or, below 1, as a fraction of the frame. ``alpha`` is the background's
    update rate per frame: higher forgets a parked car sooner. ``masks`` are polygons (source pixels) where
    change is ignored (a clock overlay, trees).
    """

    def __init__(
        self,
        width: int,
        height: int,
        threshold: float = 25.0,
        min_area: float = 0.002,
        alpha: float = 0.05,
        masks: Sequence[np.ndarray] = (),
    ) -> None:
        self.width, self.height = width, height
        scale = min(1.0, SMALL_WIDTH / width)
        self.size = (max(1, round(width * scale)), max(1, round(height * scale)))
        self.threshold = threshold
        self.alpha = alpha
        self._background: np.ndarray | None = None
        keep = np.ones((self.size[1], self.size[0]), bool)
        if masks:
            keep = ~polygon_mask([m * scale for m in masks], *self.size)
        self._keep = keep.astype(np.uint8)
        self._pixels = max(int(self._keep.sum()), 1)
        area = min_area if min_area < 1 else min_area / (width * height)
        self.min_changed = area  # as a fraction of the frame

    def measure(self, image: np.ndarray) -> Motion:
        """Compare ``image`` (BGR ``H x W x 3``, or grey ``H x W``) with the background, then update it."""
        small = cv2.resize(image, self.size, interpolation=cv2.INTER_LINEAR)
        grey = small if small.ndim == 2 else cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        grey = cv2.GaussianBlur(grey, (5, 5), 0)
        if self._background is None:
            self._background = grey.astype(np.float32)
            return Motion(0.0, False)
        diff = cv2.absdiff(grey, cv2.convertScaleAbs(self._background))
        changed = cv2.countNonZero(cv2.bitwise_and((diff > self.threshold).view(np.uint8), self._keep))
        cv2.accumulateWeighted(grey, self._background, self.alpha)
        fraction = changed / self._pixels
        return Motion(fraction, fraction >= self.min_changed)


class MotionGate:
    """Whether a frame needs the detector: something moves, a track is moving, or ``max_skip_s`` has passed
    since the last detection (so an object that appears without enough motion is still found)."""

    def __init__(self, max_skip_s: float) -> None:
        self.max_skip_s = max_skip_s
        self._last: float | None = None
        self.skipped = 0

    def decide(self, moving: bool, tracks_moving: bool, mono: float) -> bool:
        due = self._last is None or mono - self._last >= self.max_skip_s - SAME_TIME_S
        if moving or tracks_moving or due:
            self._last = mono
            return True
        self.skipped += 1
        return False
