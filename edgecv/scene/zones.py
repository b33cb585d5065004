"""Zones: which confirmed tracks are in which polygon, debounced by ``inertia_s``, with loitering.

Membership is one lookup in a label raster drawn once per camera: every pixel holds a bitmask of the zones
covering it (one layer per anchor kind in use, each holding only its zones' bits), so all tracks x all zones
cost one matrix product (every anchor of every box), one gather and an OR, whatever the polygons.

State per track is kept as bitmasks too (inside, a debounce timer running, loitered) plus the time of its
next due event: a frame where no track's raw membership differs from its debounced one, no timer runs and no
loiter is due costs a handful of integer ops on ``[tracks]``. Only the tracks where something changed are
expanded to ``[tracks, zones]`` booleans and timed: no Python loop per object or per zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ..detections import Detections
from ..frame import SAME_TIME_S
from .events import SceneEvent, SceneEventKind
from .geometry import ANCHORS, anchor_weights
from .table import TrackRows, grow

MAX_ZONES = 64  # one bit each in a uint64 raster
_SHIFT = 4  # fillPoly's fractional bits: vertices keep 1/16 px


@dataclass(frozen=True)
class ZoneRule:
    """One zone in source-frame pixels. ``class_ids`` ``None`` admits every class."""

    name: str
    polygon: np.ndarray  # float32[K, 2]
    anchor: str = "bottom_center"
    class_ids: tuple[int, ...] | None = None
    min_score: float = 0.0
    inertia_s: float = 0.0
    loiter_s: float | None = None


def _raster_dtype(n: int) -> type[np.unsignedinteger]:
    for dtype in (np.uint8, np.uint16, np.uint32, np.uint64):
        if n <= np.iinfo(dtype).bits:
            return dtype
    raise ValueError(f"at most {MAX_ZONES} zones per camera, found {n}")


def zone_raster(polygons: Sequence[np.ndarray], width: int, height: int) -> np.ndarray:
    """``[height, width]`` bitmasks: bit z set where polygon z covers the pixel (its boundary included)."""
    raster = np.zeros((height, width), _raster_dtype(max(len(polygons), 1)))
    layer = np.empty((height, width), np.uint8)
    for z, polygon in enumerate(polygons):  # once per camera, not per frame
        layer.fill(0)
        points = np.round(polygon * (1 << _SHIFT)).astype(np.int32).reshape(-1, 2)
        cv2.fillPoly(layer, [points], 1, lineType=cv2.LINE_8, shift=_SHIFT)
        raster[layer.astype(bool)] |= raster.dtype.type(1 << z)
    return raster


class Zones:
    """The zones of one camera of a ``width`` x ``height`` frame; ``update`` once per tracked frame."""

    def __init__(self, rules: Sequence[ZoneRule], width: int, height: int, num_classes: int) -> None:
        if len(rules) > MAX_ZONES:
            raise ValueError(f"at most {MAX_ZONES} zones per camera, found {len(rules)}")
        self.rules = tuple(rules)
        self.names = [r.name for r in rules]
        self.width, self.height = width, height
        self.raster = zone_raster([r.polygon for r in rules], width, height)
        n = len(rules)
        dtype = self.raster.dtype.type
        self._dtype = dtype
        self._weights = np.array([1 << z for z in range(n)], np.uint64).astype(self.raster.dtype)
        self._bits = np.arange(n, dtype=self.raster.dtype)
        used = sorted({r.anchor for r in rules}, key=ANCHORS.index)
        # One raster layer per anchor kind holding only the zones of that kind: a box's anchors look up their
        # own layers (flat offsets) and the OR of the results is its raw membership of every zone.
        anchor_bits = [sum(1 << z for z, r in enumerate(rules) if r.anchor == a) for a in used]
        layers = [self.raster & dtype(b) for b in anchor_bits]  # none for a camera without zones
        self._layers = np.stack(layers).reshape(-1) if layers else self.raster[:0, :0].reshape(-1)
        self._anchor_w = anchor_weights(used)
        na = len(used)
        self._hi = np.array([width - 1] * na + [height - 1] * na, np.float64)
        self._offsets = np.arange(na, dtype=np.intp) * (width * height)
        self._flat = np.array([1] * na + [width] * na, np.intp)  # x + width * y, per anchor column
        # allowed[c]: the zones class c may be in; the last entry stands for every class id past the labels.
        self.num_classes = num_classes
        allowed = np.ones((num_classes + 1, n), bool)
        for z, rule in enumerate(rules):
            if rule.class_ids is not None:
                allowed[:, z] = False
                allowed[[c for c in rule.class_ids if c < num_classes], z] = True
        self._allowed = allowed
        self._allowed_bits = self._pack(allowed)
        self._every_class = bool(allowed.all())
        self._min_score = np.array([r.min_score for r in rules], np.float32)
        self._any_min_score = bool((self._min_score > 0).any())
        self._inertia = np.array([r.inertia_s for r in rules], np.float64) - SAME_TIME_S
        self._loiter = np.array([np.inf if r.loiter_s is None else r.loiter_s for r in rules]) - SAME_TIME_S
        self.table = TrackRows()
        # Per track: bitmasks (inside, a timer running, loitered) and when it next needs a look (inf: never).
        self.inside = np.zeros(0, self.raster.dtype)
        self.timing = np.zeros(0, self.raster.dtype)
        self.loitered = np.zeros(0, self.raster.dtype)
        self.due = np.zeros(0)
        # Per track and zone, read only for the tracks where something happens.
        self.pending = np.zeros(
            (0, n)
        )  # mono when the raw state began to differ from inside; nan: it does not
        self.since = np.zeros((0, n))  # mono of the first raw-inside frame of the current stay
        self.label = np.zeros((0, n), np.int32)  # the class the track had when it entered
        self.entered = np.zeros((n, num_classes + 1), np.int64)  # entries per zone and class, for summaries
        self._boxes = np.ones((64, 5))  # [x1, y1, x2, y2, 1] rows, reused frame to frame

    def _pack(self, flags: np.ndarray) -> np.ndarray:
        """``bool[..., zones]`` to bitmasks."""
        return (flags.astype(self.raster.dtype) << self._bits).sum(axis=-1, dtype=self.raster.dtype)

    def flags(self, bits: np.ndarray) -> np.ndarray:
        """Bitmasks to ``bool[..., zones]`` (e.g. the membership :meth:`update` returns)."""
        return ((bits[..., None] >> self._bits) & 1).astype(bool)

    def raw_bits(self, boxes: np.ndarray) -> np.ndarray:
        """Bitmask per box of the zones its anchor (each zone's own kind) lies in, before debouncing."""
        n = boxes.shape[0]
        if n > self._boxes.shape[0]:
            self._boxes = np.ones((2 * n, 5))
        buf = self._boxes[:n]
        buf[:, :4] = boxes
        xy = buf @ self._anchor_w  # [n, 2A]: x of every anchor kind, then y
        np.clip(xy, 0, self._hi, out=xy)
        idx = xy.astype(np.intp)
        na = self._offsets.size
        flat = idx[:, :na] + idx[:, na:] * self._flat[na:] + self._offsets
        hits = self._layers.take(flat)
        return hits[:, 0] if na == 1 else np.bitwise_or.reduce(hits, axis=1)

    def contains(self, detections: Detections) -> np.ndarray:
        """``bool[N, zones]``: each box's anchor (the zone's own anchor kind) lies in each zone, raw."""
        if not len(detections) or not self.rules:
            return np.zeros((len(detections), len(self.rules)), bool)
        return self.flags(self.raw_bits(detections.boxes))

    def update(self, detections: Detections, mono: float, ts: float) -> tuple[np.ndarray, list[SceneEvent]]:
        """Advance the zones by one frame of tracked ``detections``.

        Returns each detection's debounced membership as a bitmask (bit z: zone z; 0 for detections without a
        confirmed track; :meth:`flags` expands it) and the frame's events: exits, then entries, then loiters.
        """
        member = np.zeros(len(detections), self.raster.dtype)
        if detections.track_ids is None or not self.rules:
            return member, []
        tracked = detections.track_ids >= 0
        every = bool(tracked.all())
        dets = detections if every else detections[tracked]
        if not len(dets):
            return member, []
        ids = dets.track_ids
        assert ids is not None  # selected from tracked detections
        inside, events = self.step(self.table.add(ids), dets, mono, ts)
        if every:
            return inside, events
        member[tracked] = inside
        return member, events

    def step(
        self, rows: np.ndarray, dets: Detections, mono: float, ts: float
    ) -> tuple[np.ndarray, list[SceneEvent]]:
        """:meth:`update` for detections of confirmed tracks whose state rows (in ``self.table``) are known."""
        if self.inside.shape[0] < len(self.table):
            self._grow(len(self.table))
        raw = self.raw_bits(dets.boxes)
        if not self._every_class:
            raw &= self._allowed_bits[np.minimum(dets.class_ids, self.num_classes)]
        inside = self.inside[rows]
        differs = raw ^ inside
        if self._any_min_score:
            # A score under the zone's min_score is no evidence either way: the state and its timer stay.
            differs &= self._pack(dets.scores[:, None] >= self._min_score)
        hot = (differs | self.timing[rows]).astype(bool)
        hot |= self.due[rows] <= mono
        if not hot.any():
            return inside, []  # the usual frame: nothing changed, nothing due
        h = hot.nonzero()[0]
        return self._change(rows, dets, raw, inside, h, mono, ts)

    def _change(
        self,
        rows: np.ndarray,
        dets: Detections,
        raw_bits: np.ndarray,
        inside_bits: np.ndarray,
        h: np.ndarray,
        mono: float,
        ts: float,
    ) -> tuple[np.ndarray, list[SceneEvent]]:
        """The debounce and loiter timers of the tracks ``h`` (indices into ``rows``) where something happens."""
        r = rows[h]
        raw, inside = self.flags(raw_bits[h]), self.flags(inside_bits[h])
        evidence = dets.scores[h, None] >= self._min_score
        pending = self.pending[r]
        differs = evidence & (raw != inside)
        pending[evidence & ~differs] = np.nan
        starts = differs & np.isnan(pending)
        pending[starts] = mono
        flip = differs & (mono - pending >= self._inertia)
        entered = flip & ~inside
        exited = flip & inside
        since, loitered, label = self.since[r], self.flags(self.loitered[r]), self.label[r]
        since[entered] = pending[entered]
        loitered[exited] = False
        inside ^= flip
        pending[flip] = np.nan
        label = np.where(entered, dets.class_ids[h, None], label)
        loiter_at = since + self._loiter
        loiters = inside & ~loitered & (mono >= loiter_at)
        loitered |= loiters
        # The next time this track needs a look without a raw change: a timer's end or a loiter.
        # fmin skips nan: a zone without a timer (pending nan) or not inside and unloitered (nan) is never due.
        running = ~np.isnan(pending)
        loiter_at[~inside | loitered] = np.nan
        self.due[r] = np.fmin(pending + self._inertia, loiter_at).min(
            axis=1, initial=np.inf, where=running | ~np.isnan(loiter_at)
        )
        self.pending[r], self.since[r], self.label[r] = pending, since, label
        packed = self._pack(np.stack([inside, running, loitered]))
        self.inside[r], self.timing[r], self.loitered[r] = packed
        packed = packed[0]
        inside_bits = inside_bits.copy()
        inside_bits[h] = packed
        if not (flip.any() or loiters.any()):
            return inside_bits, []  # timers ran on: no event this frame
        ids = dets.track_ids
        assert ids is not None  # only tracked detections reach the rules
        ids = ids[h]
        events = self._events(exited, ids, label, "zone_exit", ts)
        events += self._events(entered, ids, label, "zone_enter", ts)
        events += self._events(loiters, ids, label, "loiter", ts)
        if entered.any():
            np.add.at(self.entered, (entered.nonzero()[1], np.minimum(label[entered], self.num_classes)), 1)
        return inside_bits, events

    def end(self, track_ids: np.ndarray, ts: float) -> list[SceneEvent]:
        """Forget tracks the tracker ended; those inside a zone leave it (a clean exit: occupancy drops)."""
        rows = self.table.find(np.asarray(track_ids, np.int64))
        rows = rows[rows >= 0]
        events = self._events(
            self.flags(self.inside[rows]), self.table.ids[rows], self.label[rows], "zone_exit", ts
        )
        keep = self.table.remove(self.table.ids[rows])
        for name in ("inside", "timing", "loitered", "due", "pending", "since", "label"):
            setattr(self, name, getattr(self, name)[keep])
        return events

    def occupancy(self) -> np.ndarray:
        """``int64[zones, classes + 1]``: tracks inside each zone by the class they entered as (last column:
        class ids past the labels)."""
        counts = np.zeros((len(self.rules), self.num_classes + 1), np.int64)
        r, z = self.flags(self.inside).nonzero()
        np.add.at(counts, (z, np.minimum(self.label[r, z], self.num_classes)), 1)
        return counts

    def _grow(self, rows: int) -> None:
        self.inside = grow(self.inside, rows, 0)
        self.timing = grow(self.timing, rows, 0)
        self.loitered = grow(self.loitered, rows, 0)
        self.due = grow(self.due, rows, np.inf)
        self.pending = grow(self.pending, rows, np.nan)
        self.since = grow(self.since, rows, np.nan)
        self.label = grow(self.label, rows, -1)

    def _events(
        self, mask: np.ndarray, ids: np.ndarray, label: np.ndarray, kind: SceneEventKind, ts: float
    ) -> list[SceneEvent]:
        r, z = mask.nonzero()  # only the (rare) events are visited one by one
        return [
            SceneEvent(kind, int(ids[i]), int(label[i, j]), self.names[j], ts)
            for i, j in zip(r.tolist(), z.tolist(), strict=True)
        ]
