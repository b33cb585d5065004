"""Line counting and zone occupancy on all seven MOT15 sequences: edgecv vs ground truth vs supervision.

    .venv/bin/python tools/bench/line_counts_mot.py [--margin 0.1] [--per-line] [--no-peer]

Only TUD-Campus has video here, but every sequence has ``gt/gt.txt`` and ``det/det.txt`` (Faster R-CNN public
detections): counting is judged on all seven, so no choice is tuned on one clip. Per sequence, six lines are
placed programmatically from the ground truth's own extent (the 5th-95th percentiles of its bottom centres,
before any count is looked at): vertical at 30%, 50% and 70% of the width, horizontal at 50% of the
height, and both diagonals of the extent. The same ``det.txt`` detections (all of them) feed
* edgecv: ``ByteTracker`` (default config, told the sequence's frame times) and :class:`edgecv.scene.Lines`
  (bottom-centre anchor, ``--margin``), tracks ended by the tracker and at the end of the sequence;
* supervision 0.31 ``LineZone`` (``BOTTOM_CENTER``) fed by roboflow ``trackers`` ``ByteTrackTracker``
  (``.venv-peer-trackers``, as in ``line_counts.py``).
Truth: each ground-truth trajectory's consecutive bottom centres, a crossing wherever they change sides and the
step meets the segment (the plain reference of ``line_counts.py``). Error: sum over lines and directions of
|count - true count|, over the true total. Zone occupancy: one zone per sequence, the middle half of the
ground truth's extent (inertia_s 0.5); per-frame MAE of edgecv's debounced occupancy against ground-truth
bottom centres inside.
"""

from __future__ import annotations

import argparse
import configparser
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools" / "bench"))
from line_counts import PEER_VENV, edgecv_counts, error, gt_counts, peer_counts  # noqa: E402

from edgecv.detections import Detections  # noqa: E402
from edgecv.scene.zones import ZoneRule, Zones  # noqa: E402
from edgecv.track.tracker import ByteTracker  # noqa: E402

MOT15 = ROOT / ".." / "shared" / "assets" / "mot15"
SEQUENCES = (
    "ADL-Rundle-6",
    "ADL-Rundle-8",
    "ETH-Pedcross2",
    "ETH-Sunnyday",
    "KITTI-17",
    "TUD-Campus",
    "Venice-2",
)


def extent(gt: np.ndarray) -> tuple[float, float, float, float]:
    """The busy region: 5th-95th percentiles of the ground truth's bottom centres (x0, y0, x1, y1)."""
    x = gt[:, 2] + gt[:, 4] / 2
    y = gt[:, 3] + gt[:, 5]
    (x0, x1), (y0, y1) = np.percentile(x, [5, 95]), np.percentile(y, [5, 95])
    return float(x0), float(y0), float(x1), float(y1)


def choose_lines(gt: np.ndarray) -> dict[str, list[list[float]]]:
    """Six lines through the busy region, from the ground truth's extent only (never from any count)."""
    x0, y0, x1, y1 = extent(gt)
    w, h = x1 - x0, y1 - y0
    return {
        "vertical_30": [[x0 + 0.3 * w, y0], [x0 + 0.3 * w, y1]],
        "vertical_50": [[x0 + 0.5 * w, y0], [x0 + 0.5 * w, y1]],
        "vertical_70": [[x0 + 0.7 * w, y0], [x0 + 0.7 * w, y1]],
        "horizontal_50": [[x0, y0 + 0.5 * h], [x1, y0 + 0.5 * h]],
        "diagonal_down": [[x0, y0], [x1, y1]],
        "diagonal_up": [[x0, y1], [x1, y0]],
    }


def zone_of(gt: np.ndarray) -> np.ndarray:
    """The middle half of the busy region (a quarter of its area), as a polygon."""
    x0, y0, x1, y1 = extent(gt)
    w, h = x1 - x0, y1 - y0
    a, b, c, d = x0 + w / 4, y0 + h / 4, x1 - w / 4, y1 - h / 4
    return np.array([[a, b], [c, b], [c, d], [a, d]], np.float32)


