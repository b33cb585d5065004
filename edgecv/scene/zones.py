"""Zones: which confirmed tracks are in which polygon, debounced by ``inertia_s``, with loitering.

Membership is one lookup in a label raster drawn once per camera: every pixel holds a bitmask of the zones
covering it, so all tracks x all zones cost one gather per anchor kind, whatever the polygons' complexity.
State per track and zone (debounced inside/outside, when the raw state started to differ, the stay's start)
lives in ``[tracks, zones]`` arrays updated with boolean masks: no Python loop per object or per zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ..detections import Detections
from ..frame import SAME_TIME_S
from .events import SceneEvent, SceneEventKind
from .geometry import ANCHORS, anchor_points
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
        used = sorted({r.anchor for r in rules}, key=ANCHORS.index)
        self._anchors = used
        self._anchor_of = np.array([used.index(r.anchor) for r in rules], np.intp)
        self._bits = np.arange(n, dtype=self.raster.dtype)
        # allowed[c, z]: class c may be in zone z; the last row stands for every class id past the labels.
        self.num_classes = num_classes
        self._allowed = np.ones((num_classes + 1, n), bool)
        for z, rule in enumerate(rules):
            if rule.class_ids is not None:
                self._allowed[:, z] = False
                self._allowed[[c for c in rule.class_ids if c < num_classes], z] = True
        self._min_score = np.array([r.min_score for r in rules], np.float32)
        self._inertia = np.array([r.inertia_s for r in rules], np.float64) - SAME_TIME_S
        self._loiter = np.array([np.inf if r.loiter_s is None else r.loiter_s for r in rules]) - SAME_TIME_S
        self.table = TrackRows()
        self.inside = np.zeros((0, n), bool)  # debounced membership
        self.pending = np.zeros(
            (0, n)
        )  # mono when the raw state began to differ from inside; nan: it does not
        self.since = np.zeros((0, n))  # mono of the first raw-inside frame of the current stay
        self.loitered = np.zeros((0, n), bool)
        self.label = np.zeros((0, n), np.int32)  # the class the track had when it entered
        self.entered = np.zeros((n, num_classes + 1), np.int64)  # entries per zone and class, for summaries

    def contains(self, detections: Detections) -> np.ndarray:
        """``bool[N, zones]``: each box's anchor (the zone's own anchor kind) lies in each zone, raw."""
        n = len(self.rules)
        if not len(detections) or not n:
            return np.zeros((len(detections), n), bool)
        points = anchor_points(detections.boxes, self._anchors)  # [A, N, 2]
        x = np.clip(points[..., 0].astype(np.intp), 0, self.width - 1)
        y = np.clip(points[..., 1].astype(np.intp), 0, self.height - 1)
        masks = self.raster[y, x]  # [A, N]
        per_zone = masks[self._anchor_of]  # [Z, N]
        return ((per_zone >> self._bits[:, None]) & 1).astype(bool).T

    def update(self, detections: Detections, mono: float, ts: float) -> tuple[np.ndarray, list[SceneEvent]]:
        """Advance the zones by one frame of tracked ``detections``.

        Returns ``bool[N, zones]``, the debounced membership of each detection's track (rows of detections
        without a confirmed track are all False), and the frame's events: exits, then entries, then loiters.
        """
        n_zones = len(self.rules)
        member = np.zeros((len(detections), n_zones), bool)
        if detections.track_ids is None or not n_zones:
            return member, []
        sel = (detections.track_ids >= 0).nonzero()[0]
        if not sel.size:
            return member, []
        dets = detections[sel]
        ids = dets.track_ids
        assert ids is not None  # selected from tracked detections
        rows = self.table.add(ids)
        self._grow(len(self.table))
        cls = np.minimum(dets.class_ids, self.num_classes)
        raw = self.contains(dets) & self._allowed[cls]
        # A score under the zone's min_score is no evidence either way: the state and its timer stay as they are.
        evidence = dets.scores[:, None] >= self._min_score[None, :]
        inside, pending = self.inside[rows], self.pending[rows]
        differs = evidence & (raw != inside)
        pending[evidence & ~differs] = np.nan
        starts = differs & np.isnan(pending)
        pending[starts] = mono
        flip = differs & (mono - pending >= self._inertia)
        entered = flip & ~inside
        exited = flip & inside
        since, loitered, label = self.since[rows], self.loitered[rows], self.label[rows]
        since[entered] = pending[entered]
        loitered[exited] = False
        inside ^= flip
        pending[flip] = np.nan
        label[entered] = np.broadcast_to(dets.class_ids[:, None], label.shape)[entered]
        loiters = inside & ~loitered & (mono - since >= self._loiter)
        loitered |= loiters
        self.inside[rows], self.pending[rows], self.since[rows] = inside, pending, since
        self.loitered[rows], self.label[rows] = loitered, label
        member[sel] = inside
        events = self._events(exited, ids, label, "zone_exit", ts)
        events += self._events(entered, ids, label, "zone_enter", ts)
        events += self._events(loiters, ids, label, "loiter", ts)
        if entered.any():
            np.add.at(self.entered, (entered.nonzero()[1], np.minimum(label[entered], self.num_classes)), 1)
        return member, events

    def end(self, track_ids: np.ndarray, ts: float) -> list[SceneEvent]:
        """Forget tracks the tracker ended; those inside a zone leave it (a clean exit: occupancy drops)."""
        rows = self.table.find(np.asarray(track_ids, np.int64))
        rows = rows[rows >= 0]
        events = self._events(self.inside[rows], self.table.ids[rows], self.label[rows], "zone_exit", ts)
        keep = self.table.remove(self.table.ids[rows])
        for name in ("inside", "pending", "since", "loitered", "label"):
            setattr(self, name, getattr(self, name)[keep])
        return events

    def occupancy(self) -> np.ndarray:
        """``int64[zones, classes + 1]``: tracks inside each zone by the class they entered as (last column:
        class ids past the labels)."""
        counts = np.zeros((len(self.rules), self.num_classes + 1), np.int64)
        r, z = self.inside.nonzero()
        np.add.at(counts, (z, np.minimum(self.label[r, z], self.num_classes)), 1)
        return counts

    def _grow(self, rows: int) -> None:
        self.inside = grow(self.inside, rows, False)
        self.pending = grow(self.pending, rows, np.nan)
        self.since = grow(self.since, rows, np.nan)
        self.loitered = grow(self.loitered, rows, False)
        self.label = grow(self.label, rows, -1)

    def _events(
        self, mask: np.ndarray, ids: np.ndarray, label: np.ndarray, kind: SceneEventKind, ts: float
    ) -> list[SceneEvent]:
        r, z = mask.nonzero()  # only the (rare) events are visited one by one
        return [
            SceneEvent(kind, int(ids[i]), int(label[i, j]), self.names[j], ts)
            for i, j in zip(r.tolist(), z.tolist(), strict=True)
        ]
