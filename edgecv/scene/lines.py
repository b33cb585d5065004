"""Lines: directed segments counted per track and direction, with hysteresis so jitter counts once.

Sign convention (pixel coordinates, x right, y down): for a line from ``(x1, y1)`` to ``(x2, y2)`` a point is
on the ``in`` side when ``(x2 - x1)(y - y1) - (y2 - y1)(x - x1) > 0``; for a line drawn top to bottom that is
the left of the image.

A track has a *committed* side per line, which changes only when its anchor is beyond the line by more than
``margin`` (a fraction of the box's height: boxes of near people jitter more in pixels than far ones). A
change of committed side is a crossing, counted when the anchor's path passed the line within the
segment's extent (the last point where the path changed sides, found between consecutive observations, lies
between the two end points). Anchor jitter over the line, inside the band, changes nothing. A track lost on
one side and seen again on the other is counted: its last observation is kept while its id lives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..detections import Detections
from .events import SceneEvent
from .geometry import ANCHORS, anchor_points
from .table import TrackRows, grow

IN, OUT = 0, 1  # the direction axis of the counts


@dataclass(frozen=True)
class LineRule:
    """One line in source-frame pixels, ``points`` = ``float32[2, 2]`` (first point, second point)."""

    name: str
    points: np.ndarray
    anchor: str = "bottom_center"
    class_ids: tuple[int, ...] | None = None
    margin: float = 0.1


class Lines:
    """The lines of one camera; ``update`` once per tracked frame."""

    def __init__(self, rules: Sequence[LineRule], num_classes: int) -> None:
        self.rules = tuple(rules)
        self.names = [r.name for r in rules]
        n = len(rules)
        self.num_classes = num_classes
        ends = np.array([r.points for r in rules], np.float64).reshape(n, 2, 2)
        self._start = ends[:, 0]  # [L, 2]
        self._dir = ends[:, 1] - ends[:, 0]  # [L, 2]
        length2 = (self._dir**2).sum(axis=1)
        if (length2 == 0).any():
            bad = [r.name for r, zero in zip(rules, length2 == 0, strict=True) if zero]
            raise ValueError(f"line {bad[0]!r} has two equal points: a line needs two distinct points")
        self._length2 = length2
        self._length = np.sqrt(length2)
        used = sorted({r.anchor for r in rules}, key=ANCHORS.index)
        self._anchors = used
        self._anchor_of = np.array([used.index(r.anchor) for r in rules], np.intp)
        self._margin = np.array([r.margin for r in rules], np.float64)
        self._allowed = np.ones((num_classes + 1, n), bool)
        for k, rule in enumerate(rules):
            if rule.class_ids is not None:
                self._allowed[:, k] = False
                self._allowed[[c for c in rule.class_ids if c < num_classes], k] = True
        self.table = TrackRows()
        self.side = np.zeros((0, n), np.int8)  # committed side: +1 in, -1 out, 0 not yet known
        self.last_s = np.zeros((0, n))  # signed distance (px) at the last observation; nan: none
        self.last_pt = np.zeros((0, n, 2))  # the anchor at the last observation
        self.cross_u = np.zeros((0, n))  # where along the segment (0..1) the path last changed sides
        self.counts = np.zeros((n, 2, num_classes + 1), np.int64)  # [line, in/out, class]

    def update(self, detections: Detections, ts: float) -> list[SceneEvent]:
        """Advance the lines by one frame of tracked ``detections``; returns its ``line_cross`` events."""
        if detections.track_ids is None or not self.rules:
            return []
        cls_all = np.minimum(detections.class_ids, self.num_classes)
        sel = (detections.track_ids >= 0).nonzero()[0]
        if not sel.size:
            return []
        dets = detections[sel]
        ids = dets.track_ids
        assert ids is not None  # selected from tracked detections
        cls = cls_all[sel]
        rows = self.table.add(ids)
        self._grow(len(self.table))
        pts = anchor_points(dets.boxes, self._anchors)[self._anchor_of].transpose(1, 0, 2).astype(np.float64)
        rel = pts - self._start[None]  # [N, L, 2]
        s = (self._dir[None, :, 0] * rel[..., 1] - self._dir[None, :, 1] * rel[..., 0]) / self._length[None]
        heights = (dets.boxes[:, 3] - dets.boxes[:, 1]).astype(np.float64)
        band = np.maximum(self._margin[None, :] * heights[:, None], 1.0)  # at least a pixel: rounding noise
        seen = self._allowed[cls]  # other classes are not observed by the line at all

        last_s, last_pt = self.last_s[rows], self.last_pt[rows]
        cross_u, side = self.cross_u[rows], self.side[rows]
        # Where the path from the last observation changed sides, as a fraction along the segment.
        changed = seen & ((last_s > 0) != (s > 0)) & ~np.isnan(last_s)
        if changed.any():
            t = last_s[changed] / (last_s[changed] - s[changed])
            point = last_pt[changed] + t[:, None] * (pts[changed] - last_pt[changed])
            line = np.broadcast_to(np.arange(len(self.rules)), changed.shape)[changed]
            cross_u[changed] = ((point - self._start[line]) * self._dir[line]).sum(axis=1) / self._length2[
                line
            ]
        now = np.where(s >= band, 1, np.where(s <= -band, -1, 0)).astype(np.int8)
        flip = seen & (now != 0) & (side != 0) & (now != side)
        counted = flip & (cross_u >= 0) & (cross_u <= 1)
        side = np.where(seen & (now != 0), now, side).astype(np.int8)
        cross_u[flip] = np.nan  # used up by this change of side
        last_s = np.where(seen, s, last_s)
        last_pt = np.where(seen[..., None], pts, last_pt)
        self.last_s[rows], self.last_pt[rows], self.cross_u[rows], self.side[rows] = (
            last_s,
            last_pt,
            cross_u,
            side,
        )
        if not counted.any():
            return []
        r, k = counted.nonzero()
        direction = np.where(side[r, k] > 0, IN, OUT)
        np.add.at(self.counts, (k, direction, cls[r]), 1)
        return [
            SceneEvent(
                "line_cross",
                int(ids[i]),
                int(dets.class_ids[i]),
                self.names[j],
                ts,
                "in" if d == IN else "out",
            )
            for i, j, d in zip(
                r.tolist(), k.tolist(), direction.tolist(), strict=True
            )  # the rare crossings only
        ]

    def end(self, track_ids: np.ndarray) -> None:
        """Forget tracks the tracker ended."""
        keep = self.table.remove(np.asarray(track_ids, np.int64))
        self.side, self.last_s = self.side[keep], self.last_s[keep]
        self.last_pt, self.cross_u = self.last_pt[keep], self.cross_u[keep]

    def _grow(self, rows: int) -> None:
        self.side = grow(self.side, rows, 0)
        self.last_s = grow(self.last_s, rows, np.nan)
        self.last_pt = grow(self.last_pt, rows, np.nan)
        self.cross_u = grow(self.cross_u, rows, np.nan)
