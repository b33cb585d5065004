"""Per-track rule state kept by track id: rows found for a frame's ids in one vectorised lookup."""

from __future__ import annotations

import numpy as np


class TrackRows:
    """Maps track ids to rows of the state arrays that a rule kind keeps (``[rows, rules]`` each).

    Rows are appended for ids seen for the first time and removed when the caller forgets a track (the
    tracker ended it); the owner resizes its arrays alongside with :meth:`grow` and :meth:`keep`.
    """

    def __init__(self) -> None:
        self.ids = np.zeros(0, np.int64)
        self._order = np.zeros(0, np.intp)  # argsort of ids: the lookup is one searchsorted
        # The last frame's ids (as bytes) and their rows: a camera's tracks are mostly the same from one frame
        # to the next, and comparing bytes costs less than one numpy call.
        self._last_key = b""
        self._last_rows = np.zeros(0, np.intp)

    def __len__(self) -> int:
        return int(self.ids.size)

    def find(self, ids: np.ndarray) -> np.ndarray:
        """Rows of ``ids``, -1 where an id has no row yet."""
        if not self.ids.size or not ids.size:
            return np.full(ids.shape, -1, np.intp)
        sorted_ids = self.ids[self._order]
        pos = np.minimum(np.searchsorted(sorted_ids, ids), sorted_ids.size - 1)
        return np.where(sorted_ids[pos] == ids, self._order[pos], -1)

    def add(self, ids: np.ndarray) -> np.ndarray:
        """Rows of ``ids`` (unique), appending those not seen before. The rows are read only: the same array
        is handed out again while the ids stay the same."""
        key = ids.tobytes()
        if key == self._last_key:
            return self._last_rows
        rows = self.find(ids)
        new = rows < 0
        if new.any():
            start = self.ids.size
            self.ids = np.concatenate([self.ids, ids[new]])
            rows[new] = np.arange(start, self.ids.size)
            self._order = np.argsort(self.ids, kind="stable")
        self._last_key, self._last_rows = key, rows
        return rows

    def remove(self, ids: np.ndarray) -> np.ndarray:
        """Forget ``ids``; returns the boolean mask of the rows kept, to apply to every state array."""
        keep = ~np.isin(self.ids, ids)
        self.ids = self.ids[keep]
        self._order = np.argsort(self.ids, kind="stable")
        self._last_key = b""  # rows moved
        return keep


def grow(array: np.ndarray, rows: int, fill: float | bool | int) -> np.ndarray:
    """``array`` with rows appended up to ``rows``, the new ones set to ``fill``."""
    extra = rows - array.shape[0]
    if extra <= 0:
        return array
    pad = np.full((extra, *array.shape[1:]), fill, array.dtype)
    return np.concatenate([array, pad])
