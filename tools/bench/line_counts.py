"""Line counting accuracy: edgecv vs ground truth vs supervision's LineZone, on real clips.

    .venv/bin/python tools/bench/line_counts.py [--conf 0.1] [--gt-band 0.05] [--cache /tmp/edgecv-line-dets]

Detections: YOLOv8n int8 (``../shared/assets/models/yolov8n_int8``) at ``--conf`` on every frame of each
clip, people only, computed once and cached (npz) under ``--cache``. The same detections feed
* edgecv: its ``ByteTracker`` (default config, told the clip's frame times) and :class:`edgecv.scene.Lines`
  (default margin, bottom-centre anchor, told where tracks began: ``ByteTracker.origins``);
* supervision 0.31 ``LineZone`` (``triggering_anchors=[BOTTOM_CENTER]``) fed by roboflow ``trackers``
  ``ByteTrackTracker(frame_rate=fps)``, in ``.venv-peer-trackers`` (see tools/bench/tracker.py). Its in/out
  convention is found by a synthetic walker crossing to edgecv's ``in`` side, and mapped.
Lines: six per clip from its busy region (``choose_lines``: vertical at 30/50/70% of its width, horizontal at
50% of its height, both diagonals), the ground truth's bottom centres where there is one, else the
detections' (score >= 0.5).
Ground truth (TUD-Campus): the MOT ``gt.txt`` trajectories (rows flagged to consider), bottom centres, by
the reference rule of ``gt_crossings`` (a change of side decided outside a band of ``--gt-band`` box
heights, on the segment: one crossing per real crossing, not per wobble of the annotated feet; plain code,
not edgecv's).
Error per clip: sum over lines and directions of |count - true count|, over the true total.
vtest.mp4 has no ground truth here: edgecv and supervision are printed side by side.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from edgecv.detect.detector import Detector, DetectParams  # noqa: E402
from edgecv.detections import Detections  # noqa: E402
from edgecv.scene.lines import IN, OUT, LineRule, Lines  # noqa: E402
from edgecv.track.tracker import ByteTracker  # noqa: E402

ASSETS = ROOT / ".." / "shared" / "assets"
MODEL = ASSETS / "models" / "yolov8n_int8" / "yolov8n_full_integer_quant.tflite"
LABELS = ASSETS / "models" / "yolov8n_int8" / "coco_labels.txt"
PEER_VENV = ROOT / ".venv-peer-trackers"
# Lines come from each clip's busy region (choose_lines): the ground truth's bottom centres where there is
# one, else the confident detections' (vtest: no ground truth here).
CLIPS = {
    "TUD-Campus": {
        "video": ASSETS / "mot15" / "TUD-Campus" / "TUD-Campus.mp4",
        "gt": ASSETS / "mot15" / "TUD-Campus" / "gt" / "gt.txt",
    },
    "vtest": {"video": ASSETS / "video" / "vtest.mp4", "gt": None},
}

PEER = r"""
import json, sys
import numpy as np
import supervision as sv
import trackers

data = np.load(sys.argv[1])
meta = json.loads(sys.argv[2])
anchor = [sv.Position.BOTTOM_CENTER]

def zones():
    return {n: sv.LineZone(start=sv.Point(*p[0]), end=sv.Point(*p[1]), triggering_anchors=anchor)
            for n, p in meta["lines"].items()}

# Which of supervision's counters takes a crossing to edgecv's "in" side (left of a top-to-bottom line).
probe = sv.LineZone(start=sv.Point(100, 0), end=sv.Point(100, 200), triggering_anchors=anchor)
for x in (150, 140, 130, 70, 60, 50):
    probe.trigger(sv.Detections(xyxy=np.array([[x - 5, 80, x + 5, 100]], np.float32), tracker_id=np.array([1])))
in_is_in = probe.in_count == 1

lines = zones()
tracker = trackers.ByteTrackTracker(frame_rate=meta["fps"])
starts = np.searchsorted(data["frame"], np.arange(int(data["n_frames"]) + 1))
for a, b in zip(starts[:-1], starts[1:]):
    d = sv.Detections(xyxy=data["boxes"][a:b].astype(np.float32), confidence=data["scores"][a:b].astype(np.float32),
                      class_id=np.zeros(b - a, int))
    d = tracker.update(d)
    if d.tracker_id is not None:
        d = d[np.array([i is not None and i >= 0 for i in d.tracker_id], bool)]
    for z in lines.values():
        z.trigger(d)
