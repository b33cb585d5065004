"""Every live track as one row of parallel arrays: the tracker works on all of them at once."""

from __future__ import annotations

import numpy as np

from . import kalman
from .kalman import PP, PV, VV

TENTATIVE, CONFIRMED, LOST = 0, 1, 2
SCORE_HISTORY = 10  # recent scores kept for the gating median (Frigate keeps the same number)

_FIELDS: dict[str, tuple[type, tuple[int, ...]]] = {
    "ids": (np.int64, ()),  # -1 while tentative: ids are spent only on confirmed tracks
    "status": (np.int8, ()),
    "mean": (np.float64, (8,)),
    "cov": (np.float64, (3, 4)),  # per coordinate: var(pos), cov(pos, vel), var(vel)
    "hits": (np.int32, ()),  # frames matched so far
    "misses": (np.int32, ()),  # frames missed since the last match (the lost window's floor in frames)
    "first_seen": (np.float64, ()),  # wall clock (frame ts): reported in events, never subtracted
    "last_seen": (np.float64, ()),
    "first_mono": (np.float64, ()),  # monotonic clock (frame mono): ages, the lost window
    "last_mono": (np.float64, ()),
    "class_id": (np.int32, ()),
    "class_votes": (np.float32, ()),  # score-weighted support for class_id (hysteresis for class changes)
    "score": (np.float32, ()),
    "top_score": (np.float32, ()),
    "box": (np.float32, (4,)),  # latest observed box: what is reported, never the filter's guess
    "first_box": (np.float32, (4,)),  # the detection that started the track (scene lines: where it came from)
    "history": (np.float32, (SCORE_HISTORY,)),
    "reported": (np.bool_, ()),
    "event_mono": (np.float64, ()),  # monotonic time of the last new/update event: the rate limit
    "event_box": (np.float32, (4,)),
    "event_score": (np.float32, ()),
    "event_class": (np.int32, ()),
}


_COORDINATE_MAJOR = ("mean", "cov", "box", "event_box")


class TrackTable:
    """Rows are tracks; adding and removing rebuild the arrays (rare next to per-frame updates).

    ``mean``, ``cov``, ``box`` and ``event_box`` are stored coordinate-major (Fortran order: the track index varies fastest), and
    the table keeps coordinate-major views of them that the per-frame maths works on. On a few dozen
    tracks, numpy's cost is per inner loop: a ``[n, 4]`` row-major operand runs n loops of 4 elements, the
    same operand coordinate-major runs 4 loops of n. The views are made once per rebuild, not per frame.
    """

    ids: np.ndarray
    status: np.ndarray
    mean: np.ndarray
    cov: np.ndarray
    hits: np.ndarray
    misses: np.ndarray
    first_seen: np.ndarray
    last_seen: np.ndarray
    first_mono: np.ndarray
    last_mono: np.ndarray
    class_id: np.ndarray
    class_votes: np.ndarray
    score: np.ndarray
    top_score: np.ndarray
    box: np.ndarray
    first_box: np.ndarray
    history: np.ndarray
    reported: np.ndarray
    event_mono: np.ndarray
    event_box: np.ndarray
    event_score: np.ndarray
    event_class: np.ndarray
    # coordinate-major views (see the class docstring)
    mean_t: np.ndarray  # [8, n]: cx, cy, w, h, then their velocities
    cov_t: np.ndarray  # [3, 4, n]: block (PP, PV, VV), coordinate, track
    pos_t: np.ndarray  # [4, n]
    vel_t: np.ndarray  # [4, n]
    size_vel_t: np.ndarray  # [2, n]
    size_b: np.ndarray  # [1, 2, n]: (w, h), broadcast over a block's (centre, size) coordinate pairs
    pp3: np.ndarray  # [2, 2, n]: a covariance block as (centre | size) x (x | y) x track
    pv3: np.ndarray
    vv3: np.ndarray
    class_col: np.ndarray  # [n, 1]
    box_t: np.ndarray  # [4, n]
    event_box_t: np.ndarray  # [4, n]

    def __init__(self) -> None:
        for name, (dtype, shape) in _FIELDS.items():
            setattr(self, name, np.zeros((0, *shape), dtype, order="F" if name in _COORDINATE_MAJOR else "C"))
        self._make_views()

    def _set(self, name: str, values: np.ndarray) -> None:
        setattr(self, name, np.asfortranarray(values) if name in _COORDINATE_MAJOR else values)

    def _make_views(self) -> None:
        n = self.ids.shape[0]
        mean_t = self.mean_t = self.mean.T
        cov_t = self.cov_t = self.cov.transpose(1, 2, 0)
        self.pos_t, self.vel_t, self.size_vel_t = mean_t[:4], mean_t[4:], mean_t[6:]
        self.size_b = mean_t[None, 2:4]
        # Coordinate c of a block sits at (c // 2, c % 2): its scale (w or h) is size_b[0, c % 2].
        self.pp3, self.pv3, self.vv3 = (cov_t[block].reshape(2, 2, n) for block in (PP, PV, VV))
        self.class_col = self.class_id[:, None]
        self.box_t, self.event_box_t = self.box.T, self.event_box.T

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def add(
        self,
        boxes: np.ndarray,
        scores: np.ndarray,
        class_ids: np.ndarray,
        ts: float,
        mono: float | None = None,
    ) -> None:
        """Start tentative tracks from detections seen at wall time ``ts``, monotonic time ``mono``
        (``None``: ``ts`` is the only clock)."""
        mono = ts if mono is None else mono
        n = boxes.shape[0]
        if n == 0:
            return
        mean, cov = kalman.initiate(boxes)
        history = np.zeros((n, SCORE_HISTORY), np.float32)
        history[:, 0] = scores
        new = {
            "ids": np.full(n, -1, np.int64),
            "status": np.full(n, TENTATIVE, np.int8),
            "mean": mean,
            "cov": cov,
            "hits": np.ones(n, np.int32),
            "misses": np.zeros(n, np.int32),
            "first_seen": np.full(n, ts),
            "last_seen": np.full(n, ts),
            "first_mono": np.full(n, mono),
            "last_mono": np.full(n, mono),
            "class_id": class_ids.astype(np.int32),
            "class_votes": scores.astype(np.float32),
            "score": scores.astype(np.float32),
            "top_score": scores.astype(np.float32),
            "box": boxes.astype(np.float32),
            "first_box": boxes.astype(np.float32),
            "history": history,
            "reported": np.zeros(n, np.bool_),
            "event_mono": np.full(n, mono),
            "event_box": boxes.astype(np.float32),
            "event_score": scores.astype(np.float32),
            "event_class": class_ids.astype(np.int32),
        }
        for name, values in new.items():
            self._set(name, np.concatenate([getattr(self, name), values]))
        self._make_views()

    def keep(self, mask: np.ndarray) -> None:
        for name in _FIELDS:
            self._set(name, getattr(self, name)[mask])
        self._make_views()
