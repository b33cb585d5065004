"""A captured frame: what sources hand the pipeline and the pipeline hands every sink, beside
:class:`~edgecv.detections.Detections`. Shared, so it lives outside the capture package: sinks never
import capture."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Frame:
    """One image as captured: BGR uint8 ``H×W×3``, with its place in the stream."""

    image: np.ndarray
    seq: int  # per source, from 0, counting frames handed to the pipeline
    ts: float  # capture time, epoch seconds
    source_id: str = "0"
