"""Tracker speed (and TUD-Campus accuracy) vs roboflow ``trackers``, measured in the same run.

    .venv/bin/python tools/bench/tracker.py [--objects 30] [--frames 600] [--no-peers]

Both trackers get the same detections: ``--objects`` people walking across a 1280x720 frame at 30 fps with
box jitter, 5% missed detections and a few low-score false positives. Timing is the median wall time of one
``update`` after 50 warm-up frames. ``trackers`` needs numpy >= 2 and opencv-python (not headless), so it
runs in its own virtual environment, ``.venv-peer-trackers`` (created here on first use), via subprocess.
Its trackers are also fed TUD-Campus's det.txt and scored with edgecv's own scorer, so that every MOTA/IDF1
in the table comes from the same code.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
PEER_VENV = ROOT / ".venv-peer-trackers"
PEER_PACKAGES = ["trackers==2.6.1", "opencv-python", "numpy>=2"]
TUD_CAMPUS = ROOT / ".." / "shared" / "assets" / "mot15" / "TUD-Campus"
WARMUP = 50

PEER_SCRIPT = r"""
import json, sys, time
import numpy as np
import supervision as sv
import trackers

scene = np.load(sys.argv[1])
out = {}

def detections(boxes, scores):
    return sv.Detections(xyxy=boxes.astype(np.float32), confidence=scores.astype(np.float32),
                         class_id=np.zeros(len(scores), int))

def run(make, frames, fps=30.0):
    t = make(fps)
    times, rows = [], []
    for k, (boxes, scores) in enumerate(frames):
        d = detections(boxes, scores)
        start = time.perf_counter()
        r = t.update(d)
        times.append(time.perf_counter() - start)
        for b, i in zip(r.xyxy, r.tracker_id):
            if i is not None and i >= 0:
                rows.append([k + 1, int(i), *map(float, b)])
    return times, rows

makers = {
    "trackers ByteTrack": lambda fps: trackers.ByteTrackTracker(frame_rate=fps),
    "trackers SORT": lambda fps: trackers.SORTTracker(frame_rate=fps),
    "trackers OC-SORT": lambda fps: trackers.OCSORTTracker(frame_rate=fps),
}
n = int(scene["n_frames"])
frames = [(scene["boxes"][scene["frame"] == k], scene["scores"][scene["frame"] == k]) for k in range(n)]
for name, make in makers.items():
    times, _ = run(make, frames)
    out[name] = {"ms_per_update": 1000 * float(np.median(times[%(warmup)d:]))}
if "tud_frames" in scene:
    m = int(scene["tud_frames"])
    tud = [(scene["tud_boxes"][scene["tud_frame"] == k], scene["tud_scores"][scene["tud_frame"] == k]) for k in range(m)]
    for name, make in makers.items():
        _, rows = run(make, tud, float(scene["tud_fps"]))
        out[name]["tud_rows"] = rows
print(json.dumps(out))
""" % {"warmup": WARMUP}


def make_scene(objects: int, frames: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    start = rng.uniform([0, 100], [1200, 500], (objects, 2))
    velocity = rng.uniform(-60, 60, (objects, 2))  # px/s
    size = np.stack([rng.uniform(30, 60, objects), rng.uniform(80, 160, objects)], axis=1)
    frame_ids, boxes, scores = [], [], []
    for k in range(frames):
        t = k / 30
        xy = (start + velocity * t) % [1240, 600]
        keep = rng.random(objects) > 0.05
        b = np.concatenate([xy, xy + size], axis=1)[keep] + rng.normal(0, 2, (int(keep.sum()), 4))
        s = rng.uniform(0.6, 0.95, b.shape[0])
        fp = rng.uniform(0, 1000, (2, 2))
        b = np.concatenate([b, np.concatenate([fp, fp + 50], axis=1)])
        s = np.concatenate([s, rng.uniform(0.1, 0.4, 2)])
        frame_ids.append(np.full(b.shape[0], k))
        boxes.append(b)
        scores.append(s)
    return {
        "n_frames": np.array(frames),
        "frame": np.concatenate(frame_ids),
        "boxes": np.concatenate(boxes).astype(np.float32),
        "scores": np.concatenate(scores).astype(np.float32),
    }


def bench_edgecv(scene: dict[str, np.ndarray]) -> float:
    from edgecv.detections import Detections
    from edgecv.track.tracker import ByteTracker

    tracker = ByteTracker()
    times = []
    for k in range(int(scene["n_frames"])):
        mask = scene["frame"] == k
        d = Detections(scene["boxes"][mask], scene["scores"][mask], np.zeros(int(mask.sum()), np.int32))
        start = time.perf_counter()
        tracker.update(d, k / 30)
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times[WARMUP:]))


def ensure_peer_venv() -> Path:
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {PEER_VENV} ({' '.join(PEER_PACKAGES)})", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PEER_PACKAGES], check=True)
    return python


def score_rows(seq, rows: list) -> dict[str, float]:
    from edgecv.evaluate.mot import frame_pairs
    from edgecv.evaluate.mot_scores import clear_counts, hota_counts, summarise

    res = np.array(rows, np.float64).reshape(-1, 6)
    res[:, 4:6] -= res[:, 2:4]  # xyxy → xywh
    frames = frame_pairs(seq, res)
    return summarise([clear_counts(frames)], [hota_counts(frames)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=30)
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--no-peers", action="store_true")
    args = parser.parse_args()

    scene = make_scene(args.objects, args.frames)
    ours = bench_edgecv(scene)
    results: dict[str, dict] = {"edgecv ByteTracker": {"ms_per_update": ours}}
    seq = None
    if TUD_CAMPUS.is_dir():
        from edgecv.evaluate.tracking import evaluate_tracking

        ev = evaluate_tracking([TUD_CAMPUS])
        results["edgecv ByteTracker"].update(mota=ev["mota"], idf1=ev["idf1"], hota=ev["hota"])
        from edgecv.evaluate.mot import read_sequence, xywh_to_xyxy

        seq = read_sequence(TUD_CAMPUS)
        det = seq.det
        scene |= {
            "tud_frames": np.array(seq.length + 1),
            "tud_fps": np.array(seq.fps),
            "tud_frame": det[:, 0].astype(int) - 1,
            "tud_boxes": xywh_to_xyxy(det[:, 1:5]).astype(np.float32),
            "tud_scores": det[:, 5].astype(np.float32),
        }
    if not args.no_peers:
        python = ensure_peer_venv()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "scene.npz"
            np.savez(path, **scene)
            done = subprocess.run(
                [str(python), "-c", PEER_SCRIPT, str(path)], capture_output=True, text=True, check=True
            )
        for name, peer in json.loads(done.stdout.strip().splitlines()[-1]).items():
            rows = peer.pop("tud_rows", None)
            if rows is not None and seq is not None:
                peer.update({k: v for k, v in score_rows(seq, rows).items() if k in ("mota", "idf1", "hota")})
            results[name] = peer

    print(f"{args.objects} objects, {args.frames} frames at 30 fps; ms per update (median after {WARMUP} warm-up frames)")
    print(f"{'tracker':<22} {'ms/update':>9} {'vs edgecv':>9} {'MOTA':>6} {'IDF1':>6} {'HOTA':>6}  (TUD-Campus)")
    for name, r in results.items():
        acc = "".join(f" {r[k]:>6.3f}" if k in r else f" {'-':>6}" for k in ("mota", "idf1", "hota"))
        print(f"{name:<22} {r['ms_per_update']:>9.3f} {r['ms_per_update'] / ours:>8.1f}x{acc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