out = {n: ([z.in_count, z.out_count] if in_is_in else [z.out_count, z.in_count]) for n, z in lines.items()}
print(json.dumps(out))
"""


def detections(
    video: Path, cache: Path, conf: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, float]:
    """Per-frame person boxes of ``video``: (frame index per box, boxes, scores, frame count, fps)."""
    path = cache / f"{video.stem}-conf{conf}.npz"
    if path.exists():
        z = np.load(path)
        return z["frame"], z["boxes"], z["scores"], int(z["n_frames"]), float(z["fps"])
    detector = Detector(MODEL, labels=LABELS, threads=2, params=DetectParams(conf=conf))
    capture = cv2.VideoCapture(str(video))
    fps = capture.get(cv2.CAP_PROP_FPS)
    frames, boxes, scores = [], [], []
    k = 0
    while True:
        ok, image = capture.read()
        if not ok:
            break
        d = detector.detect(image)
        d = d[d.class_ids == 0]
        frames.append(np.full(len(d), k))
        boxes.append(d.boxes)
        scores.append(d.scores)
        k += 1
    cache.mkdir(parents=True, exist_ok=True)
    out = (np.concatenate(frames), np.concatenate(boxes), np.concatenate(scores), k, fps)
    np.savez(path, frame=out[0], boxes=out[1], scores=out[2], n_frames=k, fps=fps)
    return out


def edgecv_counts(
    frame: np.ndarray,
    boxes: np.ndarray,
    scores: np.ndarray,
    n: int,
    fps: float,
    lines: dict[str, list[list[float]]],
    margin: float,
) -> dict[str, list[int]]:
    rules = [LineRule(name, np.array(p, np.float32), margin=margin) for name, p in lines.items()]
    counter = Lines(rules, num_classes=1)
    tracker = ByteTracker()
    starts = np.searchsorted(frame, np.arange(n + 1))
    for k in range(n):
        a, b = starts[k], starts[k + 1]
        d = Detections(boxes[a:b], scores[a:b], np.zeros(b - a, np.int32))
        tracked, events = tracker.update(d, ts=k / fps)
        counter.update(tracked, ts=k / fps, origins=tracker.origins)
        ended = [e.track_id for e in events if e.kind == "end"]
        if ended:
            counter.end(np.array(ended), ts=k / fps)
    # The clip ends: every open track ends with it (what `edgecv run` does when a file source ends).
    counter.end(np.array([e.track_id for e in tracker.finish(ts=n / fps)], np.int64), ts=n / fps)
    return {
        name: [int(counter.counts[i, IN].sum()), int(counter.counts[i, OUT].sum())]
        for i, name in enumerate(lines)
    }


# The reference's band: a ground-truth point decides its trajectory's side only when it is farther than this
# fraction of its box's height from the line (the first and last points always decide). Annotated feet wobble
# by a few pixels frame to frame (more on the moving cameras: ETH, KITTI, ADL-Rundle-8), and a person walking
# along a line would otherwise "cross" it at every wobble: over the seven MOT15 sequences' 42 lines the plain
# reference (0) finds 824 crossings, 0.02 finds 625, 0.05 finds 577, 0.1 finds 526. 0.05 (2-10 px on these
# people) is fixed here for every sequence and clip; edgecv's own band is 0.1 of the box plus settling.
GT_BAND = 0.05


def gt_crossings(
    xs: np.ndarray, ys: np.ndarray, heights: np.ndarray, line: list[list[float]], band: float
) -> list[int]:
    """In/out crossings of one trajectory (bottom centres in frame order) over ``line`` (the reference rule).

    A point decides the trajectory's side when it lies farther than ``band`` x its box height from the line;
    the first and the last points always decide (where it came from, where it went). A crossing is a change
    of decided side, counted (in or out by the new side) when the path's last sign change before it meets the
    segment. ``band`` 0: every sign change on the segment (the plain reference).
    """
    (x1, y1), (x2, y2) = line
    dx, dy = x2 - x1, y2 - y1
    s = (dx * (ys - y1) - dy * (xs - x1)) / np.hypot(dx, dy)  # signed distance, > 0: the in side
    u = ((xs - x1) * dx + (ys - y1) * dy) / (dx * dx + dy * dy)  # position along the segment
    counts = [0, 0]
    side, cross_u = 0, np.nan
    for k in range(s.size):  # a benchmark's reference: plain code, not edgecv's
        if k and (s[k] > 0) != (s[k - 1] > 0):
            t = s[k - 1] / (s[k - 1] - s[k])
            cross_u = u[k - 1] + t * (u[k] - u[k - 1])
        if abs(s[k]) <= band * heights[k] and 0 < k < s.size - 1:
            continue
        new_side = 1 if s[k] > 0 else -1
        if side and new_side != side and 0 <= cross_u <= 1:
            counts[IN if new_side > 0 else OUT] += 1
        if new_side != side:
            cross_u = np.nan
        side = new_side
    return counts


def load_gt(gt: Path) -> np.ndarray:
    """MOT ground truth rows to consider (the flag column ``conf`` 0 marks rows to ignore)."""
    g = np.loadtxt(gt, delimiter=",", ndmin=2)
    return g[g[:, 6] != 0]


def gt_counts(gt: Path, lines: dict[str, list[list[float]]], band: float = GT_BAND) -> dict[str, list[int]]:
    """The reference: every ground-truth trajectory's bottom centres, crossings by :func:`gt_crossings`."""
    g = load_gt(gt)
    g = g[np.lexsort((g[:, 0], g[:, 1]))]  # by trajectory, then frame
    splits = np.flatnonzero(np.diff(g[:, 1])) + 1
    out = {}
    for name, line in lines.items():
        counts = [0, 0]
        for rows in np.split(g, splits):
            c = gt_crossings(rows[:, 2] + rows[:, 4] / 2, rows[:, 3] + rows[:, 5], rows[:, 5], line, band)
            counts[IN] += c[IN]
            counts[OUT] += c[OUT]
        out[name] = counts
    return out


