"""MOTA, IDF1 and id switches (py-motmetrics) and HOTA (TrackEval's definition) at IoU 0.5.

These live in the ``[eval]`` extra (motmetrics pulls pandas and scipy), off the device's run path.
py-motmetrics 1.4 calls ``np.asfarray`` (gone in numpy 2) only in its own IoU helper; we hand it distance
matrices computed here, so it runs unchanged on numpy 1 and 2. It has no HOTA: that is computed below
exactly as TrackEval's ``HOTA.eval_sequence`` does (a test checks the two agree when trackeval is
installed; TrackEval itself is not a dependency because its wheel requires opencv-python, which would
clobber the headless OpenCV edgecv installs, and numpy >= 2.3).

Per-sequence counts are returned so that sequences combine as the devkit combines them: sums of counts,
and HOTA's association accuracy weighted by true positives.
"""

from __future__ import annotations

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


def clear_counts(frames: Frames) -> dict[str, int]:
    """Counts behind MOTA and IDF1 from py-motmetrics' accumulator."""
    mm = _import("motmetrics")
    acc = mm.MOTAccumulator(auto_id=True)
    for gt_ids, tr_ids, iou in frames:
        acc.update(gt_ids, tr_ids, np.where(iou >= MATCH_IOU, 1.0 - iou, np.nan))
    names = ["num_objects", "num_false_positives", "num_misses", "num_switches", "idtp", "idfp", "idfn"]
    row = mm.metrics.create().compute(acc, metrics=names, name="s")
    return {name: int(row[name].iloc[0]) for name in names}


def hota_counts(frames: Frames) -> dict[str, Any]:
    """TrackEval's HOTA per alpha: TP/FN/FP counts and TP-weighted association accuracy."""
    scipy_optimize = _import("scipy.optimize")
    none = np.zeros(0, np.int64)
    gt_map = {v: i for i, v in enumerate(np.unique(np.concatenate([f[0] for f in frames] or [none])).tolist())}
    tr_map = {v: i for i, v in enumerate(np.unique(np.concatenate([f[1] for f in frames] or [none])).tolist())}
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


def summarise(clear: list[dict[str, int]], hota_parts: list[dict[str, Any]]) -> dict[str, float | int]:
    """MOTA, IDF1, HOTA (fractions) and id switches over one or several sequences."""
    total = {k: sum(c[k] for c in clear) for k in clear[0]}
    objects = max(1, total["num_objects"])
    errors = total["num_misses"] + total["num_false_positives"] + total["num_switches"]
    id_denominator = max(1, 2 * total["idtp"] + total["idfp"] + total["idfn"])
    return {
        "mota": 1.0 - errors / objects,
        "idf1": 2 * total["idtp"] / id_denominator,
        "hota": hota(hota_parts),
        "id_switches": total["num_switches"],
        "false_positives": total["num_false_positives"],
        "misses": total["num_misses"],
    }
