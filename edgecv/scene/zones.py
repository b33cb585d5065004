"""Zones: which confirmed tracks are in which polygon, debounced by ``inertia_s``, with loitering.

Membership is one lookup in a label raster drawn once per camera: every pixel holds a bitmask of the zones
covering it (one layer per anchor kind in use, each holding only its zones' bits), so all tracks x all zones
cost one matrix product (every anchor of every box), one gather and an OR, whatever the polygons.

State per track is kept as bitmasks too (inside, a debounce timer running) with due times per zone (when a
running timer flips the state, when a stay turns into a loiter) and one next-due time per camera: a frame
with the same tracks as the last, where no track's raw membership starts or stops differing from its
debounced one and nothing is due, costs a handful of integer ops on ``[tracks]``. Otherwise the frame's
tracks are expanded to ``[tracks, zones]`` booleans and timed: no Python loop per object or per zone. The
state of a frame's tracks stays gathered in frame order while those tracks stay the same.
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
        na = len(used)
        # [x1, y1, x2, y2, 1] @ anchor_w: every anchor's x, then y, then a constant 1; clipped to the frame and
        # floored, @ flat gives each anchor's offset in its own layer (x + width * y + layer * width * height).
        self._anchor_w = np.concatenate([anchor_weights(used), np.eye(5)[:, 4:]], axis=1)
        self._hi = np.array([width - 1] * na + [height - 1] * na + [1], np.float64)
        self._flat = np.zeros((2 * na + 1, na), np.intp)
        self._flat[np.arange(na), np.arange(na)] = 1
        self._flat[na + np.arange(na), np.arange(na)] = width
        self._flat[2 * na] = np.arange(na) * (width * height)
        self._ones = np.ones(na, self.raster.dtype)  # the layers' bits are disjoint: their sum is their OR
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
        self._loiter_after = self._loiter - self._inertia  # a stay begins when the entry's timer started
        self._no_zero_inertia = bool((self._inertia > 0).all())
        self._min_inertia = float(self._inertia.min(initial=np.inf))
        self.table = TrackRows()
        # Per track: bitmasks (inside, a debounce timer running).
        self.inside = np.zeros(0, self.raster.dtype)
        self.timing = np.zeros(0, self.raster.dtype)
        # Per track and zone, read on frames where something happens: when a running debounce timer flips the
        # state (inf: none runs) and when a stay inside turns into a loiter (inf: not inside, loiter fired, or
        # no loiter_s); and the class it entered as.
        self.flip_at = np.zeros((0, n))
        self.loiter_at = np.zeros((0, n))
        # The earliest of those due times over the tracks of the last frame that was looked at: while the same
        # tracks are seen (the table hands out the same rows) and nothing differs anew, nothing happens before.
        self._seen: np.ndarray | None = None
        # The state of the last frame's rows gathered in frame order, kept there while the frame's tracks stay
        # the same (the table hands out the same rows object) and written back only when they change or the
        # state is read (_flush): [tracks] inside and timing bits, [tracks, zones] flip and loiter due times.
        self._work_rows: np.ndarray | None = None
        self._work_inside = self._work_timing = np.zeros(0, self.raster.dtype)
        self._work_flip = self._work_loiter = np.zeros((0, n))
        self._work_dirty = False  # changed since written back
        self._next_due = -np.inf
        self.label = np.zeros((0, n), np.int32)
        self.entered = np.zeros((n, num_classes + 1), np.int64)  # entries per zone and class, for summaries
        self._boxes = np.ones((64, 5))  # [x1, y1, x2, y2, 1] rows, reused frame to frame

    def _pack(self, flags: np.ndarray) -> np.ndarray:
        """``bool[..., zones]`` to bitmasks (a product with the bit weights: one call)."""
        packed: np.ndarray = flags @ self._weights
        return packed

    def flags(self, bits: np.ndarray) -> np.ndarray:
        """Bitmasks to ``bool[..., zones]`` (e.g. the membership :meth:`update` returns)."""
        return np.bitwise_and(bits[..., None], self._weights).astype(bool)

    def raw_bits(self, boxes: np.ndarray) -> np.ndarray:
        """Bitmask per box of the zones its anchor (each zone's own kind) lies in, before debouncing."""
        n = boxes.shape[0]
        if n > self._boxes.shape[0]:
            self._boxes = np.ones((2 * n, 5))
        buf = self._boxes[:n]
        buf[:, :4] = boxes
        xy = buf @ self._anchor_w  # [n, 2A + 1]: x of every anchor kind, then y, then 1
        np.minimum(np.maximum(xy, 0, out=xy), self._hi, out=xy)  # np.clip costs several times more
        hits = self._layers.take(np.dot(xy.astype(np.intp), self._flat))  # np.dot: less overhead than @ here
        raw: np.ndarray = np.dot(hits, self._ones)
        return raw

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
        if detections.track_ids is None or not self.rules:
            return np.zeros(len(detections), self.raster.dtype), []
        ids = detections.track_ids
        if not ids.size:
            return np.zeros(0, self.raster.dtype), []
        if _smallest(ids) >= 0:  # every detection has a confirmed track: the usual frame
            return self.step(self.table.add(ids), detections, mono, ts)
        tracked = ids >= 0
        member = np.zeros(len(detections), self.raster.dtype)
        dets = detections[tracked]
        if len(dets):
            member[tracked], events = self.step(self.table.add(ids_of(dets)), dets, mono, ts)
            return member, events
        return member, []

    def step(
        self, rows: np.ndarray, dets: Detections, mono: float, ts: float
    ) -> tuple[np.ndarray, list[SceneEvent]]:
        """:meth:`update` for detections of confirmed tracks whose state rows (in ``self.table``) are known.

        ``rows`` is read only (the table may hand the same array out again)."""
        if rows is not self._work_rows:
            self._flush(drop=True)
            if self.inside.shape[0] < len(self.table):
                self._grow(len(self.table))
            self._work_inside, self._work_timing = self.inside.take(rows), self.timing.take(rows)
            self._work_flip = self.flip_at.take(rows, axis=0)
            self._work_loiter = self.loiter_at.take(rows, axis=0)
            self._work_rows = rows
        raw = self.raw_bits(dets.boxes)
        if not self._every_class:
            raw &= self._allowed_bits[np.minimum(dets.class_ids, self.num_classes)]
        inside = self._work_inside
        differs = raw ^ inside
        if self._any_min_score:
            # A score under the zone's min_score is no evidence either way: the state and its timer stay.
            differs &= self._pack(dets.scores[:, None] >= self._min_score)
        # Something happens when the zones where a track's raw state differs from its debounced one are not
        # exactly those whose timers run (a timer starts or is cancelled), when a timer or loiter is due, or
        # when the frame's tracks are not the last frame's (a track seen again may have a timer due).
        timing = self._work_timing
        quiet = rows is self._seen and mono < self._next_due  # the same tracks, nothing due
        if quiet and not np.count_nonzero(differs != timing):
            return inside.copy(), []  # the usual frame: nothing changed, nothing due
        if quiet and self._no_zero_inertia and not self._any_min_score:
            self._start_or_cancel(differs, mono)
            return inside.copy(), []
        inside, events = self._change(rows, dets, differs, inside, mono, ts)
        return inside.copy(), events  # (the working copy stays ours)

    def _start_or_cancel(self, differs_bits: np.ndarray, mono: float) -> None:
        """Timers start where the raw state began to differ and stop where it agrees again; nothing is due
        (and no timer that starts now can be, its inertia being > 0): no flip, no loiter, no event."""
        differs = self.flags(differs_bits)
        flip_at = np.minimum(self._work_flip, mono + self._inertia)
        flip_at[~differs] = np.inf
        self._work_flip, self._work_timing = flip_at, differs_bits
        self._work_dirty = True
        self._next_due = min(self._next_due, mono + self._min_inertia)  # early at worst: a look, no event

    def _change(
        self,
        rows: np.ndarray,
        dets: Detections,
        differs_bits: np.ndarray,
        inside: np.ndarray,
        mono: float,
        ts: float,
    ) -> tuple[np.ndarray, list[SceneEvent]]:
        """The debounce and loiter timers of a frame where something happens (every track of the frame: on a
        few dozen tracks a numpy call costs the same whatever its length, so subsetting would cost more)."""
        differs = self.flags(differs_bits)
        flip_at = self._work_flip
        loiter_at = self._work_loiter.copy()
        # A timer starts where the raw state begins to differ and runs on while it differs; where it agrees
        # again the timer is cancelled, except where there was no evidence (a score under min_score).
        # (ufuncs' where= argument costs several plain calls: masks are applied by indexing instead)
        if self._any_min_score:
            flip_at = np.where(differs, np.minimum(flip_at, mono + self._inertia), flip_at)
            flip_at[~differs & (dets.scores[:, None] >= self._min_score)] = np.inf
        else:
            flip_at = np.minimum(flip_at, mono + self._inertia)
            flip_at[~differs] = np.inf
        flip = flip_at <= mono
        flip &= differs
        timing = differs_bits
        events: list[SceneEvent] = []
        if np.count_nonzero(flip):
            flip_bits = self._pack(flip)
            timing = differs_bits & ~flip_bits
            exited_bits = flip_bits & inside
            entered_bits = flip_bits ^ exited_bits
            inside = inside ^ flip_bits
            ids = ids_of(dets)
            if np.count_nonzero(exited_bits):
                exited = self.flags(exited_bits)
                loiter_at[exited] = np.inf
                events = self._events(exited, ids, self.label.take(rows, axis=0), "zone_exit", ts)
            if np.count_nonzero(entered_bits):
                r, z = self.flags(entered_bits).nonzero()
                classes = dets.class_ids.take(r)
                self.label[rows.take(r), z] = classes
                # a stay begins when the raw state first said inside: when the entry's timer started
                loiter_at[r, z] = flip_at[r, z] + self._loiter_after.take(z)
                for i, j, cls in zip(r.tolist(), z.tolist(), classes.tolist(), strict=True):
                    # one step per entry (an output event)
                    self.entered[j, min(cls, self.num_classes)] += 1
                    events.append(SceneEvent("zone_enter", int(ids[i]), cls, self.names[j], ts))
            flip_at[flip] = np.inf
        loiters = loiter_at <= mono
        if np.count_nonzero(loiters):
            loiter_at[loiters] = np.inf
            events += self._events(loiters, ids_of(dets), self.label.take(rows, axis=0), "loiter", ts)
        if self._any_min_score:
            timing = self._pack(flip_at < np.inf)  # timers without evidence this frame run on
        self._work_inside, self._work_timing = inside, timing
        self._work_flip, self._work_loiter = flip_at, loiter_at
        self._work_dirty = True
        self._seen = rows
        self._next_due = float(np.minimum.reduce(np.minimum(flip_at, loiter_at), axis=None))
        return inside, events

    def end(self, track_ids: np.ndarray, ts: float) -> list[SceneEvent]:
        """Forget tracks the tracker ended; those inside a zone leave it (a clean exit: occupancy drops)."""
        self._flush(drop=True)  # rows move
        rows = self.table.find(np.asarray(track_ids, np.int64))
        rows = rows[rows >= 0]
        events = self._events(
            self.flags(self.inside[rows]), self.table.ids[rows], self.label[rows], "zone_exit", ts
        )
        keep = self.table.remove(self.table.ids[rows])
        for name in ("inside", "timing", "flip_at", "loiter_at", "label"):
            setattr(self, name, getattr(self, name)[keep])
        return events

    def occupancy(self) -> np.ndarray:
        """``int64[zones, classes + 1]``: tracks inside each zone by the class they entered as (last column:
        class ids past the labels)."""
        self._flush(drop=False)
        counts = np.zeros((len(self.rules), self.num_classes + 1), np.int64)
        r, z = self.flags(self.inside).nonzero()
        np.add.at(counts, (z, np.minimum(self.label[r, z], self.num_classes)), 1)
        return counts

    def _flush(self, drop: bool) -> None:
        """Write the working state back to its rows; ``drop`` it too when rows are about to change."""
        rows = self._work_rows
        if rows is not None:
            if self._work_dirty:
                self.inside[rows], self.timing[rows] = self._work_inside, self._work_timing
                self.flip_at[rows], self.loiter_at[rows] = self._work_flip, self._work_loiter
                self._work_dirty = False
            if drop:
                self._work_rows = None

    def _grow(self, rows: int) -> None:
        self.inside = grow(self.inside, rows, 0)
        self.timing = grow(self.timing, rows, 0)
        self.flip_at = grow(self.flip_at, rows, np.inf)
        self.loiter_at = grow(self.loiter_at, rows, np.inf)
        self.label = grow(self.label, rows, -1)

    def _events(
        self, mask: np.ndarray, ids: np.ndarray, label: np.ndarray, kind: SceneEventKind, ts: float
    ) -> list[SceneEvent]:
        r, z = mask.nonzero()  # only the (rare) events are visited one by one
        return [
            SceneEvent(kind, int(ids[i]), int(label[i, j]), self.names[j], ts)
            for i, j in zip(r.tolist(), z.tolist(), strict=True)
        ]


_smallest = np.minimum.reduce  # one ufunc call: ndarray.min() goes through Python wrappers first


def ids_of(dets: Detections) -> np.ndarray:
    assert dets.track_ids is not None  # only tracked detections reach the rules
    return dets.track_ids