def extent(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """The busy region: 5th-95th percentiles of bottom centres ``x``, ``y`` (x0, y0, x1, y1)."""
    (x0, x1), (y0, y1) = np.percentile(x, [5, 95]), np.percentile(y, [5, 95])
    return float(x0), float(y0), float(x1), float(y1)


def choose_lines(x: np.ndarray, y: np.ndarray) -> dict[str, list[list[float]]]:
    """Six lines through the busy region of bottom centres ``x``, ``y`` (never chosen from any count):
    vertical at 30/50/70% of its width, horizontal at 50% of its height, both diagonals."""
    x0, y0, x1, y1 = extent(x, y)
    w, h = x1 - x0, y1 - y0
    return {
        "vertical_30": [[x0 + 0.3 * w, y0], [x0 + 0.3 * w, y1]],
        "vertical_50": [[x0 + 0.5 * w, y0], [x0 + 0.5 * w, y1]],
        "vertical_70": [[x0 + 0.7 * w, y0], [x0 + 0.7 * w, y1]],
        "horizontal_50": [[x0, y0 + 0.5 * h], [x1, y0 + 0.5 * h]],
        "diagonal_down": [[x0, y0], [x1, y1]],
        "diagonal_up": [[x0, y1], [x1, y0]],
    }


def peer_counts(
    frame: np.ndarray,
    boxes: np.ndarray,
    scores: np.ndarray,
    n: int,
    fps: float,
    lines: dict[str, list[list[float]]],
    cache: Path,
) -> dict[str, list[int]]:
    data = cache / "peer-input.npz"
    np.savez(data, frame=frame, boxes=boxes, scores=scores, n_frames=n)
    python = PEER_VENV / "bin" / "python"
    result = subprocess.run(
        [str(python), "-c", PEER, str(data), json.dumps({"lines": lines, "fps": fps})],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def error(counts: dict[str, list[int]], truth: dict[str, list[int]]) -> int:
    return sum(abs(counts[n][d] - truth[n][d]) for n in truth for d in (IN, OUT))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conf", type=float, default=0.1)
    parser.add_argument("--margin", type=float, default=0.1, help="edgecv lines' margin (config default 0.1)")
    parser.add_argument("--gt-band", type=float, default=GT_BAND, help="the reference's band (0: plain)")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/edgecv-line-dets"))
    args = parser.parse_args()
    for clip, spec in CLIPS.items():
        frame, boxes, scores, n, fps = detections(spec["video"], args.cache, args.conf)
        if spec["gt"]:
            g = load_gt(spec["gt"])
            lines = choose_lines(g[:, 2] + g[:, 4] / 2, g[:, 3] + g[:, 5])
        else:
            sure = boxes[scores >= 0.5]
            lines = choose_lines((sure[:, 0] + sure[:, 2]) / 2, sure[:, 3])
        ours = edgecv_counts(frame, boxes, scores, n, fps, lines, args.margin)
        peer = peer_counts(frame, boxes, scores, n, fps, lines, args.cache) if PEER_VENV.exists() else None
        truth = gt_counts(spec["gt"], lines, args.gt_band) if spec["gt"] else None
        print(f"\n{clip}: {n} frames at {fps:g} fps, YOLOv8n conf {args.conf}, {len(boxes)} person boxes")
        print(f"{'line':16} {'truth in/out':>13} {'edgecv in/out':>14} {'supervision in/out':>19}")
        for name in lines:
            t = "/".join(map(str, truth[name])) if truth else "-"
            p = "/".join(map(str, peer[name])) if peer else "-"
            print(f"{name:16} {t:>13} {'/'.join(map(str, ours[name])):>14} {p:>19}")
        if truth:
            total = sum(sum(v) for v in truth.values())
            e = error(ours, truth)
            line = f"true total {total}; edgecv error {e} ({e / total:.0%})"
            if peer:
                ep = error(peer, truth)
                line += f"; supervision error {ep} ({ep / total:.0%})"
            print(line)
        else:
            print(
                f"totals: edgecv {sum(sum(v) for v in ours.values())}, "
                f"supervision {sum(sum(v) for v in peer.values()) if peer else '-'}"
            )


if __name__ == "__main__":
    main()
