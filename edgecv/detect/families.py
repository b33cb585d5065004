"""Model families: everything edgecv knows about a kind of detector head, in one table row each.

A :class:`ModelFamily` says how to decode the family's outputs, how to recognise them among a model's
outputs, what input normalisation and resize it was trained with and how its boxes are expressed. The
decoder selection (:func:`edgecv.detect.decode.build_decoder`), the detector's preprocessing defaults,
``model.layout`` (its validation, its choices in ``edgecv config --schema``), ``edgecv convert --layout``
and the converter's family and box-format logic all read :data:`FAMILIES`; nothing else lists families.

How to add a model family
-------------------------
1. Write one module ``edgecv/detect/decode/<name>.py``. It holds the decoder (a class with ``family`` and
   ``num_classes`` attributes, ``__call__(arrays, conf, classes) -> Detections`` and ``describe()``; see
   :class:`edgecv.detect.decode.base.Decoder`) and, at the bottom, one call::

       register_family(ModelFamily(
           name="toy",
           description="Toy single-tensor head (6 + classes channels)",
           decoder=build_toy_decoder,          # (outputs, input_hw, metadata, head) -> Decoder
           head=HeadShape(leading=6, anchors_per_cell=2),   # or recognizes=... ; or neither
           mean=(0.0, 0.0, 0.0), std=(255.0, 255.0, 255.0),  # the defaults: [0, 1] inputs
           resize="letterbox",                  # the default
       ))

   Pick how ``model.layout: auto`` finds the family:

   * ``head=HeadShape(...)`` for a single output tensor ``[1, channels, anchors]`` (either axis order):
     the family claims a head whose anchor count is ``anchors_per_cell`` × the cells of a stride 8/16/32
     (or 8/16/32/64) grid, or, failing that, whose channel count is ``leading`` + the number of labels.
     The decoder factory then receives the :class:`HeadLayout` (which tensor, which axis holds anchors);
   * ``recognizes=fn`` for anything else: ``fn(outputs) -> bool`` looks at every output tensor (the SSD
     family recognises the post-process op's four outputs); the factory receives ``head=None``;
   * neither: the family is only used when ``model.layout`` (or the model's metadata) names it.

   When two families' rules fit the same outputs, the lower ``precedence`` wins; the built-in families
   use 10-30 and a new one defaults to 100, so it never takes a model away from them.
   ``box_format`` (``fn(float_head) -> "normalized" | "pixels"``) lets ``edgecv convert`` record how the
   float model's boxes come out; leave it ``None`` when the format is fixed by the family.
2. Write its test, ``tests/detect/test_decode_<name>.py``.

That is all: the module is imported the first time anyone asks :data:`FAMILIES` for names, so
``model.layout: toy``, ``edgecv convert --layout toy`` and ``edgecv config --schema`` know it at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ..registry import Registry

if TYPE_CHECKING:
    # Annotations only. The decoder modules import this one to register themselves, so importing them
    # back would be circular; and config validation reads the table without paying for OpenCV or numpy.
    import numpy as np

    from .decode.base import Decoder, TensorInfo
    from .metadata import ModelMetadata
    from .preprocess import ResizeMode

Triple = tuple[float, float, float]

AUTO = "auto"  # model.layout / --layout value that lets shapes and metadata decide
DEFAULT_MEAN: Triple = (0.0, 0.0, 0.0)  # [0, 1] inputs: what Ultralytics and most detectors train with
DEFAULT_STD: Triple = (255.0, 255.0, 255.0)
DEFAULT_RESIZE: ResizeMode = "letterbox"
# Grids of single-tensor heads: P3-P5 (strides 8, 16, 32) and the P6 variants that add stride 64.
GRID_STRIDES: tuple[tuple[int, ...], ...] = ((8, 16, 32), (8, 16, 32, 64))


@dataclass(frozen=True)
class HeadShape:
    """The shape rule of a single-tensor head: ``leading`` channels, then one score per class.

    ``leading`` is 4 for box-only heads (cx, cy, w, h) and 5 when an objectness score follows the box;
    ``anchors_per_cell`` is how many predictions each grid cell makes (1 anchor-free, 3 for YOLOv5).
    """

    leading: int
    anchors_per_cell: int

    def anchor_counts(self, input_hw: tuple[int, int]) -> tuple[int, ...]:
        """Anchor counts such a head produces for this input, one per grid in :data:`GRID_STRIDES`."""
        return tuple(self.anchors_per_cell * grid_cells(input_hw, strides) for strides in GRID_STRIDES)


@dataclass(frozen=True)
class HeadLayout:
    """How a single-tensor head was read: the tensor, which axis holds the anchors, and both lengths."""

    output: TensorInfo
    channels_first: bool
    anchors: int
    channels: int


class DecoderFactory(Protocol):
    """Builds a family's decoder; ``head`` is set for families with a :class:`HeadShape`, else ``None``."""

    def __call__(
        self,
        outputs: list[TensorInfo],
        input_hw: tuple[int, int],
        metadata: ModelMetadata,
        head: HeadLayout | None,
    ) -> Decoder: ...


