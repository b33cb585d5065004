"""Tracker speed (and TUD-Campus accuracy) vs roboflow ``trackers`` and norfair, measured in the same run.

    .venv/bin/python tools/bench/tracker.py [--objects 30] [--frames 600] [--rounds 5] [--no-peers]

Every tracker gets the same detections: ``--objects`` people walking across a 1280x720 frame at 30 fps with
box jitter, 5% missed detections and a few low-score false positives. Timing is the wall time of one
``update`` after 50 warm-up frames; the run is repeated ``--rounds`` times, edgecv and each peer in turn
(interleaved, so drifting load from other processes hits all of them alike), and the table gives the median
over every timed update of every round, and the range of the per-round ratios to edgecv.

The peers run in their own virtual environments (created here on first use), via subprocess:
``.venv-peer-trackers`` (``trackers`` needs numpy >= 2 and opencv-python, not headless) and
``.venv-peer-norfair`` (norfair needs numpy < 2; its ``Tracker`` with IoU distance). All of them are also
fed TUD-Campus's det.txt and scored with edgecv's own scorer, so that every MOTA/IDF1 in the table comes
from the same code.
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
from peers import ensure_venv

ROOT = Path(__file__).resolve().parents[2]
TUD_CAMPUS = ROOT / ".." / "shared" / "assets" / "mot15" / "TUD-Campus"
WARMUP = 50

# Shared by the peer scripts: load the scene, run one tracker over frames, print JSON.
PEER_COMMON = r"""
import json, sys, time
import numpy as np

scene = np.load(sys.argv[1])
with_tud = sys.argv[2] == "1" and "tud_frames" in scene
n = int(scene["n_frames"])
frames = [(scene["boxes"][scene["frame"] == k], scene["scores"][scene["frame"] == k]) for k in range(n)]
if with_tud:
    m = int(scene["tud_frames"])
    tud = [(scene["tud_boxes"][scene["tud_frame"] == k], scene["tud_scores"][scene["tud_frame"] == k])
           for k in range(m)]

def run(step, make, frames, fps=30.0):
    t = make(fps)
    times, rows = [], []
    for k, (boxes, scores) in enumerate(frames):
        d = convert(boxes, scores)
        start = time.perf_counter()
        r = step(t, d)
        times.append(time.perf_counter() - start)
        rows += [[k + 1, int(i), *map(float, b)] for b, i in tracked(r)]
    return times, rows

def main(makers, step):
    out = {}
    for name, make in makers.items():
        times, _ = run(step, make, frames)
        out[name] = {"ms": [1000 * x for x in times[WARMUP:]]}
        if with_tud:
            out[name]["tud_rows"] = run(step, make, tud, float(scene["tud_fps"]))[1]
    print(json.dumps(out))
""".replace("WARMUP", str(WARMUP))

TRACKERS_SCRIPT = (
    PEER_COMMON
    + r"""
import supervision as sv
import trackers

def convert(boxes, scores):
    return sv.Detections(xyxy=boxes.astype(np.float32), confidence=scores.astype(np.float32),
                         class_id=np.zeros(len(scores), int))

def tracked(r):
    return [(b, i) for b, i in zip(r.xyxy, r.tracker_id) if i is not None and i >= 0]

main({
    "trackers ByteTrack": lambda fps: trackers.ByteTrackTracker(frame_rate=fps),
    "trackers SORT": lambda fps: trackers.SORTTracker(frame_rate=fps),
    "trackers OC-SORT": lambda fps: trackers.OCSORTTracker(frame_rate=fps),
}, lambda t, d: t.update(d))
"""
)

# norfair's documented box set-up: a Detection is the two corners, distance "iou" (1 - IoU), a match needs
# distance <= 0.7 (IoU >= 0.3); hit_counter_max and initialization_delay left at norfair's defaults.
NORFAIR_SCRIPT = (
    PEER_COMMON
    + r"""
import norfair

def convert(boxes, scores):
    return [norfair.Detection(points=b.reshape(2, 2).astype(np.float64), scores=np.array([s, s], np.float64))
            for b, s in zip(boxes, scores)]

def tracked(objects):
    return [(o.estimate.reshape(4), o.id) for o in objects if o.id is not None]

main({"norfair (IoU)": lambda fps: norfair.Tracker(distance_function="iou", distance_threshold=0.7)},
     lambda t, d: t.update(detections=d))