def load(seq: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, float, int, int]:
    """``det.txt`` as (0-based frame per box, xyxy boxes, scores), frame count, fps, width, height."""
    info = configparser.ConfigParser()
    info.read(seq / "seqinfo.ini")
    s = info["Sequence"]
    det = np.loadtxt(seq / "det" / "det.txt", delimiter=",", ndmin=2)
    det = det[np.argsort(det[:, 0], kind="stable")]
    boxes = np.concatenate([det[:, 2:4], det[:, 2:4] + det[:, 4:6]], axis=1).astype(np.float32)
    return (
        det[:, 0].astype(np.int64) - 1,
        boxes,
        det[:, 6].astype(np.float32),
        int(s["seqLength"]),
        float(s["frameRate"]),
        int(s["imWidth"]),
        int(s["imHeight"]),
    )


def occupancy_mae(
    frame: np.ndarray,
    boxes: np.ndarray,
    scores: np.ndarray,
    n: int,
    fps: float,
    size: tuple[int, int],
    gt: np.ndarray,
    zone: np.ndarray,
) -> float:
    """Per-frame MAE of edgecv's debounced occupancy of ``zone`` against ground-truth bottom centres inside."""
    contour = zone.reshape(-1, 1, 2)
    truth = np.zeros(n)
    for f, x, y, w, h in gt[:, [0, 2, 3, 4, 5]]:
        if int(f) <= n:
            truth[int(f) - 1] += cv2.pointPolygonTest(contour, (float(x + w / 2), float(y + h)), False) >= 0
    zones = Zones([ZoneRule("zone", zone, inertia_s=0.5)], *size, num_classes=1)
    tracker = ByteTracker()
    starts = np.searchsorted(frame, np.arange(n + 1))
    ours = np.zeros(n)
    for k in range(n):
        a, b = starts[k], starts[k + 1]
        d = Detections(boxes[a:b], scores[a:b], np.zeros(b - a, np.int32))
        tracked, events = tracker.update(d, ts=k / fps)
        zones.update(tracked, mono=k / fps, ts=k / fps)
        zones.end(np.array([e.track_id for e in events if e.kind == "end"], np.int64), ts=k / fps)
        ours[k] = zones.occupancy().sum()
    return float(np.abs(ours - truth).mean())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--margin", type=float, default=0.1, help="edgecv lines' margin (config default 0.1)")
    parser.add_argument("--per-line", action="store_true", help="print every line's in/out counts")
    parser.add_argument("--no-peer", action="store_true", help="skip supervision (faster)")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/edgecv-line-dets"))
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    peer_on = PEER_VENV.exists() and not args.no_peer
    totals = {"truth": 0, "edgecv": 0, "supervision": 0}
    maes = []
    print(f"{'sequence':14} {'true':>5} {'edgecv err':>11} {'superv. err':>12} {'occupancy MAE':>14}")
    for name in SEQUENCES:
        seq = MOT15 / name
        gt = np.loadtxt(seq / "gt" / "gt.txt", delimiter=",", ndmin=2)
        frame, boxes, scores, n, fps, width, height = load(seq)
        lines = choose_lines(gt)
        truth = gt_counts(seq / "gt" / "gt.txt", lines)
        ours = edgecv_counts(frame, boxes, scores, n, fps, lines, args.margin)
        peer = peer_counts(frame, boxes, scores, n, fps, lines, args.cache) if peer_on else None
        mae = occupancy_mae(frame, boxes, scores, n, fps, (width, height), gt, zone_of(gt))
        maes.append(mae)
        total = sum(sum(v) for v in truth.values())
        e = error(ours, truth)
        ep = error(peer, truth) if peer else 0
        totals["truth"] += total
        totals["edgecv"] += e
        totals["supervision"] += ep
        p = f"{ep} ({ep / total:.0%})" if peer else "-"
        print(f"{name:14} {total:>5} {f'{e} ({e / total:.0%})':>11} {p:>12} {mae:>14.3f}")
        if args.per_line:
            for line in lines:
                t, o = truth[line], ours[line]
                q = "/".join(map(str, peer[line])) if peer else "-"
                print(f"    {line:14} truth {t[0]}/{t[1]}  edgecv {o[0]}/{o[1]}  supervision {q}")
    t = totals["truth"]
    print(
        f"overall: true total {t}; edgecv error {totals['edgecv']} ({totals['edgecv'] / t:.1%})"
        + (
            f"; supervision error {totals['supervision']} ({totals['supervision'] / t:.1%})"
            if peer_on
            else ""
        )
        + f"; occupancy MAE mean over sequences {np.mean(maes):.3f}"
    )


if __name__ == "__main__":
    main()
