"""Line counting on all seven MOT15 sequences: edgecv vs ground truth vs supervision.

    .venv/bin/python tools/bench/line_counts_mot.py [--margin 0.1] [--gt-band 0.05] [--per-line] [--no-peer]
        [--settle S] [--truth-boxes]

Only TUD-Campus has video here, but every sequence has ``gt/gt.txt`` and ``det/det.txt`` (Faster R-CNN public
detections): counting is judged on all seven, so no choice is tuned on one clip. Per sequence, six lines are
placed programmatically from the ground truth's own extent (``line_counts.choose_lines``: the 5th-95th
percentiles of its bottom centres, before any count is looked at): vertical at 30%, 50% and 70% of the width,
horizontal at 50% of the height, and both diagonals of the extent. The same ``det.txt`` detections (all of
them) feed
* edgecv: ``ByteTracker`` (default config, told the sequence's frame times) and :class:`edgecv.scene.Lines`
  (bottom-centre anchor, ``--margin``, told where tracks began), tracks ended by the tracker and at the end;
* supervision 0.31 ``LineZone`` (``BOTTOM_CENTER``) fed by roboflow ``trackers`` ``ByteTrackTracker``
  (``.venv-peer-trackers``, as in ``line_counts.py``).
Truth: ``line_counts.gt_counts``, each ground-truth trajectory counted once per real crossing (its side
decided outside a band of ``--gt-band`` box heights); the plain reference (every sign change on the segment,
band 0) is printed beside it. Error: sum over lines and directions of |count - true count|, over the true
total. ``--truth-boxes`` feeds the ground truth's own boxes as detections (what the tracker and the line
semantics cost without a detector's misses); ``--settle`` overrides the lines' settling time for a sweep.
Zone occupancy is ``tools/bench/zone_occupancy.py``.
"""

from __future__ import annotations

import argparse
import configparser
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools" / "bench"))
from line_counts import (  # noqa: E402
    GT_BAND,
    PEER_VENV,
    choose_lines,
    edgecv_counts,
    error,
    gt_counts,
    load_gt,
    peer_counts,
)

import edgecv.scene.lines as lines_module  # noqa: E402
from edgecv.frame import SAME_TIME_S  # noqa: E402

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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--margin", type=float, default=0.1, help="edgecv lines' margin (config default 0.1)")
    parser.add_argument("--gt-band", type=float, default=GT_BAND, help="the reference's band (0: plain)")
    parser.add_argument("--per-line", action="store_true", help="print every line's in/out counts")
    parser.add_argument("--no-peer", action="store_true", help="skip supervision (faster)")
    parser.add_argument(
        "--settle", type=float, help="edgecv lines' settling time for a sweep (default SETTLE_S)"
    )
    parser.add_argument(
        "--truth-boxes", action="store_true", help="the ground truth's own boxes as detections (score 0.95)"
    )
    parser.add_argument("--cache", type=Path, default=Path("/tmp/edgecv-line-dets"))
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    if args.settle is not None:
        lines_module.SETTLE_S = args.settle
        lines_module._SETTLED_AFTER = args.settle - SAME_TIME_S
    peer_on = PEER_VENV.exists() and not args.no_peer
    keys = ("truth", "edgecv", "supervision", "plain", "edgecv_plain", "supervision_plain")
    totals = dict.fromkeys(keys, 0)
    print(f"{'':14} {'-- reference (one per real crossing) --':>40} {'-- plain reference --':>34}")
    print(
        f"{'sequence':14} {'true':>5} {'edgecv err':>12} {'superv. err':>13} {'true':>6} {'edgecv':>12} {'superv.':>13}"
    )

    def pct(e: int, total: int, on: bool = True) -> str:
        return f"{e} ({e / total:.0%})" if on else "-"

    for name in SEQUENCES:
        seq = MOT15 / name
        g = load_gt(seq / "gt" / "gt.txt")
        frame, boxes, scores, n, fps, _, _ = load(seq)
        if args.truth_boxes:
            order = np.argsort(g[:, 0], kind="stable")
            frame = g[order, 0].astype(np.int64) - 1
            boxes = np.concatenate([g[order, 2:4], g[order, 2:4] + g[order, 4:6]], axis=1).astype(np.float32)
            scores = np.full(len(frame), 0.95, np.float32)
        lines = choose_lines(g[:, 2] + g[:, 4] / 2, g[:, 3] + g[:, 5])
        truth = gt_counts(seq / "gt" / "gt.txt", lines, args.gt_band)
        plain = gt_counts(seq / "gt" / "gt.txt", lines, 0.0)
        ours = edgecv_counts(frame, boxes, scores, n, fps, lines, args.margin)
        peer = peer_counts(frame, boxes, scores, n, fps, lines, args.cache) if peer_on else None
        row = {
            "truth": sum(sum(v) for v in truth.values()),
            "edgecv": error(ours, truth),
            "supervision": error(peer, truth) if peer else 0,
            "plain": sum(sum(v) for v in plain.values()),
            "edgecv_plain": error(ours, plain),
            "supervision_plain": error(peer, plain) if peer else 0,
        }
        for key in keys:
            totals[key] += row[key]
        t, tp = row["truth"], row["plain"]
        print(
            f"{name:14} {t:>5} {pct(row['edgecv'], t):>12} {pct(row['supervision'], t, peer_on):>13} "
            f"{tp:>6} {pct(row['edgecv_plain'], tp):>12} {pct(row['supervision_plain'], tp, peer_on):>13}"
        )
        if args.per_line:
            for line in lines:
                q = "/".join(map(str, peer[line])) if peer else "-"
                print(
                    f"    {line:14} truth {truth[line][0]}/{truth[line][1]} (plain {plain[line][0]}/"
                    f"{plain[line][1]})  edgecv {ours[line][0]}/{ours[line][1]}  supervision {q}"
                )
    t, tp = totals["truth"], totals["plain"]
    print(
        f"overall: true total {t}; edgecv error {totals['edgecv']} ({totals['edgecv'] / t:.1%})"
        + (f"; supervision {totals['supervision']} ({totals['supervision'] / t:.1%})" if peer_on else "")
        + f" | plain reference {tp}: edgecv {totals['edgecv_plain']} ({totals['edgecv_plain'] / tp:.1%})"
        + (
            f"; supervision {totals['supervision_plain']} ({totals['supervision_plain'] / tp:.1%})"
            if peer_on
            else ""
        )
    )


if __name__ == "__main__":
    main()
