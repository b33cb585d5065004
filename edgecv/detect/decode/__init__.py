"""Choosing a decoder from a model's output shapes, its metadata and ``model.layout``.

The families themselves (SSD, YOLOv8, YOLOv5, ...) are rows of :data:`edgecv.detect.families.FAMILIES`,
each registered by its own module in this package; this module only applies their rules.
"""

from __future__ import annotations

from ...errors import ModelError
from ..families import AUTO, FAMILIES, HeadLayout, anchor_counts, by_class_count, families, layouts
from ..metadata import ModelMetadata
from .base import Decoder, TensorInfo

__all__ = ["Decoder", "TensorInfo", "build_decoder", "read_head"]


def read_head(outputs: list[TensorInfo], input_hw: tuple[int, int]) -> HeadLayout:
    """The single ``[1, channels, anchors]`` tensor (either axis order) of a head-family model.

    The anchor axis is the one whose length a known grid produces for this input; else the longer one.
    """
    heads = [o for o in outputs if len([d for d in o.shape if d != 1]) == 2 and len(o.shape) in (2, 3)]
    if len(outputs) != 1 or not heads:
        shapes = "; ".join(o.describe() for o in outputs)
        described = "; ".join(family.description for family in families())
        raise ModelError(
            f"unsupported output layout: {len(outputs)} output(s): {shapes}",
            f"edgecv decodes {described}; set model.layout ({', '.join(FAMILIES.names())}) if this is one "
            "of them",
        )
    head = heads[0]
    a, b = head.shape[-2:]
    known_counts = anchor_counts(input_hw)
    if a in known_counts and b not in known_counts:
        channels_first, anchors, channels = False, a, b
    elif b in known_counts and a not in known_counts:
        channels_first, anchors, channels = True, b, a
    else:
        channels_first = b >= a
        anchors, channels = (b, a) if channels_first else (a, b)
    return HeadLayout(head, channels_first, anchors, channels)


def build_decoder(
    outputs: list[TensorInfo],
    input_hw: tuple[int, int],
    metadata: ModelMetadata | None = None,
    layout: str = AUTO,
    num_labels: int | None = None,
) -> Decoder:
    """Pick the decoder for ``outputs``; explain what was found and which key to set when unsure.

    ``layout`` (else the model's metadata) names the family outright; ``auto`` tries the families' rules
    in precedence order: whole-output rules first, then a single head's anchor count, then its class count.
    """
    metadata = metadata or ModelMetadata()
    choices = layouts()
    if layout not in choices:
        raise ModelError(f"unknown model.layout {layout!r}", f"use one of: {', '.join(choices)}")
    if layout == AUTO and metadata.family is not None and metadata.family in FAMILIES:
        layout = metadata.family
    family = FAMILIES.get(layout) if layout != AUTO else None
    if family is None:
        family = next((f for f in families() if f.recognizes is not None and f.recognizes(outputs)), None)
    if family is not None and family.head is None:
        return family.decoder(outputs, input_hw, metadata, None)
    head = read_head(outputs, input_hw)
    if family is None:
        names = metadata.names if metadata.names is not None else None
        classes_known = len(names) if names else num_labels
        family = anchor_counts(input_hw).get(head.anchors)
        if family is None and classes_known:
            family = by_class_count(head.channels, classes_known)
    if family is None:
        shapes = "; ".join(o.describe() for o in outputs)
        choices_by_shape = " or ".join(
            f"{f.name} ({f.description})" for f in families() if f.head is not None
        )
        raise ModelError(
            f"cannot tell the head layout of output {shapes} for input {input_hw[0]}x{input_hw[1]}",
            f"set model.layout to {choices_by_shape}, or give model.labels so the class count tells",
        )
    assert family.head is not None  # families without a head rule returned above
    minimum = family.head.leading
    if head.channels <= minimum:
        raise ModelError(
            f"output {'; '.join(o.describe() for o in outputs)} has {head.channels} channels, too few for a "
            f"{family.name} head ({minimum} + classes)",
            "check model.layout",
        )
    return family.decoder(outputs, input_hw, metadata, head)
