import numpy as np
import pytest

from edgecv.track import matching


def _iou(a, b):
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_iou_matrix_matches_brute_force():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 100, (12, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(5, 50, (12, 2))], axis=1)
    got = matching.iou_matrix(boxes[:5], boxes[5:])
    want = np.array([[_iou(a, b) for b in boxes[5:]] for a in boxes[:5]])
    np.testing.assert_allclose(got, want, atol=1e-12)
    assert matching.iou_matrix(boxes[:0], boxes).shape == (0, 12)


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
