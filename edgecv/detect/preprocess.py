"""Frame → model input: colour order, letterbox or stretch, quantization into the input's own dtype.

One implementation serves ``edgecv run``, ``edgecv detect`` and the converter's calibration, so a model is
calibrated on exactly the pixels it later sees.
"""

from __future__ import annotations

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


class Preprocessor:
    """Turns BGR uint8 frames (OpenCV's order) into the model's input, reusing its buffers.

    Quantization is folded into a 256-entry lookup table: the model's ``(pixel - mean) / std`` followed by
    ``q = real / scale + zero_point`` is one table lookup per byte, no float image is ever made.
    """

    def __init__(self, spec: InputSpec) -> None:
        self.spec = spec
        self._geometry: tuple[int, int] | None = None
        self._padded: set[int] = set()
        self._placement: tuple[int, int, int, int] = (0, 0, spec.width, spec.height)
        self._transform: Transform | None = None
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

    def _place(self, src_h: int, src_w: int) -> None:
        spec = self.spec
        if spec.resize == "stretch":
            self._placement = (0, 0, spec.width, spec.height)
            self._transform = Transform(spec.width / src_w, spec.height / src_h, 0.0, 0.0, src_w, src_h)
            return
        r = min(spec.height / src_h, spec.width / src_w)
        new_w, new_h = round(src_w * r), round(src_h * r)
        dw, dh = (spec.width - new_w) / 2, (spec.height - new_h) / 2
        # Same rounding as Ultralytics' LetterBox, so boxes line up with how the model was validated.
        left, top = round(dw - 0.1), round(dh - 0.1)
        self._placement = (left, top, new_w, new_h)
        self._transform = Transform(new_w / src_w, new_h / src_h, float(left), float(top), src_w, src_h)

    def __call__(self, frame: np.ndarray, out: np.ndarray | None = None) -> tuple[np.ndarray, Transform]:
        """Write ``frame`` (H×W×3 BGR uint8) into ``out`` (``[1, H, W, 3]`` of the input dtype)."""
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(
                f"expected an H×W×3 uint8 BGR frame, got shape {frame.shape} dtype {frame.dtype}"
            )
        fresh = out is None
        if out is None:
            out = self.new_buffer()
        src_h, src_w = frame.shape[:2]
        canvas = out[0]
        if self._geometry != (src_h, src_w):
            self._place(src_h, src_w)
            self._geometry = (src_h, src_w)
            self._padded.clear()
        if fresh or id(out) not in self._padded:
            # The borders never change for a given geometry and buffer: fill them once per reused buffer.
            # A buffer made here is filled every time: once freed, its id may be reused by the next one.
            canvas[...] = self._pad
            if not fresh:
                self._padded.add(id(out))
        left, top, new_w, new_h = self._placement
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
        assert self._transform is not None
        return out, self._transform


def letterbox_geometry(src_h: int, src_w: int, dst_h: int, dst_w: int) -> Transform:
    """The transform letterboxing would use, without touching pixels (for tests and evaluators)."""
    spec = InputSpec(dst_h, dst_w, np.dtype(np.uint8), resize="letterbox")
    pre = Preprocessor(spec)
    pre._place(src_h, src_w)
    assert pre._transform is not None
    return pre._transform
