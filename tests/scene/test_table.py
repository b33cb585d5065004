"""Track id -> state row lookup: the same ids give the same rows (reused), new ids append, removal compacts."""

from __future__ import annotations

import numpy as np

from edgecv.scene.table import TrackRows


def test_rows_for_ids_reused_appended_and_compacted() -> None:
    table = TrackRows()
    first = table.add(np.array([7, 3, 9]))
    assert first.tolist() == [0, 1, 2]
    assert table.add(np.array([7, 3, 9])) is first  # unchanged ids: the same rows, no lookup
    assert table.add(np.array([9, 7, 3])).tolist() == [2, 0, 1]
    assert table.add(np.array([3, 11])).tolist() == [1, 3]
    keep = table.remove(np.array([3]))
    assert keep.tolist() == [True, False, True, True]
    assert table.add(np.array([7, 9, 11])).tolist() == [0, 1, 2]
    assert table.find(np.array([3, 11, 42])).tolist() == [-1, 2, -1]
