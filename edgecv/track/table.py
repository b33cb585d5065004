"""Every live track as one row of parallel arrays: the tracker works on all of them at once."""

from __future__ import annotations

import numpy as np

from . import kalman

TENTATIVE, CONFIRMED, LOST = 0, 1, 2
SCORE_HISTORY = 10  # recent scores kept for the gating median (Frigate keeps the same number)

_FIELDS: dict[str, tuple[type, tuple[int, ...]]] = {
    "ids": (np.int64, ()),  # -1 while tentative: ids are spent only on confirmed tracks
    "status": (np.int8, ()),
    "mean": (np.float64, (8,)),
    "cov": (np.float64, (3, 4)),  # per coordinate: var(pos), cov(pos, vel), var(vel)
    "hits": (np.int32, ()),  # frames matched so far
    "first_seen": (np.float64, ()),
    "last_seen": (np.float64, ()),
    "class_id": (np.int32, ()),
    "class_votes": (np.float32, ()),  # score-weighted support for class_id (hysteresis for class changes)
    "score": (np.float32, ()),
    "top_score": (np.float32, ()),
    "box": (np.float32, (4,)),  # latest observed box: what is reported, never the filter's guess
    "history": (np.float32, (SCORE_HISTORY,)),
    "reported": (np.bool_, ()),
    "event_ts": (np.float64, ()),  # last new/update event: rate limit and change baselines
    "event_box": (np.float32, (4,)),
    "event_score": (np.float32, ()),
    "event_class": (np.int32, ()),
}


class TrackTable:
    """Rows are tracks; adding and removing rebuild the arrays (rare next to per-frame updates)."""

    ids: np.ndarray
    status: np.ndarray
    mean: np.ndarray
    cov: np.ndarray
    hits: np.ndarray
    first_seen: np.ndarray
    last_seen: np.ndarray
    class_id: np.ndarray
    class_votes: np.ndarray
    score: np.ndarray
    top_score: np.ndarray
    box: np.ndarray
    history: np.ndarray
    reported: np.ndarray
    event_ts: np.ndarray
    event_box: np.ndarray
    event_score: np.ndarray
    event_class: np.ndarray

    def __init__(self) -> None:
        for name, (dtype, shape) in _FIELDS.items():
            setattr(self, name, np.zeros((0, *shape), dtype))

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def add(self, boxes: np.ndarray, scores: np.ndarray, class_ids: np.ndarray, ts: float) -> None:
        """Start tentative tracks from detections seen at ``ts``."""
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
            "first_seen": np.full(n, ts),
            "last_seen": np.full(n, ts),
            "class_id": class_ids.astype(np.int32),
            "class_votes": scores.astype(np.float32),
            "score": scores.astype(np.float32),
            "top_score": scores.astype(np.float32),
            "box": boxes.astype(np.float32),
            "history": history,
            "reported": np.zeros(n, np.bool_),
            "event_ts": np.full(n, ts),
            "event_box": boxes.astype(np.float32),
            "event_score": scores.astype(np.float32),
            "event_class": class_ids.astype(np.int32),
        }
        for name, values in new.items():
            setattr(self, name, np.concatenate([getattr(self, name), values]))

    def keep(self, mask: np.ndarray) -> None:
        for name in _FIELDS:
            setattr(self, name, getattr(self, name)[mask])
