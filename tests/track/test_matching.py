import numpy as np
import pytest

from edgecv.track import matching


@pytest.mark.parametrize("solver", ["lap", "scipy"])
def test_assign_is_optimal_and_respects_the_limit(solver):
    pytest.importorskip(solver)
    solve = matching._solve if solver == "lap" else matching._scipy_solve
    cost = np.array([[0.1, 0.2, 0.9], [0.15, 0.95, 0.9], [0.9, 0.9, 0.95]])
    rows, cols = solve(cost, 0.5)
    assert sorted(zip(rows.tolist(), cols.tolist(), strict=True)) == [
        (0, 1),
        (1, 0),
    ]  # total 0.35 beats 0.1 alone


def test_assign_single_row_and_empty():
    rows, cols = matching.assign(np.array([[0.7, 0.3]]), 0.5)
    assert rows.tolist() == [0] and cols.tolist() == [1]
    rows, _ = matching.assign(np.array([[0.7], [0.6]]), 0.5)
    assert rows.size == 0
    rows, _ = matching.assign(np.zeros((0, 3)), 0.5)
    assert rows.size == 0
