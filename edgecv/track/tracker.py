"""A ByteTrack-class tracker over struct-of-arrays detections, with time in seconds, not frames.

Per frame: predict every track to the frame's timestamp; match high-score detections to the tracks seen in
the previous frame, then what is left of them to lost tracks (stage 1), low-score detections to tracks still
unmatched that were seen in the previous frame (stage 2: an occluded person's score drops before the box
disappears), then tentative tracks to what high detections are left (stage 3). Unmatched high detections
start tentative tracks, which die on their first miss and are confirmed (and given an id) after
``confirm_hits`` frames in a row. A confirmed track that goes unseen is *lost*: it keeps its id and goes on
being predicted for ``max(lost_s, lost_frames frames)``, then ends.

Matching compares boxes by IoU after widening both by a margin that grows with the time between frames
(``match_buffer``), so that a 5 fps camera, where people move half their width between frames, matches as
well as a 30 fps one. Tracked detections report the filter's box (``boxes``). Every one of these choices
was measured on seven MOT15 sequences together, at their own rates and at 5 fps (BENCHMARKS.md
"Tracking"); the reasons are at the code that makes them.

Two clocks come in with every frame (see :class:`~edgecv.frame.Frame`): ``ts``, the wall clock, only goes
into the events (``first_seen``, ``last_seen``); every duration (the Kalman step, the lost window, the update
rate limit, a track's age) is measured on ``mono``. A Pi that boots without an RTC has its wall clock set by
NTP hours later: measured on ``ts``, that step would predict every track hours ahead (+) and end it, or
freeze prediction and keep lost tracks for hours (-).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..boxes import cxcywh_to_xyxy, pairwise_buffered_iou, pairwise_iou
from ..config.tracker import GateConfig, TrackerConfig
from ..detections import Detections
from ..frame import SAME_TIME_S
from . import kalman
from .events import TrackEvent
from .matching import assign
from .reporting import Reporter
from .table import CONFIRMED, LOST, SCORE_HISTORY, TENTATIVE, TrackTable

_NEVER = 2.0  # a cost above any admissible IoU cost (1 - IoU <= 1)
# The matching margin grows with the time since the previous frame up to this many seconds: after a stall of
# several seconds it would otherwise cover every neighbour (a margin of a size or more) and match by chance.
_BUFFER_MAX_S = 1.0
_NONE = np.zeros(0, np.intp)
# A track whose Kalman velocity exceeds this many box heights per second is "in motion" and keeps a motion-
# gated camera's detector running. A walker moves about 0.5-1 height/s; a standing person's box, whose
# jitter the filter smooths, estimates under 0.05 (SSD MobileNet on a still frame of vtest: 0).
MOVING_HEIGHTS_PER_S = 0.1


class ByteTracker:
    """One source's tracker: ``update(detections, ts, mono)`` per frame, ``finish(ts)`` at the end.

    ``class_gates`` are per-class gates by class id (the config names classes; the caller resolves them).
    Ids are consecutive from 1, unique within the tracker and never reused; pass a shared ``ids`` counter
    (any iterator of ints) to make them unique across several trackers.
    """

    def __init__(
        self,
        config: TrackerConfig | None = None,
        class_gates: dict[int, GateConfig] | None = None,
        ids: Iterator[int] | None = None,
    ) -> None:
        self.config = config or TrackerConfig()
        self.tracks = TrackTable()
        self.reporter = Reporter(self.config.gate, class_gates or {}, self.config.events)
        self._next_id = 1
        self._ids = ids
        self._last_mono: float | None = None
        self._pending: tuple[TrackerConfig, Reporter] | None = None

    def reconfigure(self, config: TrackerConfig, class_gates: dict[int, GateConfig] | None = None) -> None:
        """New settings from the next frame on, keeping the tracks and their ids (a config reload).

        Callable from any thread: the change is handed over in one attribute store and taken by
        :meth:`update` before a frame, never in the middle of one.
        """
        self._pending = (config, Reporter(config.gate, class_gates or {}, config.events))

    def _new_ids(self, n: int) -> np.ndarray:
        if self._ids is not None:
            return np.array([next(self._ids) for _ in range(n)], np.int64)
        ids = np.arange(self._next_id, self._next_id + n, dtype=np.int64)
        self._next_id += n
        return ids

    def _cost(self, dets: Detections, dt: float) -> np.ndarray:
        """1 - IoU between every track's predicted box and every detection; class gating applied.

        Computed once per frame for all three stages (each stage reads its rows and columns): IoU is
        elementwise, so a stage's block is exactly what a per-stage computation would give.
        """
        t = self.tracks
        predicted = cxcywh_to_xyxy(t.mean[:, :4])
        buffer = self.config.match_buffer * min(dt, _BUFFER_MAX_S)
        if buffer > 0:
            # Over the seven MOT15 sequences, match_buffer 0.5 against plain IoU: +0.022 IDF1 and +0.013 MOTA
            # at 5 fps, +0.002 at native rates; 0.25 / 0.75 / 1 reach 0.494 / 0.508 / 0.505 IDF1 at 5 fps
            # against 0.516. The margin scales with the frame interval, not with how long a track has been
            # lost: widening lost tracks' boxes by their time unseen (their uncertainty grows) matched them to
            # passers-by in a trial (-0.015 IDF1 at 5 fps).
            iou = pairwise_buffered_iou(predicted, dets.boxes, t.mean[:, 2:4] * buffer)
        else:
            iou = pairwise_iou(predicted, dets.boxes)
        cost = np.subtract(1.0, iou, out=iou)
        if self.config.class_consistent:
            np.putmask(cost, t.class_col != dets.class_ids, _NEVER)
        return cost

    @staticmethod
    def _match(
        cost: np.ndarray, rows: np.ndarray, cols: np.ndarray, min_iou: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Assignment of track rows ``rows`` to detections ``cols`` (both ascending) on their block of ``cost``."""
        block = cost if rows.size == cost.shape[0] else cost.take(rows, axis=0)
        if cols.size != cost.shape[1]:
            block = block.take(cols, axis=1)
        r, c = assign(block, 1.0 - min_iou)
        return rows[r], cols[c]

    def update(
        self, detections: Detections, ts: float, mono: float | None = None
    ) -> tuple[Detections, list[TrackEvent]]:
        """Track one frame captured at wall time ``ts`` and monotonic time ``mono`` (seconds).

        ``mono=None`` measures durations on ``ts`` too: right for replays and synthetic scenes, whose
        timestamps are their own steady clock.
        """
        pending = self._pending
        if pending is not None:
            self._pending = None
            self.config, self.reporter = pending
        cfg, t = self.config, self.tracks
        now = ts if mono is None else mono
        # max(0, ...): a source whose clock went backwards (a replay restarting) predicts nothing, not backwards.
        dt = 0.0 if self._last_mono is None else max(0.0, now - self._last_mono)
        self._last_mono = now
        kalman.predict_table(t, dt)

        n_tracks, n_dets = len(t), len(detections)
        scores = detections.scores
        is_high = scores >= cfg.high_score
        high = is_high.nonzero()[0]
        # Before this frame's changes: tracks with an id (seen last frame or lost) and tentative ones.
        has_id = t.status != TENTATIVE
        rows1 = rows2 = rows3 = cols1 = cols2 = cols3 = _NONE
        if n_tracks and n_dets:
            cost = self._cost(detections, dt)
            # Stage 1: high detections, first against the tracks seen in the previous frame, then what is left
            # against lost tracks (DeepSORT's matching cascade, in one step). ByteTrack matches both in one
            # round, which lets a lost track, whose prediction has drifted for a while, take the detection
            # of a neighbour that was in view all along. Over the seven MOT15 sequences the cascade has 18%
            # fewer id switches at native rates (291 -> 238) and 21% at 5 fps (224 -> 176), +0.004 MOTA
            # (IDF1 the same) at native rates and +0.009 MOTA, +0.008 IDF1 at 5 fps.
            with_id = has_id.nonzero()[0]
            if with_id.size and high.size:
                seen = (t.status == CONFIRMED).nonzero()[0]
                if seen.size:
                    rows1, cols1 = self._match(cost, seen, high, cfg.match_iou)
                    is_high[cols1] = False
                if seen.size < with_id.size:
                    high_left = is_high.nonzero()[0]
                    if high_left.size:
                        rows_lost, cols_lost = self._match(
                            cost, (t.status == LOST).nonzero()[0], high_left, cfg.match_iou
                        )
                        is_high[cols_lost] = False
                        rows1, cols1 = np.concatenate([rows1, rows_lost]), np.concatenate([cols1, cols_lost])
            # Stage 2: low detections keep alive only tracks seen in the previous frame.
            low = ((scores >= cfg.low_score) & (scores < cfg.high_score)).nonzero()[0]
            if low.size:
                seen = t.status == CONFIRMED
                seen[rows1] = False
                seen_rows = seen.nonzero()[0]
                if seen_rows.size:
                    rows2, cols2 = self._match(cost, seen_rows, low, cfg.low_match_iou)
            # Stage 3: tentative tracks take what high detections are left.
            if with_id.size < n_tracks:
                high_left = is_high.nonzero()[0]
                if high_left.size:
                    rows3, cols3 = self._match(cost, (~has_id).nonzero()[0], high_left, cfg.match_iou)
        rows = np.concatenate([rows1, rows2, rows3])
        cols = np.concatenate([cols1, cols2, cols3])
        boxes = self._apply(rows, detections, cols, ts, now)

        # Tracks that became confirmed this frame get their ids now; lost tracks seen again are confirmed.
        # Only stage 3 matches tentative tracks, and only stage 1 lost ones (stage 2 takes confirmed ones).
        confirmed = rows
        if rows3.size:
            promote = rows3[t.hits[rows3] >= cfg.confirm_hits]
            if promote.size:
                t.status[promote] = CONFIRMED
                t.ids[promote] = self._new_ids(promote.size)
            confirmed = np.concatenate([rows1, rows2, promote])
        t.status[rows1] = CONFIRMED
        track_ids = np.full(n_dets, -1, np.int64)
        track_ids[cols] = t.ids[rows]  # -1 for tentative rows
        if boxes is not None:
            # What _apply reported for the matched tracks; tentative ones (no id) keep the detector's box.
            tracked = track_ids[cols] >= 0
            boxes[cols[tracked]] = t.box[rows[tracked]]
        events = self.reporter.on_confirmed(t, confirmed, now)

        events += self._age(rows, has_id, now)
        if n_dets:
            is_high[cols3] = False  # stage 1's columns are already off
            starters = (is_high & (scores >= cfg.new_track_score)).nonzero()[0]
            if starters.size:
                t.add(detections.boxes[starters], scores[starters], detections.class_ids[starters], ts, now)
                if cfg.confirm_hits <= 1:
                    new = np.arange(len(t) - starters.size, len(t))
                    t.status[new] = CONFIRMED
                    t.ids[new] = self._new_ids(new.size)
                    track_ids[starters] = t.ids[new]
                    events += self.reporter.on_frame(t, new, now)
        return Detections(
            detections.boxes if boxes is None else boxes, scores, detections.class_ids, track_ids
        ), events

    def _apply(
        self, rows: np.ndarray, dets: Detections, cols: np.ndarray, ts: float, mono: float
    ) -> np.ndarray | None:
        """Correct matched tracks with their detections, seen at wall time ``ts``, monotonic ``mono``.

        Returns a copy of the detections' boxes to report filtered boxes in (the caller fills the matched
        ones in from the table), or ``None`` when the detector's boxes are reported as they are.
        """
        if rows.size == 0:
            return None
        t = self.tracks
        # Coordinate-major gathers (take: a fraction of fancy indexing's overhead), see TrackTable.
        boxes = dets.boxes.T.take(cols, axis=1)  # [4, k]
        scores = dets.scores[cols]
        mean, cov = t.mean_t.take(rows, axis=1), t.cov_t.take(rows, axis=2)
        kalman.correct_t(mean, cov, boxes)
        t.mean_t[:, rows] = mean
        t.cov_t[:, :, rows] = cov
        hits = t.hits[rows]
        t.history.put(rows * SCORE_HISTORY + hits % SCORE_HISTORY, scores)  # flat index: one call
        t.hits[rows] = hits + 1
        t.last_seen[rows] = ts
        t.last_mono[rows] = mono
        t.misses[rows] = 0
        if self.config.boxes == "filtered":
            # The filter's estimate weighs this detection against the track's motion, and overlaps the true
            # box better than the detection alone: over the seven MOT15 sequences +0.020 MOTA, +0.009 IDF1
            # and 22% fewer id switches as scored at native rates (+0.014 / +0.007 at 5 fps), +0.033 MOTA on
            # TUD-Campus with YOLOv8n (-0.005 with SSD MobileNet). SORT and ByteTrack report it too.
            boxes = cxcywh_to_xyxy(mean[:4].T).T
        t.box_t[:, rows] = boxes
        t.score[rows] = scores
        t.top_score[rows] = np.maximum(t.top_score[rows], scores)
        if not self.config.class_consistent:
            # Class by score-weighted vote with hysteresis: one odd frame does not flip a car into a truck.
            same = t.class_id[rows] == dets.class_ids[cols]
            votes = t.class_votes[rows] + np.where(same, scores, -scores)
            flip = votes < 0
            t.class_id[rows[flip]] = dets.class_ids[cols[flip]]
            t.class_votes[rows] = np.where(flip, -votes, votes)
        return dets.boxes.copy() if self.config.boxes == "filtered" else None

    def _age(self, matched: np.ndarray, had_id: np.ndarray, mono: float) -> list[TrackEvent]:
        """Unmatched tracks: tentative ones die, confirmed ones become lost, lost ones expire (``mono``: now).

        ``had_id``: the tracks that were confirmed or lost before this frame (the others were tentative).
        """
        t = self.tracks
        missed = np.ones(len(t), np.bool_)
        missed[matched] = False
        # Unmatched tracks with an id are the lost ones now; matched ones were all confirmed in update.
        lost = missed & had_id
        np.putmask(t.status, lost, LOST)
        # Lost tracks keep moving but not growing: a size velocity extrapolated through an occlusion
        # (ByteTrack's rule) yields absurd boxes.
        np.copyto(t.size_vel_t, 0.0, where=lost)
        # A missed tentative track dies; a lost one once unseen for lost_s and for more than lost_frames frames
        # (a matched track has last_mono == mono, and unmatched ones with an id are the lost ones). The
        # floor in frames: at 5 fps a 1 s window is five looks, few to find someone again after they passed
        # behind another person. Over the seven MOT15 sequences 10 frames add 0.004 IDF1 and 0.001 MOTA at
        # 5 fps and change nothing at native rates (5, 15 and 20 frames do less; the cascade and the
        # matching margin already find most lost tracks again); lost_s = 2 at every rate instead gives the
        # same at 5 fps and trades 0.002 MOTA for 0.002 IDF1 at native rates, with more id switches.
        np.add(t.misses, missed, out=t.misses)
        dead = mono - t.last_mono > self.config.lost_s + SAME_TIME_S
        dead &= t.misses > self.config.lost_frames
        dead |= ~had_id
        dead &= missed
        if not dead.any():
            return []
        events = self.reporter.on_end(t, dead.nonzero()[0])
        t.keep(~dead)
        return events

    def needs_detection(self, min_speed: float = MOVING_HEIGHTS_PER_S) -> bool:
        """Whether the next frame needs the detector whatever the motion measurement says.

        Yes for a tentative track (it waits for its confirming hits), a track seen on the last detection that
        moves faster than ``min_speed`` box heights per second, and a lost track that stands still (the
        detector missed someone in place: found again on the next frame, not after ``max_skip_s``). A lost
        track that moves does not count: had it been in view, motion would show it, so a still frame ages it
        as a missed one (:meth:`hold`), as the detector would, missing it there.
        """
        t = self.tracks
        if not len(t):
            return False
        status = t.status
        if (status == TENTATIVE).any():
            return True
        m = t.mean_t  # coordinate-major: each row is one coordinate over all tracks
        limit = min_speed * np.maximum(m[3], 1.0)
        moving = m[4] * m[4] + m[5] * m[5] > limit * limit
        return bool((moving == (status == CONFIRMED)).any())

    def hold(self, mono: float) -> list[TrackEvent]:
        """A frame at ``mono`` on which the detector was skipped because nothing moved: what was seen is still
        there, what was gone is still gone. Tracks seen at the last detection stay as they are, unaged
        (``last_mono`` moves on: their lost window starts at the next detection that misses them) and the
        next Kalman step starts here, so the stillness neither moves them nor widens their match margin.
        Lost tracks (moving ones: still ones keep the detector running) count the frame as a miss and end
        once their lost window is over, as without gating (their ``end`` events are returned)."""
        if self._last_mono is not None and mono < self._last_mono:
            return []  # a source whose clock went backwards: nothing to hold
        self._last_mono = mono
        t = self.tracks
        status = t.status
        np.copyto(t.last_mono, mono, where=status == CONFIRMED)
        lost = status == LOST
        if not lost.any():
            return []
        t.misses += lost
        dead = lost & (mono - t.last_mono > self.config.lost_s + SAME_TIME_S)
        dead &= t.misses > self.config.lost_frames
        if not dead.any():
            return []
        events = self.reporter.on_end(t, dead.nonzero()[0])
        t.keep(~dead)
        return events

    def held(self) -> Detections:
        """The tracks a skipped frame (:meth:`hold`) holds in view, as that frame's detections: the confirmed
        tracks (seen at the last detection) with their ids, classes, last boxes and scores, in table order.

        Nothing moved, so they stand where the last detection saw them: scene rules run on them keep their
        timers (loiter, a pending zone enter or exit) on time between detections, and see no crossing."""
        t = self.tracks
        rows = (t.status == CONFIRMED).nonzero()[0]
        return Detections(t.box.take(rows, axis=0), t.score[rows], t.class_id[rows], t.ids[rows])

    def origins(self, track_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where and when the tracks of ``track_ids`` were first detected, while still tentative: their first
        boxes (``float32[N, 4]``) and wall times (``float64[N]``); nan for ids the tracker does not hold.

        Scene lines ask for the tracks they see for the first time: a person who crossed a line during the
        frames before their track was confirmed still crossed it.
        """
        t = self.tracks
        ids = np.asarray(track_ids, np.int64)
        boxes = np.full((ids.size, 4), np.nan, np.float32)
        first = np.full(ids.size, np.nan)
        if not len(t) or not ids.size:
            return boxes, first
        order = np.argsort(t.ids, kind="stable")
        rows = order[np.minimum(np.searchsorted(t.ids, ids, sorter=order), len(t) - 1)]
        found = (t.ids[rows] == ids) & (ids >= 0)
        boxes[found] = t.first_box[rows[found]]
        first[found] = t.first_seen[rows[found]]
        return boxes, first

    def finish(self, ts: float) -> list[TrackEvent]:
        """The source ended: ``end`` for every reported track still open; the tracker is then empty."""
        t = self.tracks
        events = self.reporter.on_end(t, np.arange(len(t)))
        t.keep(np.zeros(len(t), np.bool_))
        return events
