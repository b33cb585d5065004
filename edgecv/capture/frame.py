"""A captured frame and the counters every source keeps."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Frame:
    """One image as captured: BGR uint8 ``H×W×3``, with its place in the stream."""

    image: np.ndarray
    seq: int  # per source, from 0, counting frames handed to the pipeline
    ts: float  # capture time, epoch seconds
    source_id: str = "0"


@dataclass
class SourceStats:
    frames: int = 0  # frames handed out
    dropped: int = 0  # frames captured but replaced by a newer one before anyone read them
    failures: int = 0  # failed reads and failed (re)opens
    reconnects: int = 0  # successful reopens after a loss
    outages: list[float] = field(default_factory=list)  # seconds each loss lasted
