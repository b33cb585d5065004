"""Line counting accuracy: edgecv vs ground truth vs supervision's LineZone, on real clips.

    .venv/bin/python tools/bench/line_counts.py [--conf 0.1] [--cache /tmp/edgecv-line-dets]

Detections: YOLOv8n int8 (``../shared/assets/models/yolov8n_int8``) at ``--conf`` on every frame of each
clip, people only, computed once and cached (npz) under ``--cache``. The same detections feed
* edgecv: its ``ByteTracker`` (default config, told the clip's frame times) and :class:`edgecv.scene.Lines`
  (default margin, bottom-centre anchor);
* supervision 0.31 ``LineZone`` (``triggering_anchors=[BOTTOM_CENTER]``) fed by roboflow ``trackers``
  ``ByteTrackTracker(frame_rate=fps)``, in ``.venv-peer-trackers`` (see tools/bench/tracker.py). Its in/out
  convention is found by a synthetic walker crossing to edgecv's ``in`` side, and mapped.
Ground truth (TUD-Campus): the MOT ``gt.txt`` trajectories' bottom centres, a crossing wherever consecutive
points change sides and the step meets the segment (a plain reference, not edgecv's code).
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
from edgecv.scene.zones import ZoneRule, Zones  # noqa: E402
from edgecv.track.tracker import ByteTracker  # noqa: E402

ASSETS = ROOT / ".." / "shared" / "assets"
MODEL = ASSETS / "models" / "yolov8n_int8" / "yolov8n_full_integer_quant.tflite"
LABELS = ASSETS / "models" / "yolov8n_int8" / "coco_labels.txt"
PEER_VENV = ROOT / ".venv-peer-trackers"
# Lines chosen from each scene's geometry (where people walk), before any count was looked at: vertical
# across the walkway, horizontal along the foot band, and diagonal.
CLIPS = {
    "TUD-Campus": {
        "video": ASSETS / "mot15" / "TUD-Campus" / "TUD-Campus.mp4",
        "gt": ASSETS / "mot15" / "TUD-Campus" / "gt" / "gt.txt",
        "lines": {
            "vertical_160": [[160, 280], [160, 480]],
            "vertical_320": [[320, 280], [320, 480]],
            "vertical_500": [[500, 280], [500, 480]],
            "horizontal_395": [[0, 395], [640, 395]],
            "diagonal": [[150, 480], [500, 300]],
        },
    },
    "vtest": {
        "video": ASSETS / "video" / "vtest.mp4",
        "gt": None,
        "lines": {
            "vertical_240": [[240, 60], [240, 360]],
            "horizontal_200": [[0, 200], [480, 200]],
            "horizontal_280": [[0, 280], [480, 280]],
            "diagonal": [[60, 360], [420, 60]],
            "diagonal_2": [[60, 80], [460, 320]],
        },
    },
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
        counter.update(tracked, ts=k / fps)
        ended = [e.track_id for e in events if e.kind == "end"]
        if ended:
            counter.end(np.array(ended), ts=k / fps)
    # The clip ends: every open track ends with it (what `edgecv run` does when a file source ends).
    counter.end(np.array([e.track_id for e in tracker.finish(ts=n / fps)], np.int64), ts=n / fps)
    return {
        name: [int(counter.counts[i, IN].sum()), int(counter.counts[i, OUT].sum())]
        for i, name in enumerate(lines)
    }


def gt_counts(gt: Path, lines: dict[str, list[list[float]]]) -> dict[str, list[int]]:
    """The plain reference: each ground-truth trajectory's consecutive bottom centres, side by side."""
    g = np.loadtxt(gt, delimiter=",")
    out = {}
    for name, ((x1, y1), (x2, y2)) in lines.items():
        counts = [0, 0]
        for track in np.unique(g[:, 1]):
            rows = g[g[:, 1] == track]
            rows = rows[np.argsort(rows[:, 0])]
            xs = rows[:, 2] + rows[:, 4] / 2
            ys = rows[:, 3] + rows[:, 5]
            for (ax, ay), (bx, by) in zip(
                zip(xs[:-1], ys[:-1], strict=True), zip(xs[1:], ys[1:], strict=True), strict=True
            ):
                sa = (x2 - x1) * (ay - y1) - (y2 - y1) * (ax - x1)
                sb = (x2 - x1) * (by - y1) - (y2 - y1) * (bx - x1)
                if (sa > 0) == (sb > 0):
                    continue
                t = sa / (sa - sb)
                px, py = ax + t * (bx - ax), ay + t * (by - ay)
                u = ((px - x1) * (x2 - x1) + (py - y1) * (y2 - y1)) / ((x2 - x1) ** 2 + (y2 - y1) ** 2)
                if 0 <= u <= 1:
                    counts[IN if sb > 0 else OUT] += 1
        out[name] = counts
    return out


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


# Zone occupancy check (TUD-Campus): the walkway's right half, the config's default inertia_s (0.5 s).
ZONE = np.array([[320, 300], [640, 300], [640, 480], [320, 480]], np.float32)


def occupancy_mae(
    frame: np.ndarray, boxes: np.ndarray, scores: np.ndarray, n: int, fps: float, gt: Path
) -> float:
    """Mean absolute error of per-frame occupancy: edgecv's debounced zone state vs GT bottom centres inside."""
    g = np.loadtxt(gt, delimiter=",")
    contour = ZONE.reshape(-1, 1, 2)
    truth = np.zeros(n)
    for f, x, y, w, h in g[:, [0, 2, 3, 4, 5]]:
        truth[int(f) - 1] += cv2.pointPolygonTest(contour, (float(x + w / 2), float(y + h)), False) >= 0
    zones = Zones([ZoneRule("walkway", ZONE, inertia_s=0.5)], 640, 480, num_classes=1)
    tracker = ByteTracker()
    starts = np.searchsorted(frame, np.arange(n + 1))
    ours = np.zeros(n)
    for k in range(n):
        a, b = starts[k], starts[k + 1]
        tracked, events = tracker.update(
            Detections(boxes[a:b], scores[a:b], np.zeros(b - a, np.int32)), ts=k / fps
        )
        zones.update(tracked, mono=k / fps, ts=k / fps)
        zones.end(np.array([e.track_id for e in events if e.kind == "end"], np.int64), ts=k / fps)
        ours[k] = zones.occupancy().sum()
    return float(np.abs(ours - truth).mean())


def error(counts: dict[str, list[int]], truth: dict[str, list[int]]) -> int:
    return sum(abs(counts[n][d] - truth[n][d]) for n in truth for d in (IN, OUT))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conf", type=float, default=0.1)
    parser.add_argument("--margin", type=float, default=0.1, help="edgecv lines' margin (config default 0.1)")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/edgecv-line-dets"))
    args = parser.parse_args()
    for clip, spec in CLIPS.items():
        frame, boxes, scores, n, fps = detections(spec["video"], args.cache, args.conf)
        lines = spec["lines"]
        ours = edgecv_counts(frame, boxes, scores, n, fps, lines, args.margin)
        peer = peer_counts(frame, boxes, scores, n, fps, lines, args.cache) if PEER_VENV.exists() else None
        truth = gt_counts(spec["gt"], lines) if spec["gt"] else None
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
            mae = occupancy_mae(frame, boxes, scores, n, fps, spec["gt"])
            print(f"zone occupancy (walkway right half, inertia_s 0.5): MAE {mae:.3f} people per frame")
        else:
            print(
                f"totals: edgecv {sum(sum(v) for v in ours.values())}, "
                f"supervision {sum(sum(v) for v in peer.values()) if peer else '-'}"
            )


if __name__ == "__main__":
    main()
