"""Lines: directed segments counted per track and direction; jitter counts once, shallow crossings count.

Sign convention (pixel coordinates, x right, y down): for a line from ``(x1, y1)`` to ``(x2, y2)`` a point is
on the ``in`` side when ``(x2 - x1)(y - y1) - (y2 - y1)(x - x1) > 0``; for a line drawn top to bottom that is
the left of the image.

A track has a *counted side* per line: the side where it began (where the tracker first detected it, when
told through ``origins``; else its first observation with an id), then the side of its last counted crossing. A crossing is the net change from that side, counted when the anchor has settled on the other side:
* it is beyond the line by more than ``margin`` (a fraction of the box's height: near people jitter more in
  pixels than far ones), or
* it has stayed on the other side (however shallow) for ``SETTLE_S``, or
* the track ends there (the tracker ended it, or the source did): a person who steps just over the line and
  leaves counts, with the time the path crossed.
and only when the path passed the line within the segment's extent (where it last changed sides, found
between consecutive observations, lies between the end points). Anchor jitter back and forth over the line
changes nothing until it settles; a track lost on one side and seen again on the other counts (its last
observation is kept while its id lives). Told ``origins``, a new track first detected within ``STITCH_R``
box heights of where another was last seen, at most ``STITCH_S`` after it vanished, takes over that track's
line state (:meth:`Lines._stitch`): a crossing made while the id changed is counted once, by the new id.

All of it is one matrix product per frame (the signed distance, the position along the segment and the margin
band of every track's anchor for every line: anchors are linear in the box) and a few elementwise ops on
``[tracks, lines]``; the per-crossing work runs only on the pairs where an anchor changed sides or settled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..detections import Detections
from ..frame import SAME_TIME_S
from .events import SceneEvent
from .geometry import ANCHOR_FRACTIONS
from .table import TrackRows, grow

IN, OUT = 0, 1  # the direction axis of the counts
# Where and when tracks (by id) were first detected: ByteTracker.origins.
Origins = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
# A shallow crossing (never past the margin band) counts once the anchor has stayed on the other side this
# long. Judged on the seven MOT15 sequences together (tools/bench/line_counts_mot.py: 42 lines, det.txt
# detections) against a reference that counts each ground-truth trajectory once per real crossing (not once
# per wobble of the annotated feet over the line): overall error 31.6% at 0.3 s, 28.8% at 0.5 s (margin
# 0.1); TUD-Campus with YOLOv8n at conf 0.1 (tools/bench/line_counts.py) is the same at 0.2-0.7 s. A person
# standing on a line with a jittering box is not counted while their feet stay less than 0.5 s across.
SETTLE_S = 0.5
# A track seen for the first time whose first detection lies within STITCH_R of its box's height of where
# another track was last seen, at most STITCH_S before, continues that track's line state (Lines._stitch):
# on YOLOv8n at conf 0.1 the undercounts were crossings made while an id changed (two people passing near a
# line: the id goes on with the other person; the first is found again by a new id only on the far side).
# Swept on all the data (tools/bench/line_counts_mot.py's 42 lines on det.txt, line_counts.py's TUD-Campus
# with YOLOv8n; BENCHMARKS.md "follow-up 3"), errors MOT15 / TUD-Campus YOLOv8n: off 160 / 5; 0.5 s with
# 0.2 / 0.3 / 0.5 heights 159 / 5, 159 / 3, 160 / 3; 1 s with 0.3 / 0.5 160 / 3, 165 / 3; 0.3 s with 0.3
# 161 / 3. Farther or longer joins different people (a person leaving near a line, another arriving).
STITCH_S = 0.5
STITCH_R = 0.3
_SETTLED_AFTER = SETTLE_S - SAME_TIME_S  # frames exactly SETTLE_S apart count, whatever the rounding
# Fields of the per-track state, one [K, rows, lines] array: a frame gathers and stores it once, and each
# field's [tracks, lines] block is contiguous (numpy runs an op on it as one loop, not one per track).
_SIDE, _LAST_S, _LAST_U, _CROSS_U, _CROSS_TS, _OPP_MONO, _SEEN, _K = range(8)
_USED_UP = np.array([[_CROSS_U], [_OPP_MONO]])  # what a change of counted side resets (flat[_USED_UP, i])
_HANDED = np.array(
    [[_SIDE], [_LAST_S], [_LAST_U], [_CROSS_U], [_CROSS_TS]]
)  # what a stitched track takes over


@dataclass(frozen=True)
class LineRule:
    """One line in source-frame pixels, ``points`` = ``float32[2, 2]`` (first point, second point)."""

    name: str
    points: np.ndarray
    anchor: str = "bottom_center"
    class_ids: tuple[int, ...] | None = None
    margin: float = 0.1


def _projections(rules: Sequence[LineRule]) -> np.ndarray:
    """``float64[5, 3L]``: ``[x1, y1, x2, y2, 1] @ W`` gives each line's signed distance (px, + = in) of the
    box's anchor, then its position along the segment (0 at the first point, 1 at the second), then the
    line's margin band for the box (``margin`` x its height).

    An anchor is ``(x1 + fx (x2 - x1), y1 + fy (y2 - y1))``, linear in the box, and both quantities are linear
    in the anchor, so one product serves every line whatever its anchor kind.
    """
    n = len(rules)
    w = np.zeros((5, 3 * n))
    for k, rule in enumerate(rules):
        (ax, ay), (bx, by) = np.asarray(rule.points, np.float64)
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        if length2 == 0:
            raise ValueError(f"line {rule.name!r} has two equal points: a line needs two distinct points")
        fx, fy = ANCHOR_FRACTIONS[rule.anchor]
        # anchor (x, y) as weights on (x1, y1, x2, y2)
        ax_w = np.array([1 - fx, 0, fx, 0])
        ay_w = np.array([0, 1 - fy, 0, fy])
        length = np.sqrt(length2)
        # s = (dx (y - ay) - dy (x - ax)) / |d|
        w[:4, k] = (dx * ay_w - dy * ax_w) / length
        w[4, k] = (-dx * ay + dy * ax) / length
        # u = ((x - ax) dx + (y - ay) dy) / |d|^2
        w[:4, n + k] = (dx * ax_w + dy * ay_w) / length2
        w[4, n + k] = -(ax * dx + ay * dy) / length2
        w[1, 2 * n + k], w[3, 2 * n + k] = -rule.margin, rule.margin
    return w


class Lines:
    """The lines of one camera; ``update`` once per tracked frame, ``end`` for the tracks that ended."""

    def __init__(self, rules: Sequence[LineRule], num_classes: int) -> None:
        self.rules = tuple(rules)
        self.names = [r.name for r in rules]
        n = len(rules)
        self.num_classes = num_classes
        self._w = _projections(rules)
        self._margin = np.array([r.margin for r in rules], np.float64)
        self._length = np.array([np.hypot(*np.subtract(*np.asarray(r.points, np.float64))) for r in rules])
        self._allowed = np.ones((num_classes + 1, n), bool)
        for k, rule in enumerate(rules):
            if rule.class_ids is not None:
                self._allowed[:, k] = False
                self._allowed[[c for c in rule.class_ids if c < num_classes], k] = True
        self._every_class = bool(self._allowed.all())  # the usual case: no per-class masking per frame
        self.table = TrackRows()
        self.state = np.zeros((_K, 0, n))
        # The last frame's state rows gathered in frame order ([K, tracks, lines]) and kept there while the
        # frame's tracks stay the same (the table hands out the same rows object): written back to
        # self.state only when they change or the state is read (_flush), not every frame.
        self._work: np.ndarray | None = None
        self._work_rows: np.ndarray | None = None
        self.label = np.zeros(0, np.int32)  # each track's class at its last observation
        self.counts = np.zeros((n, 2, num_classes + 1), np.int64)  # [line, in/out, class]
        self._boxes = np.ones((64, 5))  # [x1, y1, x2, y2, 1] rows, reused frame to frame

    @property
    def side(self) -> np.ndarray:
        """``int8[rows, lines]``: each track's counted side, +1 in, -1 out, 0 not yet observed."""
        self._flush()
        return self.state[_SIDE].astype(np.int8)

    def update(
        self, detections: Detections, ts: float, mono: float | None = None, origins: Origins | None = None
    ) -> list[SceneEvent]:
        """Advance the lines by one frame of tracked ``detections``; returns its ``line_cross`` events.

        ``mono`` (default ``ts``) measures how long an anchor has stayed over a line. ``origins`` (the
        tracker's :meth:`~edgecv.track.tracker.ByteTracker.origins`) is asked, for the ids seen for the first
        time, where their tracks were first detected: their side starts there, so a person who crossed while
        their track was still tentative is counted once it is confirmed (a track never confirmed never
        reaches the rules). Without it a track's side starts where it is first seen with an id."""
        if detections.track_ids is None or not self.rules:
            return []
        ids = detections.track_ids
        if ids.size and _smallest(ids) < 0:  # untracked (tentative) detections are not seen
            detections = detections[ids >= 0]
            ids = ids_of(detections)
        if not ids.size:
            return []
        rows = self.table.add(ids)
        return self.step(rows, detections, ts, ts if mono is None else mono, origins)

    def step(
        self, rows: np.ndarray, dets: Detections, ts: float, mono: float, origins: Origins | None = None
    ) -> list[SceneEvent]:
        """:meth:`update` for detections of confirmed tracks whose state rows (in ``self.table``) are known.

        ``rows`` is read only (the table may hand the same array out again)."""
        n, n_lines = len(dets), len(self.rules)
        st = self._work
        grew = False
        if rows is not self._work_rows or st is None:
            self._flush()
            grew = self.state.shape[1] < len(self.table)
            if grew:
                self._grow(len(self.table))
            st = self.state.take(rows, axis=1)  # [K, n, L], a copy: kept as the working state (above)
        if n > self._boxes.shape[0]:
            self._boxes = np.ones((2 * n, 5))
        buf = self._boxes[:n]
        buf[:, :4] = dets.boxes
        su = buf @ self._w  # [n, 3L]: signed distance, position along the segment, margin band
        # contiguous copies: every op on them below runs as one loop (a strided view runs one per track)
        s, u = su[:, :n_lines].copy(), su[:, n_lines : 2 * n_lines].copy()
        side, last_s = st[_SIDE], st[_LAST_S]
        if not self._every_class:
            # Other classes are not observed by the line at all: their state stays as it was.
            seen = self._allowed[np.minimum(dets.class_ids, self.num_classes)]
            s = np.where(seen, s, last_s)
            u = np.where(seen, u, st[_LAST_U])
            su = np.concatenate([s, u, su[:, 2 * n_lines :]], axis=1)
            grew = True  # a track may be observed by a line for the first time on any frame
        began = None  # when the tracks seen for the first time began, where the tracker says
        if grew:
            new = side == 0
            new &= ~np.isnan(s)  # a class this line does not observe is not observed here either
            # The first observation sets the side without counting: nothing is known of where it came from,
            # unless the tracker says where the track began (the step from there is then judged as any other).
            # (A different class's unseen state also has side 0 and its s equals last_s here: harmless.)
            s0, u0 = s, u
            fresh = new.any(axis=1).nonzero()[0]
            if origins is not None and fresh.size:
                s0, u0 = s.copy(), u.copy()
                boxes, first_ts = origins(ids_of(dets)[fresh])
                known = ~np.isnan(first_ts)
                if known.any():
                    self._boxes[: known.sum(), :4] = boxes[known]
                    su0 = self._boxes[: known.sum()] @ self._w
                    s0[fresh[known]], u0[fresh[known]] = su0[:, :n_lines], su0[:, n_lines : 2 * n_lines]
                    began = np.full(n, np.nan)
                    began[fresh[known]] = first_ts[known]
                    h = (boxes[known, 3] - boxes[known, 1]).astype(np.float64)
                    # origins are wall times; the stay timers run on mono: the same offset converts
                    first_mono = first_ts[known] + (mono - ts)
                    self._stitch(st, rows, fresh[known], s0, u0, h, first_mono, new)
            side[new] = np.where(s0[new] > 0, 1.0, -1.0)
            last_s[new] = s0[new]
            st[_LAST_U][new] = u0[new]
        changed = (s > 0) != (last_s > 0)
        if np.count_nonzero(changed):
            # Where (along the segment) and when the path last changed sides: the crossing that a change of
            # counted side will be judged by. u is linear along the path, so interpolating it is exact.
            i = np.flatnonzero(changed)  # flat indices into [tracks, lines] blocks: 1-D takes and puts
            flat = st.reshape(_K, -1)  # a view: st is a fresh C-contiguous array
            ls, lu = flat[_LAST_S].take(i), flat[_LAST_U].take(i)
            t = ls / (ls - s.take(i))
            flat[_CROSS_U, i] = lu + t * (u.take(i) - lu)
            if began is None:
                flat[_CROSS_TS, i] = ts
            else:
                # a step from where the track began: it crossed in between, at the same fraction of the time
                b = began.take(i // n_lines)
                flat[_CROSS_TS, i] = np.where(np.isnan(b), ts, b + t * (ts - b))
        d = s * side  # < 0: the anchor is on the other side of the counted one
        opposite = d < 0
        events: list[SceneEvent] = []
        if np.count_nonzero(opposite):
            # Settling: past the margin band (at least 1 px), or over the line (however shallow) for
            # SETTLE_S. opp_mono: when the current stay on the other side began (nan: not over the line).
            opp_mono = np.where(opposite, np.fmin(st[_OPP_MONO], mono), np.nan)
            st[_OPP_MONO] = opp_mono
            d += np.maximum(su[:, 2 * n_lines :], 1.0)
            settled = (d <= 0) | (opp_mono <= mono - _SETTLED_AFTER)
            if np.count_nonzero(settled):
                events = self._settle(st, settled, ids_of(dets), dets.class_ids)
        else:
            st[_OPP_MONO] = np.nan
        st[_LAST_S] = s  # the last observation
        st[_SEEN] = mono
        st[_LAST_U] = u
        self._work, self._work_rows = st, rows
        self.label[rows] = dets.class_ids
        return events

    def end(self, track_ids: np.ndarray, ts: float) -> list[SceneEvent]:
        """Forget tracks the tracker ended; one that ended over a line from its counted side crossed it (net
        side change), counted with the time its path crossed."""
        rows = self.table.find(np.asarray(track_ids, np.int64))
        rows = rows[rows >= 0]
        events: list[SceneEvent] = []
        if rows.size:
            self._flush()
            st = self.state[:, rows]
            settled = st[_LAST_S] * st[_SIDE] < 0
            if np.count_nonzero(settled):
                events = self._settle(st, settled, self.table.ids[rows], self.label[rows])
        keep = self.table.remove(self.table.ids[rows])
        self.state, self.label = self.state[:, keep], self.label[keep]
        return events

    def _settle(
        self, st: np.ndarray, settled: np.ndarray, ids: np.ndarray, classes: np.ndarray
    ) -> list[SceneEvent]:
        """Change the counted side where ``settled``; count those whose path crossed within the segment.

        ``st`` is a fresh C-contiguous ``[K, tracks, lines]`` copy (viewed flat here, written through)."""
        i = np.flatnonzero(settled)  # the few (track, line) pairs that settle: worked on as short vectors
        flat = st.reshape(_K, -1)
        side = -flat[_SIDE].take(i)
        cross_u = flat[_CROSS_U].take(i)
        flat[_SIDE, i] = side
        flat[_USED_UP, i] = np.nan  # the crossing is used up by this change of side
        counted = (cross_u >= 0) & (cross_u <= 1)
        if not np.count_nonzero(counted):
            return []
        if np.count_nonzero(counted) < counted.size:
            i, side = i[counted], side[counted]
        r, k = np.divmod(i, st.shape[2])
        events = []
        for a, j, in_side, t in zip(
            r.tolist(), k.tolist(), (side > 0).tolist(), flat[_CROSS_TS].take(i).tolist(), strict=True
        ):
            # one step per crossing (an output event), not per track or line
            cls = int(classes[a])
            self.counts[j, IN if in_side else OUT, min(cls, self.num_classes)] += 1
            events.append(
                SceneEvent("line_cross", int(ids[a]), cls, self.names[j], t, "in" if in_side else "out")
            )
        return events

    def _stitch(
        self,
        st: np.ndarray,
        rows: np.ndarray,
        fresh: np.ndarray,
        s0: np.ndarray,
        u0: np.ndarray,
        heights: np.ndarray,
        first_mono: np.ndarray,
        new: np.ndarray,
    ) -> None:
        """Hand a track that vanished near where a new one began its counted side (per line).

        ``fresh`` are frame indices of tracks seen for the first time whose origins are known (``s0``,
        ``u0``: their first detection's distance and position per line; ``heights``: that box's height;
        ``first_mono``: its time). A track not in this frame, last observed before that and within ``STITCH_S``, whose last anchor lies within ``STITCH_R``
        origin box heights of a new track's first anchor is taken to be the same object under a new id (the
        tracker lost it, or its id went to a passer-by): the new track continues its state (counted side,
        last observation, pending crossing) instead of starting a side of its own, so a crossing made while
        the id changed is still counted. The old track gives that line's state up (its last observation
        forgotten, never a candidate again): if it ends or comes back it cannot count the same crossing.
        ``st`` and ``new`` are written in place."""
        absent = np.ones(self.state.shape[1], bool)
        absent[rows] = False
        seen = self.state[_SEEN]  # [rows, lines]; nan (never seen) and -inf (given up) compare False
        cand = np.flatnonzero(absent & (seen >= first_mono.min() - STITCH_S).any(axis=1))
        if not cand.size:
            return
        ps = self.state[:, cand]  # [K, candidates, lines]
        # gone before the new track was first detected (two tracks seen together are two objects), recently
        gap = first_mono[:, None, None] - ps[_SEEN][None]  # [fresh, candidates, lines]
        recent = (gap >= -SAME_TIME_S) & (gap <= STITCH_S)
        ds = s0[fresh][:, None, :] - ps[_LAST_S][None]
        du = (u0[fresh][:, None, :] - ps[_LAST_U][None]) * self._length
        dist = np.hypot(ds, du)  # the anchors' distance in px: (s, u x length) are coordinates along the line
        near = (ps[_SIDE] != 0)[None] & recent
        dist = np.where(near & (dist <= STITCH_R * heights[:, None, None]), dist, np.inf)
        best = dist.argmin(axis=1)  # [fresh, lines]: the nearest candidate
        fi, j = np.nonzero(np.isfinite(np.take_along_axis(dist, best[:, None], axis=1)[:, 0]))
        if not fi.size:
            return
        r, p = fresh[fi], cand[best[fi, j]]
        st[_HANDED, r, j] = self.state[_HANDED, p, j]
        new[r, j] = False
        self.state[_LAST_S, p, j] = np.nan
        self.state[_SEEN, p, j] = -np.inf

    def _flush(self) -> None:
        """Write the working state back to its rows."""
        if self._work is not None:
            self.state[:, self._work_rows] = self._work
            self._work = self._work_rows = None

    def _grow(self, rows: int) -> None:
        fresh = np.full((_K, rows - self.state.shape[1], len(self.rules)), np.nan)
        fresh[_SIDE] = 0
        self.state = np.concatenate([self.state, fresh], axis=1)
        self.label = grow(self.label, rows, -1)


_smallest = np.minimum.reduce  # one ufunc call: ndarray.min() goes through Python wrappers first


def ids_of(dets: Detections) -> np.ndarray:
    assert dets.track_ids is not None  # only tracked detections reach the rules
    return dets.track_ids
