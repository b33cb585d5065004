"""Raw YOLO heads: v8/v11 (``4 + C`` channels, no objectness) and v5 (``5 + C``, with objectness).

Either may come channels-first (``[1, channels, anchors]``, Ultralytics' default) or channels-last
(``[1, anchors, channels]``), quantized (int8/uint8) or float. Scores are thresholded in the quantized
domain: the best class of every anchor is found on the raw integers and only the few anchors above the
threshold are ever dequantized.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ...boxes import cxcywh_to_xyxy
from ...detections import Detections
from ..families import HeadLayout, HeadShape, ModelFamily, register_family
from ..metadata import ModelMetadata
from .base import TensorInfo

PIXEL_BOX_LIMIT = 2.0  # normalized centres never exceed ~1.1; pixel centres of any real input do
HEADS = {
    "yolov8": HeadShape(leading=4, anchors_per_cell=1),  # cx, cy, w, h, then classes; anchor-free (v8, v11)
    "yolov5": HeadShape(leading=5, anchors_per_cell=3),  # the box, objectness, then classes
}


def box_format_of(centres: np.ndarray) -> str:
    """``pixels`` or ``normalized``, from the box-centre values of a float head."""
    return "pixels" if float(np.abs(centres).max(initial=0.0)) > PIXEL_BOX_LIMIT else "normalized"


def float_head_box_format(output: np.ndarray) -> str:
    """The families' box-format rule, on a float model's head as it comes out (either axis order)."""
    head = np.squeeze(output)
    return box_format_of(head[:2] if head.shape[0] < head.shape[-1] else head[:, :2])


class YoloDecoder:
    def __init__(
        self,
        output: TensorInfo,
        input_hw: tuple[int, int],
        family: str,
        channels_first: bool,
        box_format: str | None = None,
    ) -> None:
        self.output = output
        self.family = family
        self.channels_first = channels_first
        self.input_h, self.input_w = input_hw
        self.first_class = HEADS[family].leading
        self.objectness = self.first_class == 5  # channel 4 scales every class score
        shape = output.shape[-2:]
        self.channels, self.anchors = (shape[0], shape[1]) if channels_first else (shape[1], shape[0])
        self.num_classes = self.channels - self.first_class
        self.box_format = box_format
        self._box_scale: np.ndarray | None = None
        self._max_class_score = 1.0
        if output.quantized:
            top = np.iinfo(output.dtype).max
            self._max_class_score = max(
                1.0, float((np.float32(top) - output.zero_point) * np.float32(output.scale))
            )
        if box_format is not None:
            self._box_scale = self._scale_for(box_format)

    def _scale_for(self, box_format: str) -> np.ndarray:
        if box_format == "normalized":
            return np.array([self.input_w, self.input_h, self.input_w, self.input_h], np.float32)
        return np.ones(4, np.float32)

    def _threshold_q(self, conf: float) -> float:
        """Smallest raw value whose dequantized score can reach ``conf`` (a little permissive)."""
        if not self.output.quantized:
            return conf
        return math.floor(conf / self.output.scale + self.output.zero_point)

    def _dequantize(self, values: np.ndarray) -> np.ndarray:
        if not self.output.quantized:
            return values.astype(np.float32, copy=False)
        return (values.astype(np.float32) - self.output.zero_point) * np.float32(self.output.scale)

    def __call__(self, arrays: list[np.ndarray], conf: float, classes: np.ndarray | None) -> Detections:
        raw = arrays[0].reshape(self.output.shape[-2:])
        # Work channels-first: every row is one channel over all anchors, contiguous when the model is.
        head = raw if self.channels_first else raw.T
        class_rows = head[self.first_class :]
        if classes is not None:
            classes = classes[(classes >= 0) & (classes < self.num_classes)]
            class_rows = class_rows[classes]
            if not len(classes):
                return Detections.empty()
        threshold = self._threshold_q(conf)
        if self.objectness:
            # score = objectness × class ≤ objectness × (largest class score the tensor can hold), so
            # objectness alone pre-filters. That largest score can exceed 1 on a quantized head (uint8 with
            # a zero point above 0, or a scale a little over 1/255).
            objectness = head[4]
            candidates = np.flatnonzero(objectness >= self._threshold_q(conf / self._max_class_score))
            class_scores = self._dequantize(class_rows[:, candidates])
            best = class_scores.argmax(axis=0)
            scores = class_scores[best, np.arange(candidates.size)] * self._dequantize(objectness[candidates])
        else:
            best_raw = class_rows.max(axis=0)
            candidates = np.flatnonzero(best_raw >= threshold)
            best = class_rows[:, candidates].argmax(axis=0)
            scores = self._dequantize(best_raw[candidates])
        keep = scores >= conf
        candidates, best, scores = candidates[keep], best[keep], scores[keep]
        class_ids = (best if classes is None else classes[best]).astype(np.int32)
        if self._box_scale is None:
            self.box_format = self._guess_box_format(head)
            self._box_scale = self._scale_for(self.box_format)
        boxes = cxcywh_to_xyxy(self._dequantize(head[:4, candidates]).T * self._box_scale)
        return Detections(boxes, scores.astype(np.float32, copy=False), class_ids)

    def _guess_box_format(self, head: np.ndarray) -> str:
        if self.output.quantized:
            # One int8 scale cannot hold both 0..1 scores and 0..640 pixels: quantized heads are normalized.
            return "normalized"
        return box_format_of(head[:2])

    def describe(self) -> str:
        order = "[1, channels, anchors]" if self.channels_first else "[1, anchors, channels]"
        boxes = self.box_format or "auto (normalized or pixels, decided on the first frame)"
        return f"{self.family} {order}, {self.num_classes} classes, {self.anchors} anchors, boxes {boxes}"


def _build(
    family: str, input_hw: tuple[int, int], metadata: ModelMetadata, head: HeadLayout | None
) -> YoloDecoder:
    if head is None:
        raise ValueError(f"the {family} decoder needs the head layout build_decoder reads")
    return YoloDecoder(head.output, input_hw, family, head.channels_first, metadata.box_format)


def _decoder_of(family: str) -> Callable[..., YoloDecoder]:
    def build(
        outputs: list[TensorInfo], input_hw: tuple[int, int], metadata: ModelMetadata, head: HeadLayout | None
    ) -> YoloDecoder:
        return _build(family, input_hw, metadata, head)

    return build


# Ultralytics trains on [0, 1] RGB, letterboxed: the family defaults. v8 comes first: on a grid both fit
# (3 anchors per cell on one grid can equal 1 per cell on another), the anchor-free head is the likelier.
for _name, _description, _precedence in (
    ("yolov8", "single-tensor YOLOv8/v11 heads (4 + classes channels)", 20),
    ("yolov5", "single-tensor YOLOv5 heads (5 + classes channels: objectness)", 30),
):
    register_family(
        ModelFamily(
            name=_name,
            description=_description,
            decoder=_decoder_of(_name),
            head=HEADS[_name],
            box_format=float_head_box_format,
            precedence=_precedence,
        )
    )
