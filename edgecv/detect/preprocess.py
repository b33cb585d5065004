"""Frame → model input: colour order, letterbox or stretch, quantization into the input's own dtype.

One implementation serves ``edgecv run``, ``edgecv detect`` and the converter's calibration, so a model is
calibrated on exactly the pixels it later sees.

One :class:`Preprocessor` is shared by every capture thread of a run, and those threads may feed frames of
different sizes. So it keeps only what never changes (the input spec, the quantization tables, a cache of
immutable placements); the placement of each frame is returned with it, and whether a buffer's borders are
already filled is remembered per buffer, with the placement they were filled for.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

ResizeMode = Literal["letterbox", "stretch"]
PAD_VALUE = 114  # Ultralytics' letterbox grey; models trained with it expect it in the borders.


@dataclass(frozen=True)
class InputSpec:
    """What the model's input tensor wants."""

    height: int
    width: int
    dtype: np.dtype
    scale: float = 0.0  # quantization scale; 0 for float inputs
    zero_point: int = 0
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)  # real input = (pixel - mean) / std
    std: tuple[float, float, float] = (255.0, 255.0, 255.0)
    resize: ResizeMode = "letterbox"
    rgb: bool = True


@dataclass(frozen=True)
class Transform:
    """How a source image was placed in the model input; maps boxes back to source pixels."""

    scale_x: float
    scale_y: float
    pad_x: float
    pad_y: float
    src_width: int
    src_height: int

    def unmap(self, boxes: np.ndarray) -> np.ndarray:
        """Input-pixel (x1, y1, x2, y2) boxes → source-image pixels, clipped to the image."""
        out = np.empty_like(boxes, dtype=np.float32)
        out[:, 0::2] = (boxes[:, 0::2] - self.pad_x) / self.scale_x
        out[:, 1::2] = (boxes[:, 1::2] - self.pad_y) / self.scale_y
        np.clip(out[:, 0::2], 0, self.src_width, out=out[:, 0::2])
        np.clip(out[:, 1::2], 0, self.src_height, out=out[:, 1::2])
        return out


@dataclass(frozen=True)
class Placement:
    """Where a source image of one size lands in the input: the resized region and its transform."""

    left: int
    top: int
    width: int
    height: int
    transform: Transform
    fills_input: bool  # no border is left to pad


def place(spec: InputSpec, src_h: int, src_w: int) -> Placement:
    """Where a ``src_h`` × ``src_w`` image goes in ``spec``'s input (pure: no pixels, no state)."""
    if spec.resize == "stretch":
        transform = Transform(spec.width / src_w, spec.height / src_h, 0.0, 0.0, src_w, src_h)
        return Placement(0, 0, spec.width, spec.height, transform, fills_input=True)
    r = min(spec.height / src_h, spec.width / src_w)
    new_w, new_h = round(src_w * r), round(src_h * r)
    dw, dh = (spec.width - new_w) / 2, (spec.height - new_h) / 2
    # Same rounding as Ultralytics' LetterBox, so boxes line up with how the model was validated.
    left, top = round(dw - 0.1), round(dh - 0.1)
    transform = Transform(new_w / src_w, new_h / src_h, float(left), float(top), src_w, src_h)
    fills_input = (left, top, new_w, new_h) == (0, 0, spec.width, spec.height)
    return Placement(left, top, new_w, new_h, transform, fills_input)


class _PaddedBuffers:
    """Which placement each reused buffer's borders were last filled for.

    Keyed by ``id`` with a weak reference beside it: a buffer that was freed and whose id was handed to a
    new array is seen as unknown (the reference is dead or points elsewhere), so it is padded again.
    Each buffer is written by one thread at a time (its capture thread); the lock only keeps the table
    itself whole when several threads add buffers at once.
    """

    PRUNE_AT = 64  # a run holds two buffers per source; past this, entries of dead buffers are dropped

    def __init__(self) -> None:
        self._entries: dict[int, tuple[weakref.ref[np.ndarray], Placement]] = {}
        self._lock = threading.Lock()

    def filled_for(self, buffer: np.ndarray) -> Placement | None:
        entry = self._entries.get(id(buffer))
        if entry is None or entry[0]() is not buffer:
            return None
        return entry[1]

    def remember(self, buffer: np.ndarray, placement: Placement) -> None:
        with self._lock:
            if len(self._entries) >= self.PRUNE_AT:
                self._entries = {k: v for k, v in self._entries.items() if v[0]() is not None}
            self._entries[id(buffer)] = (weakref.ref(buffer), placement)


