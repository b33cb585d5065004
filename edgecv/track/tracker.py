"""A ByteTrack-class tracker over struct-of-arrays detections, with time in seconds, not frames.

Per frame: predict every track to the frame's timestamp; match high-score detections to confirmed and lost
tracks (stage 1), low-score detections to tracks still unmatched that were seen in the previous frame
(stage 2: an occluded person's score drops before the box disappears), then tentative tracks to what high
detections are left (stage 3). Unmatched high detections start tentative tracks, which die on their first
miss and are confirmed (and given an id) after ``confirm_hits`` frames in a row. A confirmed track that
goes unseen is *lost*: it keeps its id and goes on being predicted for ``lost_s`` seconds, then ends.
"""

from __future__ import annotations

import numpy as np

from ..config.tracker import GateConfig, TrackerConfig
from ..detections import Detections
from . import kalman
from .events import TrackEvent
from .matching import assign, iou_matrix
from .reporting import Reporter
from .table import CONFIRMED, LOST, SCORE_HISTORY, TENTATIVE, TrackTable

_NEVER = 2.0  # a cost above any admissible IoU cost (1 - IoU <= 1)


class ByteTracker:
    """One source's tracker: ``update(detections, ts)`` per frame, ``finish(ts)`` at the end.

    ``class_gates`` are per-class gates by class id (the config names classes; the caller resolves them).
    Ids are consecutive from 1, unique within the tracker and never reused; pass a shared ``ids`` counter
    (any iterator of ints) to make them unique across several trackers.
    """

    def __init__(
        self,
        config: TrackerConfig | None = None,
        class_gates: dict[int, GateConfig] | None = None,
        ids: object | None = None,
    ) -> None:
        self.config = config or TrackerConfig()
        self.tracks = TrackTable()
        self.reporter = Reporter(self.config.gate, class_gates or {}, self.config.events)
        self._next_id = 1
        self._ids = ids
        self._last_ts: float | None = None

    def _new_ids(self, n: int) -> np.ndarray:
        if self._ids is not None:
            return np.array([next(self._ids) for _ in range(n)], np.int64)  # type: ignore[call-overload]
        ids = np.arange(self._next_id, self._next_id + n, dtype=np.int64)
        self._next_id += n
        return ids

    def _cost(self, rows: np.ndarray, dets: Detections, cols: np.ndarray) -> np.ndarray:
        """1 - IoU between the predicted boxes of ``rows`` and detections ``cols``; class gating applied."""
        t = self.tracks
        cost = 1.0 - iou_matrix(kalman.cxcywh_to_xyxy(t.mean[rows]), dets.boxes[cols])
        if self.config.class_consistent:
            cost[t.class_id[rows][:, None] != dets.class_ids[cols][None, :]] = _NEVER
        return cost

    def _match(
        self, rows: np.ndarray, dets: Detections, cols: np.ndarray, min_iou: float
    ) -> tuple[np.ndarray, np.ndarray]:
        if rows.size == 0 or cols.size == 0:
            return rows[:0], cols[:0]
        r, c = assign(self._cost(rows, dets, cols), 1.0 - min_iou)
        return rows[r], cols[c]

    def update(self, detections: Detections, ts: float) -> tuple[Detections, list[TrackEvent]]:
        cfg, t = self.config, self.tracks
        dt = 0.0 if self._last_ts is None else max(0.0, ts - self._last_ts)
        self._last_ts = ts
        kalman.predict(t.mean, t.cov, dt)

        scores = detections.scores
        is_high = scores >= cfg.high_score
        high = is_high.nonzero()[0]
        low = (~is_high & (scores >= cfg.low_score)).nonzero()[0]
        status = t.status
        # Stage 1: high detections against every track that has an id (seen last frame or lost). One
        # Hungarian round over both, as ByteTrack does: DeepSORT's cascade (recently seen tracks first) cost
        # IDF1 on TUD-Stadtmitte with simulated detections.
        rows1, cols1 = self._match((status != TENTATIVE).nonzero()[0], detections, high, cfg.match_iou)
        # Stage 2: low detections keep alive only tracks seen in the previous frame.
        seen = status == CONFIRMED
        seen[rows1] = False
        rows2, cols2 = self._match(seen.nonzero()[0], detections, low, cfg.low_match_iou)
        # Stage 3: tentative tracks take what high detections are left.
        is_high[cols1] = False
        high_left = is_high.nonzero()[0]
        rows3, cols3 = self._match((status == TENTATIVE).nonzero()[0], detections, high_left, cfg.match_iou)

        rows = np.concatenate([rows1, rows2, rows3])
        cols = np.concatenate([cols1, cols2, cols3])
        self._apply(rows, detections, cols, ts)

        # Tracks that became confirmed this frame get their ids now.
        promote = rows[(t.status[rows] == TENTATIVE) & (t.hits[rows] >= cfg.confirm_hits)]
        if promote.size:
            t.status[promote] = CONFIRMED
            t.ids[promote] = self._new_ids(promote.size)
        t.status[rows[t.status[rows] == LOST]] = CONFIRMED
        track_ids = np.full(len(detections), -1, np.int64)
        track_ids[cols] = t.ids[rows]  # -1 for tentative rows
        events = self.reporter.on_frame(t, rows, ts)

        events += self._age(rows, ts)
        is_high[cols3] = False
        starters = (is_high & (scores >= cfg.new_track_score)).nonzero()[0]
        if starters.size:
            t.add(detections.boxes[starters], scores[starters], detections.class_ids[starters], ts)
            if cfg.confirm_hits <= 1:
                new = np.arange(len(t) - starters.size, len(t))
                t.status[new] = CONFIRMED
                t.ids[new] = self._new_ids(new.size)
                track_ids[starters] = t.ids[new]
                events += self.reporter.on_frame(t, new, ts)
        return detections.with_track_ids(track_ids), events

    def _apply(self, rows: np.ndarray, dets: Detections, cols: np.ndarray, ts: float) -> None:
        """Correct matched tracks with their detections."""
        if rows.size == 0:
            return
        t = self.tracks
        boxes = dets.boxes[cols]
        scores = dets.scores[cols]
        t.mean[rows], t.cov[rows] = kalman.update(t.mean[rows], t.cov[rows], boxes)
        t.history[rows, t.hits[rows] % SCORE_HISTORY] = scores
        t.hits[rows] += 1
        t.last_seen[rows] = ts
        t.box[rows] = boxes
        t.score[rows] = scores
        t.top_score[rows] = np.maximum(t.top_score[rows], scores)
        if not self.config.class_consistent:
            # Class by score-weighted vote with hysteresis: one odd frame does not flip a car into a truck.
            same = t.class_id[rows] == dets.class_ids[cols]
            votes = t.class_votes[rows] + np.where(same, scores, -scores)
            flip = votes < 0
            t.class_id[rows[flip]] = dets.class_ids[cols[flip]]
            t.class_votes[rows] = np.where(flip, -votes, votes)

    def _age(self, matched: np.ndarray, ts: float) -> list[TrackEvent]:
        """Unmatched tracks: tentative ones die, confirmed ones become lost, lost ones expire."""
        t = self.tracks
        missed = np.ones(len(t), np.bool_)
        missed[matched] = False
        t.status[missed & (t.status == CONFIRMED)] = LOST
        lost = t.status == LOST
        # Lost tracks keep moving but not growing: a size velocity extrapolated through an occlusion
        # (ByteTrack's rule) yields absurd boxes.
        t.mean[lost, 6:] = 0.0
        dead = missed & ((t.status == TENTATIVE) | (lost & (ts - t.last_seen > self.config.lost_s)))
        if not dead.any():
            return []
        events = self.reporter.on_end(t, dead.nonzero()[0])
        t.keep(~dead)
        return events

    def finish(self, ts: float) -> list[TrackEvent]:
        """The source ended: ``end`` for every reported track still open; the tracker is then empty."""
        t = self.tracks
        events = self.reporter.on_end(t, np.arange(len(t)))
        t.keep(np.zeros(len(t), np.bool_))
        return events

    @property
    def active_count(self) -> int:
        """Confirmed tracks seen in the latest frame."""
        return int(np.count_nonzero(self.tracks.status == CONFIRMED))