@dataclass(frozen=True)
class ModelFamily:
    """One kind of detector head: how to find it, decode it and feed it. See the module docstring."""

    name: str
    description: str  # one line a person reads in hints: what the family's outputs look like
    decoder: DecoderFactory
    head: HeadShape | None = None
    recognizes: Callable[[list[TensorInfo]], bool] | None = None
    mean: Triple = DEFAULT_MEAN  # real input = (pixel - mean) / std, as the family was trained
    std: Triple = DEFAULT_STD
    resize: ResizeMode = DEFAULT_RESIZE
    box_format: Callable[[np.ndarray], str] | None = None
    precedence: int = 100
    # Class ids with gaps (the TF Object Detection API's COCO ids): its label maps mark the gaps with ``???``
    # lines. A label file with such gaps given to a family without them is the wrong file (edgecv.labels).
    gapped_ids: bool = False
    # The tracker's first-stage score (tracker.high_score) when the config leaves it unset. Scores are in each
    # detector's own scale: a family whose detectors score true objects lower needs a lower bar.
    track_high_score: float | None = None

    def __post_init__(self) -> None:
        if self.head is not None and self.recognizes is not None:
            raise ValueError(f"model family {self.name!r}: give head or recognizes, not both")


FAMILIES: Registry[ModelFamily] = Registry(
    "model family", "edgecv.detect.decode", order=lambda family: family.precedence
)


def register_family(family: ModelFamily) -> ModelFamily:
    """Add ``family`` to :data:`FAMILIES` under its name; called once, at the bottom of its module."""
    return FAMILIES.register(family.name, family)


def layouts() -> tuple[str, ...]:
    """What ``model.layout`` and ``--layout`` accept: ``auto`` and every family, in precedence order."""
    return (AUTO, *FAMILIES.names())


def families() -> list[ModelFamily]:
    """Every family, in precedence order (the order auto-detection tries them)."""
    return [family for _, family in FAMILIES]


def find(name: str | None) -> ModelFamily | None:
    """The family called ``name``; ``None`` for no name or one no module registers."""
    return FAMILIES.get(name) if name is not None and name in FAMILIES else None


def normalization(name: str | None) -> tuple[Triple, Triple]:
    """``(mean, std)`` the family was trained with; [0, 1] inputs for a model of no known family."""
    family = find(name)
    return (family.mean, family.std) if family is not None else (DEFAULT_MEAN, DEFAULT_STD)


def default_resize(name: str | None) -> ResizeMode:
    """How frames are fitted to the input of this family when neither config nor metadata says."""
    family = find(name)
    return family.resize if family is not None else DEFAULT_RESIZE


def grid_cells(input_hw: tuple[int, int], strides: tuple[int, ...]) -> int:
    h, w = input_hw
    return sum(math.ceil(h / s) * math.ceil(w / s) for s in strides)


def anchor_counts(input_hw: tuple[int, int]) -> dict[int, ModelFamily]:
    """Anchor count → the head family that produces it for this input (the smaller grid first)."""
    counts: dict[int, ModelFamily] = {}
    heads = [family for family in families() if family.head is not None]
    for index in range(len(GRID_STRIDES)):
        for family in heads:
            assert family.head is not None
            counts.setdefault(family.head.anchor_counts(input_hw)[index], family)
    return counts


def by_class_count(channels: int, classes: int) -> ModelFamily | None:
    """The head family whose ``leading + classes`` channels make ``channels``, if any."""
    for family in families():
        if family.head is not None and family.head.leading + classes == channels:
            return family
    return None