class Preprocessor:
    """Turns BGR uint8 frames (OpenCV's order) into the model's input, reusing its buffers.

    Quantization is folded into a 256-entry lookup table: the model's ``(pixel - mean) / std`` followed by
    ``q = real / scale + zero_point`` is one table lookup per byte, no float image is ever made.

    Safe to share between threads as long as each buffer is written by one thread at a time: nothing about
    a frame is stored on the instance (see the module docstring).
    """

    PLACEMENT_CACHE = 32  # distinct source sizes remembered; a run sees one per source

    def __init__(self, spec: InputSpec) -> None:
        self.spec = spec
        pixel = np.arange(256, dtype=np.float64)
        self._float = np.dtype(spec.dtype).kind == "f"
        self._luts = [self._lut(pixel, c) for c in range(3)]
        self._lut_per_channel = not all(np.array_equal(self._luts[0], lut) for lut in self._luts[1:])
        self._identity = (
            np.dtype(spec.dtype) == np.uint8
            and not self._lut_per_channel
            and np.array_equal(self._luts[0], pixel.astype(np.uint8))
        )
        self._pad = np.array([self._luts[c][PAD_VALUE] for c in range(3)], dtype=self._luts[0].dtype)
        # Values are immutable and equal whichever thread computes them, so a racing miss is harmless.
        self._placements: dict[tuple[int, int], Placement] = {}
        self._padded = _PaddedBuffers()

    def _lut(self, pixel: np.ndarray, channel: int) -> np.ndarray:
        spec = self.spec
        real = (pixel - spec.mean[channel]) / spec.std[channel]
        if self._float:
            return real.astype(np.float32)
        info = np.iinfo(spec.dtype)
        raw = pixel + (info.min if info.min < 0 else 0)
        if spec.scale <= 0:
            # An integer input without quantization parameters takes the pixel as it is.
            return raw.astype(spec.dtype)
        q = np.clip(np.round(real / spec.scale + spec.zero_point), info.min, info.max)
        # An 8-bit input that encodes the normalization to within one step is a raw-pixel input by
        # construction: TOCO-era SSDs declare (q - 128) / 128 for a graph trained on (p - 127.5) / 127.5,
        # Ultralytics int8 exports q = p - 128. Such models were calibrated and validated on the raw pixel,
        # so feed exactly that; rounding the ideal value instead shifts half the range by one step, which
        # costs the classic quantized SSD MobileNet ~1.3 points of COCO mAP.
        if np.abs(q - raw).max() <= 1:
            q = raw
        return q.astype(spec.dtype)

    def new_buffer(self) -> np.ndarray:
        return np.empty((1, self.spec.height, self.spec.width, 3), dtype=self.spec.dtype)

    def placement(self, src_h: int, src_w: int) -> Placement:
        """Where a ``src_h`` × ``src_w`` frame lands in the input (cached per size)."""
        key = (src_h, src_w)
        found = self._placements.get(key)
        if found is None:
            found = place(self.spec, src_h, src_w)
            if len(self._placements) >= self.PLACEMENT_CACHE:
                # A source whose size keeps changing must not grow the cache without bound.
                self._placements = {}
            self._placements[key] = found
        return found

    def __call__(self, frame: np.ndarray, out: np.ndarray | None = None) -> tuple[np.ndarray, Transform]:
        """Write ``frame`` (H×W×3 BGR uint8) into ``out`` (``[1, H, W, 3]`` of the input dtype)."""
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(
                f"expected an H×W×3 uint8 BGR frame, got shape {frame.shape} dtype {frame.dtype}"
            )
        src_h, src_w = frame.shape[:2]
        placement = self.placement(src_h, src_w)
        if out is None:
            out = self.new_buffer()
            if not placement.fills_input:
                # Not remembered: once this buffer is freed, its id may be reused by the next one.
                out[0] = self._pad
        elif not placement.fills_input and self._padded.filled_for(out) is not placement:
            # The borders never change for a given placement: fill them once per reused buffer, again
            # only when the frames written into it change size. Placements are cached, so identity is the
            # cheap test; an equal one made after the cache was emptied only costs one more fill.
            out[0] = self._pad
            self._padded.remember(out, placement)
        canvas = out[0]
        left, top, new_w, new_h = placement.left, placement.top, placement.width, placement.height
        if (new_w, new_h) == (src_w, src_h):
            resized = frame
        else:
            resized = cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
        if self.spec.rgb:
            resized = cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)
        region = canvas[top : top + new_h, left : left + new_w]
        if self._identity:
            region[...] = resized
        elif self._float or self._lut_per_channel:
            for c in range(3):
                region[..., c] = self._luts[c][resized[..., c]]
        else:
            lut = self._luts[0]
            region[...] = cv2.LUT(resized, lut.view(np.uint8)).view(lut.dtype)
        return out, placement.transform


def letterbox_geometry(src_h: int, src_w: int, dst_h: int, dst_w: int) -> Transform:
    """The transform letterboxing would use, without touching pixels (for tests and evaluators)."""
    return place(InputSpec(dst_h, dst_w, np.dtype(np.uint8), resize="letterbox"), src_h, src_w).transform
