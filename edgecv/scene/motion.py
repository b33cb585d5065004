"""Motion: is anything moving in the picture, measured on a small grey copy against a running background.

On a Pi most of the day nothing moves; measuring that costs well under 0.1 ms a frame where the detector
costs tens of milliseconds. The frame is shrunk by taking every ``step``-th pixel of its green channel (the
bulk of luminance; no colour conversion, no resampling: OpenCV's resize of a whole frame cost more CPU than
the rest of the measurement together, and half of it on a second thread), blurred (a 5x5 Gaussian over the
samples: 25 of them average out sensor and compression noise), compared with an exponentially weighted
background, and the changed pixels outside the masks counted. :class:`MotionGate` turns that into "run the detector on this frame or not", and
:class:`FrameGate` is what a camera's capture thread asks, built from the camera's ``motion`` section at its
first frame (whose size places the masks).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from ..frame import SAME_TIME_S
from .filters import polygon_mask
from .geometry import outside_frame, to_pixels

if TYPE_CHECKING:
    from ..config.scene import MotionConfig

log = logging.getLogger(__name__)

SMALL_WIDTH = 160  # about the grey copy's width; a person 20 px wide in a 640 px frame is still 5 px


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
        min_area: float = 0.0005,
        alpha: float = 0.05,
        masks: Sequence[np.ndarray] = (),
    ) -> None:
        self.width, self.height = width, height
        self.step = max(1, round(width / SMALL_WIDTH))
        scale = 1.0 / self.step
        self.size = (-(-width // self.step), -(-height // self.step))  # what [::step] keeps: ceil
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
        self.blind = not self._keep.any()  # the masks cover the whole frame: no motion is ever seen

    def reset(self) -> None:
        """Forget the background (measuring resumes after a pause: the scene may have changed meanwhile)."""
        self._background = None

    def measure(self, image: np.ndarray) -> Motion:
        """Compare ``image`` (BGR ``H x W x 3``, or grey ``H x W``) with the background, then update it."""
        step = self.step
        small = image[::step, ::step] if image.ndim == 2 else image[::step, ::step, 1]
        grey = cv2.GaussianBlur(np.ascontiguousarray(small), (5, 5), 0)
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

    def ran(self, mono: float) -> None:
        """The detector ran on a frame at ``mono`` without asking the gate (gating was off)."""
        self._last = mono


def build_motion(
    config: MotionConfig, width: int, height: int, camera: str = ""
) -> tuple[MotionDetector, list[str]]:
    """``config``'s detector for ``width`` x ``height`` frames, and warnings naming each motion mask that
    reaches outside the frame or leaves nothing to measure (the caller logs them)."""
    where = f"camera {camera}: " if camera else ""
    warnings = []
    masks = []
    for k, mask in enumerate(config.masks):
        points = to_pixels(mask.polygon, mask.units, width, height)
        if outside_frame(points, width, height):
            warnings.append(
                f"{where}motion mask {k} reaches outside the {width}x{height} frame: {points.tolist()}"
            )
        masks.append(points)
    detector = MotionDetector(width, height, config.threshold, config.min_area, masks=masks)
    if detector.blind:
        warnings.append(
            f"{where}motion masks cover the whole {width}x{height} frame: no motion is ever seen, so the "
            f"detector runs only every motion.max_skip_s ({config.max_skip_s} s); shrink the masks or "
            "set motion.enabled: false"
        )
    return detector, warnings


class FrameGate:
    """Whether a camera's frame goes to the detector; used by that camera's capture thread only.

    Built from the camera's ``motion`` section; the detector is built at the first frame measured (its size
    places the masks). ``decide`` is called per frame with whether motion gating is on now (a runtime switch)
    and whether the camera's tracker has a track in motion (the post thread's latest answer).
    """

    def __init__(self, config: MotionConfig, camera: str = "") -> None:
        self.config = config
        self.camera = camera
        self.detector: MotionDetector | None = None
        self.gate = MotionGate(config.max_skip_s)
        self._paused = False

    def configure(self, config: MotionConfig) -> None:
        """Gate by ``config`` from the next frame on (a reload): the detector is placed again at that frame
        (masks, size), the background starts afresh and the next frame is detected."""
        self.config = config
        self.detector = None
        self.gate = MotionGate(config.max_skip_s)

    def decide(self, image: np.ndarray, mono: float, *, enabled: bool, tracks_moving: bool) -> bool:
        if not enabled:
            # Every frame is detected; the background resumes from scratch when gating comes back on.
            self.gate.ran(mono)
            self._paused = True
            return True
        if self.detector is None:
            self.detector, warnings = build_motion(self.config, image.shape[1], image.shape[0], self.camera)
            for warning in warnings:
                log.warning(warning)
        elif self._paused:
            self.detector.reset()
        self._paused = False
        moving = self.detector.measure(image).moving
        return self.gate.decide(moving, tracks_moving, mono)
