"""What a tracker tells the outputs: a track appeared, changed meaningfully, or ended."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

EventKind = Literal["new", "update", "end"]


@dataclass(frozen=True)
class TrackEvent:
    """One event of one track. Times are capture timestamps (epoch seconds) of the frames involved.

    ``box`` is the track's latest box (x1, y1, x2, y2) in source-image pixels; ``score`` its latest score
    and ``top_score`` the best it ever had. ``class_id`` is the model's index; outputs name it.
    """

    kind: EventKind
    track_id: int
    class_id: int
    score: float
    top_score: float
    box: np.ndarray
    first_seen: float
    last_seen: float

    @property
    def age(self) -> float:
        """Seconds between the first and the latest sighting."""
        return self.last_seen - self.first_seen
