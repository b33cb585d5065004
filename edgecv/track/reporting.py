"""Tracks → events: false-positive gating (``new``), meaningful change (``update``), and ``end``.

Subscribers pay for every message (a phone notification, a database row), so a track is announced only once
its score history says it is real, and updates are sent for changes a person would notice, at a bounded rate.
"""

from __future__ import annotations

import statistics

import numpy as np

from ..config.tracker import EventsConfig, GateConfig
from .events import EventKind, TrackEvent
from .table import CONFIRMED, SCORE_HISTORY, TrackTable


class Reporter:
    def __init__(self, gate: GateConfig, class_gates: dict[int, GateConfig], events: EventsConfig) -> None:
        self.gate = gate
        self.class_gates = class_gates
        self.events = events

    def _passes_gate(self, table: TrackTable, row: int) -> bool:
        gate = self.class_gates.get(int(table.class_id[row]), self.gate)
        hits = int(table.hits[row])
        if hits < gate.min_hits:
            return False
        # statistics.median on <= 10 floats is ~20x faster than np.median's generic machinery.
        return statistics.median(table.history[row, : min(hits, SCORE_HISTORY)].tolist()) >= gate.min_score

    def on_frame(self, table: TrackTable, rows: np.ndarray, ts: float) -> list[TrackEvent]:
        """Events for the tracks matched in this frame (``rows``)."""
        rows = rows[table.status[rows] == CONFIRMED]
        if rows.size == 0:
            return []
        out: list[TrackEvent] = []
        unreported = rows[~table.reported[rows]]
        for row in unreported.tolist():
            if self._passes_gate(table, row):
                table.reported[row] = True
                out.append(self._mark(table, row, "new", ts))
        due = rows[table.reported[rows] & (ts - table.event_ts[rows] >= self.events.min_interval_s)]
        if due.size:
            out.extend(self._mark(table, row, "update", ts) for row in self._changed(table, due).tolist())
        return out

    def _changed(self, table: TrackTable, rows: np.ndarray) -> np.ndarray:
        box, before = table.box[rows], table.event_box[rows]
        # Centre displacement doubled = (x1 + x2) - (x1' + x2'); compared with twice the allowed distance.
        shift = (box[:, :2] + box[:, 2:]) - (before[:, :2] + before[:, 2:])
        size = np.maximum((before[:, 2:] - before[:, :2]).max(axis=1), 1.0)
        moved = (shift * shift).sum(axis=1) > (2 * self.events.min_move * size) ** 2
        rescored = np.abs(table.score[rows] - table.event_score[rows]) > self.events.min_score_change
        reclassed = table.class_id[rows] != table.event_class[rows]
        return rows[moved | rescored | reclassed]

    def on_end(self, table: TrackTable, rows: np.ndarray) -> list[TrackEvent]:
        """``end`` for every reported track among ``rows`` (ending now); unreported ones end silently."""
        rows = rows[table.reported[rows]]
        return [_event(table, row, "end") for row in rows.tolist()]

    @staticmethod
    def _mark(table: TrackTable, row: int, kind: EventKind, ts: float) -> TrackEvent:
        table.event_ts[row] = ts
        table.event_box[row] = table.box[row]
        table.event_score[row] = table.score[row]
        table.event_class[row] = table.class_id[row]
        return _event(table, row, kind)


def _event(table: TrackTable, row: int, kind: EventKind) -> TrackEvent:
    return TrackEvent(
        kind=kind,
        track_id=int(table.ids[row]),
        class_id=int(table.class_id[row]),
        score=float(table.score[row]),
        top_score=float(table.top_score[row]),
        box=table.box[row].copy(),
        first_seen=float(table.first_seen[row]),
        last_seen=float(table.last_seen[row]),
    )
