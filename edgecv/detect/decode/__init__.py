"""Choosing a decoder from a model's output shapes, its metadata and ``model.layout``."""

from __future__ import annotations

import math

from ...errors import ModelError
from ..metadata import ModelMetadata
from .base import Decoder, TensorInfo
from .ssd import SsdDecoder, looks_like_ssd
from .yolo import YoloDecoder

LAYOUTS = ("auto", "ssd", "yolov8", "yolov5")

__all__ = ["LAYOUTS", "Decoder", "TensorInfo", "build_decoder"]


def _grid_cells(input_hw: tuple[int, int], strides: tuple[int, ...]) -> int:
    h, w = input_hw
    return sum(math.ceil(h / s) * math.ceil(w / s) for s in strides)


def _anchor_counts(input_hw: tuple[int, int]) -> dict[int, str]:
    """Anchor counts YOLO heads produce for this input: one per cell (v8) or three per cell (v5)."""
    counts: dict[int, str] = {}
    for strides in ((8, 16, 32), (8, 16, 32, 64)):
        cells = _grid_cells(input_hw, strides)
        counts.setdefault(cells, "yolov8")
        counts.setdefault(3 * cells, "yolov5")
    return counts


def build_decoder(
    outputs: list[TensorInfo],
    input_hw: tuple[int, int],
    metadata: ModelMetadata | None = None,
    layout: str = "auto",
    num_labels: int | None = None,
) -> Decoder:
    """Pick the decoder for ``outputs``; explain what was found and which key to set when unsure."""
    metadata = metadata or ModelMetadata()
    if layout not in LAYOUTS:
        raise ModelError(f"unknown model.layout {layout!r}", f"use one of: {', '.join(LAYOUTS)}")
    if layout == "auto" and metadata.family in LAYOUTS:
        layout = metadata.family
    shapes = "; ".join(o.describe() for o in outputs)
    if layout == "ssd" or (layout == "auto" and looks_like_ssd(outputs)):
        return SsdDecoder(outputs, input_hw)
    heads = [o for o in outputs if len([d for d in o.shape if d != 1]) == 2 and len(o.shape) in (2, 3)]
    if len(outputs) != 1 or not heads:
        raise ModelError(
            f"unsupported output layout: {len(outputs)} output(s): {shapes}",
            "edgecv decodes SSD post-process outputs and single-tensor YOLOv5/v8/v11 heads; "
            "set model.layout (ssd, yolov8, yolov5) if this is one of them",
        )
    head = heads[0]
    a, b = head.shape[-2:]
    names = metadata.names if metadata.names is not None else None
    classes_known = len(names) if names else num_labels
    known_counts = _anchor_counts(input_hw)
    # The anchor axis is the one whose length a YOLO grid produces; else the longer axis.
    if a in known_counts and b not in known_counts:
        channels_first, anchors, channels = False, a, b
    elif b in known_counts and a not in known_counts:
        channels_first, anchors, channels = True, b, a
    else:
        channels_first = b >= a
        anchors, channels = (b, a) if channels_first else (a, b)
    family = layout if layout != "auto" else None
    if family is None:
        if anchors in known_counts:
            family = known_counts[anchors]
        elif classes_known and channels == 4 + classes_known:
            family = "yolov8"
        elif classes_known and channels == 5 + classes_known:
            family = "yolov5"
    if family is None:
        raise ModelError(
            f"cannot tell the YOLO head layout of output {shapes} for input {input_hw[0]}x{input_hw[1]}",
            "set model.layout to yolov8 (4+classes channels) or yolov5 (5+classes: objectness), "
            "or give model.labels so the class count tells",
        )
    minimum = 5 if family == "yolov5" else 4
    if channels <= minimum:
        raise ModelError(
            f"output {shapes} has {channels} channels, too few for a {family} head ({minimum} + classes)",
            "check model.layout",
        )
    return YoloDecoder(head, input_hw, family, channels_first, metadata.box_format)
