"""Optimal assignment between tracks (rows) and detections (columns) on a cost matrix (1 - IoU, from edgecv.boxes).

Assignment uses ``lap`` (Jonker-Volgenant, a 1.7 MB wheel for x86_64 and aarch64, numpy 1 and 2) rather than
``scipy.optimize.linear_sum_assignment``: scipy would add about 25 MB of resident memory to a process whose
budget is a Raspberry Pi's, for one function. ``lapjv`` also takes the cost limit into the optimisation
(pairs above it are never forced), which is what tracking wants. Where no lap wheel exists (32-bit Pi OS)
scipy from apt is used instead.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Assignment = tuple[np.ndarray, np.ndarray]  # (row indices, column indices) of the matched pairs
_EMPTY = np.zeros(0, np.intp)


def _lap_solver() -> Callable[[np.ndarray, float], Assignment]:
    try:
        import lap
    except ImportError:
        return _scipy_solve

    def solve(cost: np.ndarray, max_cost: float) -> Assignment:
        x, _ = lap.lapjv(cost, extend_cost=True, cost_limit=max_cost, return_cost=False)
        rows = (x >= 0).nonzero()[0]
        return rows, x[rows].astype(np.intp)

    return solve


def _scipy_solve(cost: np.ndarray, max_cost: float) -> Assignment:
    try:
        from scipy.optimize import linear_sum_assignment
    except ImportError:
        raise ImportError(
            "edgecv's tracker needs 'lap' (pip install lap) or scipy (apt install python3-scipy)"
        ) from None
    # Pairs over the limit get a prohibitive cost so that they never displace a valid pair, then are cut.
    rows, cols = linear_sum_assignment(np.where(cost > max_cost, max_cost * 2 + 1e6, cost))
    keep = cost[rows, cols] <= max_cost
    return rows[keep], cols[keep]


_solve = _lap_solver()


def assign(cost: np.ndarray, max_cost: float) -> Assignment:
    """Minimum-cost matching of rows to columns using only pairs whose cost is at most ``max_cost``."""
    if cost.shape[0] == 0 or cost.shape[1] == 0:
        return _EMPTY, _EMPTY
    if cost.shape[0] == 1 or cost.shape[1] == 1:
        # One row or column: the optimum is its cheapest admissible pair; skip the solver's overhead.
        if cost.shape[0] == 1:
            j = int(np.argmin(cost[0]))
            return (np.zeros(1, np.intp), np.array([j])) if cost[0, j] <= max_cost else (_EMPTY, _EMPTY)
        i = int(np.argmin(cost[:, 0]))
        return (np.array([i]), np.zeros(1, np.intp)) if cost[i, 0] <= max_cost else (_EMPTY, _EMPTY)
    admissible = cost <= max_cost
    pairs = np.count_nonzero(admissible)
    if pairs == 0:
        return _EMPTY, _EMPTY
    if pairs == np.count_nonzero(admissible.any(axis=0)) == np.count_nonzero(admissible.any(axis=1)):
        # No row or column has a choice to make (objects apart from each other, the usual case): the
        # admissible pairs are the optimum, without the solver's set-up cost.
        rows, cols = np.nonzero(admissible)
        return rows, cols
    return _solve(cost, max_cost)
