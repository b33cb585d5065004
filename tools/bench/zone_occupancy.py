"""Zone occupancy per frame against ground truth: mean absolute error, on all seven MOT15 sequences and
TUD-Campus with YOLOv8n.

    .venv/bin/python tools/bench/zone_occupancy.py [--inertia 0.5] [--truth-boxes]

Zones: five per sequence, placed programmatically from the ground truth's busy region (the 5th-95th
percentiles of its bottom centres, as for the lines of ``line_counts.py``): its four quadrants and its middle
half, before any occupancy is looked at. Truth per frame and zone: the ground-truth people (rows flagged to
consider) whose bottom centre lies inside. edgecv: ``ByteTracker`` (default config) and
:class:`edgecv.scene.Zones` (bottom-centre anchor, ``inertia_s`` as the config's default 0.5 s unless
``--inertia``), the debounced occupancy (:meth:`Zones.occupancy`) after each frame. Detections: the
sequences' ``det.txt`` (Faster R-CNN, public), and YOLOv8n at conf 0.1 on TUD-Campus's video (cached by
``line_counts.py``). ``--truth-boxes`` feeds the ground truth's own boxes as detections instead (score 0.95):
what is left is what the tracker and the zone semantics (inertia, confirmation) cost.
MAE: mean over frames and zones of |edgecv's count - true count|; ``true`` is the mean true occupancy.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools" / "bench"))
from line_counts import CLIPS, detections, extent, load_gt  # noqa: E402
from line_counts_mot import MOT15, SEQUENCES, load  # noqa: E402

from edgecv.detections import Detections  # noqa: E402
from edgecv.scene.zones import ZoneRule, Zones  # noqa: E402
from edgecv.track.tracker import ByteTracker  # noqa: E402


def choose_zones(x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Five rectangles over the busy region of bottom centres ``x``, ``y``: its quadrants and middle half."""
    x0, y0, x1, y1 = extent(x, y)
    xm, ym, w, h = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0

    def rect(a: float, b: float, c: float, d: float) -> np.ndarray:
        return np.array([[a, b], [c, b], [c, d], [a, d]], np.float32)

    return {
        "top_left": rect(x0, y0, xm, ym),
        "top_right": rect(xm, y0, x1, ym),
        "bottom_left": rect(x0, ym, xm, y1),
        "bottom_right": rect(xm, ym, x1, y1),
        "middle": rect(x0 + w / 4, y0 + h / 4, x1 - w / 4, y1 - h / 4),
    }


def truth_occupancy(g: np.ndarray, n: int, zones: dict[str, np.ndarray]) -> np.ndarray:
    """``[frames, zones]``: ground-truth bottom centres inside each (axis-aligned) zone, boundary included."""
    f = g[:, 0].astype(np.int64) - 1
    x, y = g[:, 2] + g[:, 4] / 2, g[:, 3] + g[:, 5]
    out = np.zeros((n, len(zones)))
    for z, poly in enumerate(zones.values()):
        (a, b), (c, d) = poly.min(axis=0), poly.max(axis=0)
        inside = (x >= a) & (x <= c) & (y >= b) & (y <= d) & (f < n)
        np.add.at(out[:, z], f[inside], 1)
    return out


def edgecv_occupancy(
    frame: np.ndarray,
    boxes: np.ndarray,
    scores: np.ndarray,
    n: int,
    fps: float,
    size: tuple[int, int],
    zones: dict[str, np.ndarray],
    inertia: float,
) -> np.ndarray:
    """``[frames, zones]``: edgecv's debounced occupancy after each frame."""
    rules = [ZoneRule(name, poly, inertia_s=inertia) for name, poly in zones.items()]
    counter = Zones(rules, *size, num_classes=1)
    tracker = ByteTracker()
    starts = np.searchsorted(frame, np.arange(n + 1))
    out = np.zeros((n, len(zones)))
    for k in range(n):
        a, b = starts[k], starts[k + 1]
        tracked, events = tracker.update(
            Detections(boxes[a:b], scores[a:b], np.zeros(b - a, np.int32)), ts=k / fps
        )
        counter.update(tracked, mono=k / fps, ts=k / fps)
        counter.end(np.array([e.track_id for e in events if e.kind == "end"], np.int64), ts=k / fps)
        out[k] = counter.occupancy().sum(axis=1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--inertia", type=float, default=0.5, help="zones' inertia_s (config default 0.5)")
    parser.add_argument("--truth-boxes", action="store_true", help="the ground truth's boxes as detections")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/edgecv-line-dets"))
    args = parser.parse_args()
    runs = [(name, "det.txt") for name in SEQUENCES] + [("TUD-Campus", "YOLOv8n")]
    maes = []
    print(f"{'sequence':14} {'detections':10} {'frames':>6} {'true':>6} {'MAE':>7}  per zone")
    for name, source in runs:
        seq = MOT15 / name
        g = load_gt(seq / "gt" / "gt.txt")
        frame, boxes, scores, n, fps, width, height = load(seq)
        if source == "YOLOv8n":
            frame, boxes, scores, n, fps = detections(CLIPS["TUD-Campus"]["video"], args.cache, 0.1)
        if args.truth_boxes:
            order = np.argsort(g[:, 0], kind="stable")
            frame = g[order, 0].astype(np.int64) - 1
            boxes = np.concatenate([g[order, 2:4], g[order, 2:4] + g[order, 4:6]], axis=1).astype(np.float32)
            scores = np.full(len(frame), 0.95, np.float32)
        zones = choose_zones(g[:, 2] + g[:, 4] / 2, g[:, 3] + g[:, 5])
        truth = truth_occupancy(g, n, zones)
        ours = edgecv_occupancy(frame, boxes, scores, n, fps, (width, height), zones, args.inertia)
        err = np.abs(ours - truth).mean(axis=0)
        maes.append(float(err.mean()))
        per_zone = " ".join(f"{z} {e:.2f}" for z, e in zip(zones, err, strict=True))
        print(f"{name:14} {source:10} {n:>6} {truth.mean():>6.2f} {err.mean():>7.3f}  {per_zone}")
    print(f"mean MAE over the {len(runs)} runs: {np.mean(maes):.3f} people per zone and frame")


if __name__ == "__main__":
    main()