"""
)

PEERS = {
    "trackers": (
        ROOT / ".venv-peer-trackers",
        ["trackers==2.6.1", "opencv-python", "numpy>=2"],
        TRACKERS_SCRIPT,
    ),
    "norfair": (ROOT / ".venv-peer-norfair", ["norfair==2.3.0", "numpy<2"], NORFAIR_SCRIPT),
}


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


def bench_edgecv(scene: dict[str, np.ndarray]) -> list[float]:
    """ms per update after the warm-up frames."""
    from edgecv.detections import Detections
    from edgecv.track.tracker import ByteTracker

    n = int(scene["n_frames"])
    frames = []
    for k in range(n):
        mask = scene["frame"] == k
        frames.append(
            Detections(scene["boxes"][mask], scene["scores"][mask], np.zeros(int(mask.sum()), np.int32))
        )
    tracker = ByteTracker()
    times = []
    for k, d in enumerate(frames):
        start = time.perf_counter()
        tracker.update(d, k / 30)
        times.append(time.perf_counter() - start)
    return [1000 * x for x in times[WARMUP:]]


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
    parser.add_argument("--rounds", type=int, default=5, help="edgecv and the peers in turn, this many times")
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--peers", default=",".join(PEERS), help=f"comma-separated, of: {', '.join(PEERS)}")
    args = parser.parse_args()

    scene = make_scene(args.objects, args.frames)
    accuracy: dict[str, dict[str, float]] = {}
    seq = None
    if TUD_CAMPUS.is_dir():
        from edgecv.boxes import xywh_to_xyxy
        from edgecv.evaluate.mot import read_sequence
        from edgecv.evaluate.tracking import evaluate_tracking

        ev = evaluate_tracking([TUD_CAMPUS])
        accuracy["edgecv ByteTracker"] = {k: ev[k] for k in ("mota", "idf1", "hota")}
        seq = read_sequence(TUD_CAMPUS)
        det = seq.det
        scene |= {
            "tud_frames": np.array(seq.length + 1),
            "tud_fps": np.array(seq.fps),
            "tud_frame": det[:, 0].astype(int) - 1,
            "tud_boxes": xywh_to_xyxy(det[:, 1:5]).astype(np.float32),
            "tud_scores": det[:, 5].astype(np.float32),
        }
    peers = [] if args.no_peers else [PEERS[p.strip()] for p in args.peers.split(",") if p.strip()]
    pythons = [ensure_venv(venv, packages) for venv, packages, _ in peers]

    times: dict[str, list[float]] = {"edgecv ByteTracker": []}
    round_medians: dict[str, list[float]] = {"edgecv ByteTracker": []}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scene.npz"
        np.savez(path, **scene)
        for r in range(args.rounds):
            ours = bench_edgecv(scene)
            times["edgecv ByteTracker"] += ours
            round_medians["edgecv ByteTracker"].append(float(np.median(ours)))
            for python, (_, _, script) in zip(pythons, peers, strict=True):
                done = subprocess.run(
                    [str(python), "-c", script, str(path), "1" if r == 0 else "0"],
                    capture_output=True,
                    text=True,
                )
                if done.returncode:
                    print(done.stderr, file=sys.stderr)
                    raise SystemExit(f"peer in {python} failed")
                for name, peer in json.loads(done.stdout.strip().splitlines()[-1]).items():
                    times.setdefault(name, []).extend(peer["ms"])
                    round_medians.setdefault(name, []).append(float(np.median(peer["ms"])))
                    rows = peer.get("tud_rows")
                    if rows is not None and seq is not None:
                        scores = score_rows(seq, rows)
                        accuracy[name] = {k: scores[k] for k in ("mota", "idf1", "hota")}

    ours_med = float(np.median(times["edgecv ByteTracker"]))
    ours_rounds = np.array(round_medians["edgecv ByteTracker"])
    print(
        f"{args.objects} objects, {args.frames} frames at 30 fps, {args.rounds} interleaved rounds; "
        f"ms per update (median over rounds, after {WARMUP} warm-up frames each)"
    )
    print(
        f"{'tracker':<22} {'ms/update':>9} {'vs edgecv':>9} {'per round':>13} {'MOTA':>6} {'IDF1':>6} {'HOTA':>6}"
        "  (TUD-Campus)"
    )
    for name, t in times.items():
        med = float(np.median(t))
        ratios = np.array(round_medians[name]) / ours_rounds
        acc = "".join(
            f" {accuracy[name][k]:>6.3f}" if name in accuracy else f" {'-':>6}"
            for k in ("mota", "idf1", "hota")
        )
        spread = f"{ratios.min():.1f}-{ratios.max():.1f}x"
        print(f"{name:<22} {med:>9.3f} {med / ours_med:>8.1f}x {spread:>13}{acc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
