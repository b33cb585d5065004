"""MOTA, IDF1 and id switches (py-motmetrics) and HOTA (TrackEval's definition) at IoU 0.5.

These live in the ``[eval]`` extra (motmetrics pulls pandas and scipy), off the device's run path.
py-motmetrics 1.4 calls ``np.asfarray`` (gone in numpy 2) only in its own IoU helper; we hand it distance
matrices computed here, so it runs unchanged on numpy 1 and 2. It has no HOTA: that is computed below
exactly as TrackEval's ``HOTA.eval_sequence`` does (a test checks the two agree when trackeval is
installed; TrackEval itself is not a dependency because its wheel requires opencv-python, which would
clobber the headless OpenCV edgecv installs, and numpy >= 2.3).

Several sequences combine as the devkit combines them: MOTA and IDF1 from py-motmetrics'
``compute_many(..., generate_overall=True)`` (its OVERALL row: sums of counts), HOTA's association accuracy
weighted by true positives. The benchmark scores the peer trackers through the same functions.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from ..errors import EdgecvError
from .mot import MATCH_IOU

ALPHAS = np.arange(0.05, 0.99, 0.05)  # HOTA's localisation thresholds
_EPS = np.finfo(float).eps

Frames = list[tuple[np.ndarray, np.ndarray, np.ndarray]]  # (gt ids, tracker ids, IoU) per frame


def _import(name: str) -> Any:
    try:
        return __import__(name, fromlist=["_"])
    except ImportError:
        raise EdgecvError(
            f"tracking evaluation needs {name.split('.')[0]}", "pip install 'edgecv[eval]'"
        ) from None


CLEAR_METRICS = [
    "num_objects",
    "num_false_positives",
    "num_misses",
    "num_switches",
    "idtp",
    "idfp",
    "idfn",
    "mota",
    "idf1",
]
OVERALL = "OVERALL"  # motmetrics' name for the row over all sequences


def clear_accumulator(frames: Frames) -> Any:
    """py-motmetrics' ``MOTAccumulator`` of one sequence (matches at IoU >= 0.5)."""
    mm = _import("motmetrics")
    acc = mm.MOTAccumulator(auto_id=True)
    for gt_ids, tr_ids, iou in frames:
        acc.update(gt_ids, tr_ids, np.where(iou >= MATCH_IOU, 1.0 - iou, np.nan))
    return acc


def clear_metrics(sequences: dict[str, Frames]) -> dict[str, dict[str, float]]:
    """MOTA, IDF1 and their counts per sequence and ``OVERALL``: ``compute_many(..., generate_overall=True)``."""
    if not sequences or OVERALL in sequences:
        raise ValueError(f"expected one or more sequences, none named {OVERALL!r}; got {list(sequences)}")
    mm = _import("motmetrics")
    accumulators = [clear_accumulator(frames) for frames in sequences.values()]
    # compute_many logs its own timings at INFO on the root logger: noise in edgecv's log.
    previous = logging.root.manager.disable
    logging.disable(logging.INFO)
    try:
        table = mm.metrics.create().compute_many(
            accumulators, metrics=CLEAR_METRICS, names=list(sequences), generate_overall=True
        )
    finally:
        logging.disable(previous)
    return {str(name): {k: float(row[k]) for k in CLEAR_METRICS} for name, row in table.iterrows()}


def hota_counts(frames: Frames) -> dict[str, Any]:
    """TrackEval's HOTA per alpha: TP/FN/FP counts and TP-weighted association accuracy."""
    scipy_optimize = _import("scipy.optimize")
    none = np.zeros(0, np.int64)
    gt_map = {
        v: i for i, v in enumerate(np.unique(np.concatenate([f[0] for f in frames] or [none])).tolist())
    }
    tr_map = {
        v: i for i, v in enumerate(np.unique(np.concatenate([f[1] for f in frames] or [none])).tolist())
    }
    frames = [
        (
            np.array([gt_map[v] for v in g.tolist()], np.intp),
            np.array([tr_map[v] for v in t.tolist()], np.intp),
            s,
        )
        for g, t, s in frames
    ]
    n_alpha = len(ALPHAS)
    tp, fn, fp = np.zeros(n_alpha), np.zeros(n_alpha), np.zeros(n_alpha)
    potential = np.zeros((len(gt_map), len(tr_map)))
    gt_count = np.zeros((len(gt_map), 1))
    tr_count = np.zeros((1, len(tr_map)))
    for g, t, sim in frames:
        denom = sim.sum(0)[None, :] + sim.sum(1)[:, None] - sim
        sim_iou = np.zeros_like(sim)
        mask = denom > _EPS
        sim_iou[mask] = sim[mask] / denom[mask]
        potential[g[:, None], t[None, :]] += sim_iou
        gt_count[g] += 1
        tr_count[0, t] += 1
    global_score = potential / np.maximum(gt_count + tr_count - potential, _EPS)
    matches = np.zeros((n_alpha, len(gt_map), len(tr_map)))
    for g, t, sim in frames:
        if g.size == 0 or t.size == 0:
            fp += t.size
            fn += g.size
            continue
        rows, cols = scipy_optimize.linear_sum_assignment(-(global_score[g[:, None], t[None, :]] * sim))
        for a, alpha in enumerate(ALPHAS):
            ok = sim[rows, cols] >= alpha - _EPS
            n = int(ok.sum())
            tp[a] += n
            fn[a] += g.size - n
            fp[a] += t.size - n
            matches[a, g[rows[ok]], t[cols[ok]]] += 1
    ass_a = np.zeros(n_alpha)
    for a in range(n_alpha):
        m = matches[a]
        ass_a[a] = (m * (m / np.maximum(1, gt_count + tr_count - m))).sum() / max(1.0, tp[a])
    return {"tp": tp.tolist(), "fn": fn.tolist(), "fp": fp.tolist(), "ass_a": ass_a.tolist()}


def hota(counts: list[dict[str, Any]]) -> float:
    """HOTA of one or several sequences' :func:`hota_counts` (TrackEval's combination rule)."""
    tp = np.sum([c["tp"] for c in counts], axis=0)
    fn = np.sum([c["fn"] for c in counts], axis=0)
    fp = np.sum([c["fp"] for c in counts], axis=0)
    ass_a = np.sum([np.multiply(c["ass_a"], c["tp"]) for c in counts], axis=0) / np.maximum(1.0, tp)
    det_a = tp / np.maximum(1.0, tp + fn + fp)
    return float(np.mean(np.sqrt(det_a * ass_a)))


def summarise(clear: dict[str, float], hota_parts: list[dict[str, Any]]) -> dict[str, float | int]:
    """MOTA, IDF1, HOTA (fractions) and error counts from a :func:`clear_metrics` row and its HOTA counts."""
    return {
        "mota": clear["mota"],
        "idf1": clear["idf1"],
        "hota": hota(hota_parts),
        "id_switches": int(clear["num_switches"]),
        "false_positives": int(clear["num_false_positives"]),
        "misses": int(clear["num_misses"]),
    }


def score(sequences: dict[str, Frames]) -> dict[str, dict[str, float | int]]:
    """Every sequence's figures and the ``OVERALL`` ones (see the module docstring for how they combine)."""
    clear = clear_metrics(sequences)
    parts = {name: hota_counts(frames) for name, frames in sequences.items()}
    out = {name: summarise(clear[name], [parts[name]]) for name in sequences}
    out[OVERALL] = summarise(clear[OVERALL], list(parts.values()))
    return out
