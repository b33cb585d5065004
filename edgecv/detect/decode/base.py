"""What every decoder receives and returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ...detections import Detections


@dataclass(frozen=True)
class TensorInfo:
    """An interpreter tensor as the decoders see it (from ``get_output_details()``)."""

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    scale: float = 0.0
    zero_point: int = 0

    @classmethod
    def from_details(cls, details: dict) -> TensorInfo:
        scale, zero_point = details.get("quantization", (0.0, 0))
        return cls(
            index=int(details["index"]),
            name=str(details.get("name", "")),
            shape=tuple(int(d) for d in details["shape"]),
            dtype=np.dtype(details["dtype"]),
            scale=float(scale),
            zero_point=int(zero_point),
        )

    @property
    def quantized(self) -> bool:
        return self.dtype.kind in "iu" and self.scale > 0

    def describe(self) -> str:
        quant = f" q(scale={self.scale:.6g}, zp={self.zero_point})" if self.quantized else ""
        return f"{self.name or '?'} {list(self.shape)} {self.dtype.name}{quant}"


class Decoder(Protocol):
    """Turns raw output arrays (in the order of ``outputs``) into scored boxes in model-input pixels.

    ``num_classes`` is how many classes the model scores, from its head shape or its own options (``None``
    when the model does not say): a label file must name exactly that many (:func:`edgecv.labels.fit_error`).
    """

    family: str

    @property
    def num_classes(self) -> int | None: ...

    def __call__(self, arrays: list[np.ndarray], conf: float, classes: np.ndarray | None) -> Detections: ...

    def describe(self) -> str: ...
