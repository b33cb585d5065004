"""What a tracker tells the outputs: a track appeared, changed meaningfully, or ended."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

EventKind = Literal["new", "update", "end"]


@dataclass(frozen=True)
class TrackEvent:
    """One event of one track. ``first_seen``/``last_seen`` are capture timestamps (epoch seconds, wall
    clock) of the frames involved; ``duration`` is the seconds between them on the monotonic clock, which a
    wall-clock step (NTP correcting a Pi that booted without an RTC) does not change.

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
    duration: float | None = None  # None: not measured apart from the wall clock (last_seen - first_seen)

    @property
    def age(self) -> float:
        """Seconds between the first and the latest sighting, never negative."""
        return max(0.0, self.last_seen - self.first_seen if self.duration is None else self.duration)
