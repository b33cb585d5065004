"""Tracks → events: false-positive gating (``new``), meaningful change (``update``), and ``end``.

Subscribers pay for every message (a phone notification, a database row), so a track is announced only once
its score history says it is real, and updates are sent for changes a person would notice, at a bounded rate.
"""

from __future__ import annotations

import statistics

import numpy as np

from ..config.tracker import EventsConfig, GateConfig
from ..frame import SAME_TIME_S
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

    def on_frame(self, table: TrackTable, rows: np.ndarray, mono: float) -> list[TrackEvent]:
        """Events for the tracks matched in this frame (``rows``), captured at monotonic time ``mono``."""
        return self.on_confirmed(table, rows[table.status[rows] == CONFIRMED], mono)

    def on_confirmed(self, table: TrackTable, rows: np.ndarray, mono: float) -> list[TrackEvent]:
        """``on_frame`` for rows known to be confirmed tracks."""
        if rows.size == 0:
            return []
        out: list[TrackEvent] = []
        reported = table.reported[rows]
        if not reported.all():
            for row in rows[~reported].tolist():
                if self._passes_gate(table, row):
                    table.reported[row] = True
                    out.append(self._mark(table, row, "new", mono))
            if out:
                reported = table.reported[rows]
        due = reported & (mono - table.event_mono[rows] >= self.events.min_interval_s - SAME_TIME_S)
        if due.any():
            out.extend(
                self._mark(table, row, "update", mono) for row in self._changed(table, rows[due]).tolist()
            )
        return out

    def _changed(self, table: TrackTable, rows: np.ndarray) -> np.ndarray:
        box, before = table.box_t.take(rows, axis=1), table.event_box_t.take(rows, axis=1)  # [4, k]
        # Centre displacement doubled = (x1 + x2) - (x1' + x2'); compared with twice the allowed distance.
        shift = box[:2] + box[2:]
        shift -= before[:2] + before[2:]
        shift *= shift
        extent = before[2:] - before[:2]
        size = np.maximum(extent[0], extent[1])  # the larger side, at least one pixel
        np.maximum(size, 1.0, out=size)
        size *= 2 * self.events.min_move
        size *= size
        changed = shift[0] + shift[1] > size
        score = table.score[rows]
        score -= table.event_score[rows]
        changed |= np.abs(score, out=score) > self.events.min_score_change
        changed |= table.class_id[rows] != table.event_class[rows]
        return rows[changed]

    def on_end(self, table: TrackTable, rows: np.ndarray) -> list[TrackEvent]:
        """``end`` for every reported track among ``rows`` (ending now); unreported ones end silently."""
        rows = rows[table.reported[rows]]
        return [_event(table, row, "end") for row in rows.tolist()]

    @staticmethod
    def _mark(table: TrackTable, row: int, kind: EventKind, mono: float) -> TrackEvent:
        table.event_mono[row] = mono
        table.event_box[row] = table.box[row]
        table.event_score[row] = table.score[row]
        table.event_class[row] = table.class_id[row]
        return _event(table, row, kind)


def _event(table: TrackTable, row: int, kind: EventKind) -> TrackEvent:
    return TrackEvent(
        kind=kind,
        track_id=table.ids.item(row),
        class_id=table.class_id.item(row),
        score=table.score.item(row),
        top_score=table.top_score.item(row),
        box=table.box[row].copy(),
        first_seen=table.first_seen.item(row),
        last_seen=table.last_seen.item(row),
        duration=table.last_mono.item(row) - table.first_mono.item(row),
    )
