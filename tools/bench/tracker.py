"""Tracker accuracy (MOT15 sequences at native rate and about 5 fps) and speed vs the peers, in one run.

    .venv/bin/python tools/bench/tracker.py [--sequences DIR ...] [--fps 5] [--rounds 5] [--peers ...]

Accuracy: every tracker gets the same detections, each sequence's ``det/det.txt`` (those below
``--min-score`` dropped for all alike; by default none), fed at the sequence's own rate and again at about
``--fps`` (``edgecv eval track --fps``: every k-th frame, renumbered). A fresh tracker per sequence and
rate, told that rate (``frame_rate``), everything else at its library defaults. Every figure comes from
edgecv's scorer (``edgecv.evaluate.mot_scores``); "overall" is motmetrics'
``compute_many(..., generate_overall=True)`` over the sequences, for edgecv and the peers alike.

Speed: ``--objects`` people walking across a 1280x720 frame at 30 fps with box jitter, 5% missed detections
and a few low-score false positives; the wall time of one ``update`` after 50 warm-up frames. Repeated
``--rounds`` times, edgecv and each peer in turn (interleaved, so drifting load from other processes hits
all of them alike); the table gives the median over every timed update of every round, and the range of
the per-round ratios to edgecv.

The peers run in their own virtual environments (created here on first use, versions pinned), via
subprocess: ``.venv-peer-trackers`` (roboflow ``trackers``: ByteTrack, SORT, OC-SORT; it needs numpy >= 2 and
opencv-python, not headless) and ``.venv-peer-norfair`` (norfair needs numpy < 2; its ``Tracker`` with IoU
distance).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from peers import ensure_venv

ROOT = Path(__file__).resolve().parents[2]
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
WARMUP = 50
EDGECV = "edgecv ByteTracker"
BASELINE = "trackers ByteTrack"  # the speed goal's reference

# Shared by the peer scripts: load the scenes, run each tracker over each, print JSON.
PEER_COMMON = r"""
import json, sys, time
import numpy as np

data = np.load(sys.argv[1])
meta = json.loads(sys.argv[2])  # {"speed": name, "accuracy": [[name, fps], ...]}

def scene(name):
    frame, boxes, scores = data[name + "/frame"], data[name + "/boxes"], data[name + "/scores"]
    starts = np.searchsorted(frame, np.arange(int(data[name + "/n_frames"]) + 1))
    return [(boxes[a:b], scores[a:b]) for a, b in zip(starts[:-1], starts[1:])]

def run(step, make, frames, fps):
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
    speed = scene(meta["speed"])
    accuracy = [(name, fps, scene(name)) for name, fps in meta["accuracy"]]
    for tracker, make in makers.items():
        times, _ = run(step, make, speed, 30.0)
        out[tracker] = {"ms": [1000 * x for x in times[WARMUP:]], "rows": {}}
        for name, fps, frames in accuracy:
            out[tracker]["rows"][name] = run(step, make, frames, fps)[1]
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
# distance <= 0.7 (IoU >= 0.3); hit_counter_max and initialization_delay left at norfair's defaults (norfair
# counts frames and takes no frame rate).
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
        ["trackers==2.6.1", "supervision==0.31.2", "opencv-python==5.0.0.93", "numpy==2.4.6"],
        TRACKERS_SCRIPT,
    ),
    "norfair": (ROOT / ".venv-peer-norfair", ["norfair==2.3.0", "numpy==1.26.4"], NORFAIR_SCRIPT),
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


def sequence_scene(seq: Any) -> dict[str, np.ndarray]:
    """A MOT sequence's detections as a scene: 0-based frame, xyxy boxes, scores (sorted by frame)."""
    from edgecv.boxes import xywh_to_xyxy

    det = seq.det[np.argsort(seq.det[:, 0], kind="stable")]
    return {
        "n_frames": np.array(seq.length),
        "frame": det[:, 0].astype(np.int64) - 1,
        "boxes": xywh_to_xyxy(det[:, 1:5]).astype(np.float32),
        "scores": det[:, 5].astype(np.float32),
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


def rate_name(rate: float | None) -> str:
    return "native" if rate is None else f"{rate:g} fps"


def load_sequences(paths: list[Path], rates: list[float | None], min_score: float) -> dict[str, Any]:
    """``{"<name>@<rate>": MotSequence}`` for every sequence at every rate (None: native)."""
    from edgecv.evaluate.mot import read_sequence, subsample

    out = {}
    for path in paths:
        seq = read_sequence(path)
        seq.det = seq.det[seq.det[:, 5] >= min_score]
        for rate in rates:
            out[f"{seq.name}@{rate_name(rate)}"] = seq if rate is None else subsample(seq, rate)
    return out


def score_runs(sequences: dict[str, Any], rows: dict[str, list]) -> dict[str, dict[str, Any]]:
    """Per rate: every sequence's figures and the overall ones, from edgecv's scorer."""
    from edgecv.evaluate.mot import frame_pairs
    from edgecv.evaluate.mot_scores import score

    by_rate: dict[str, dict[str, list]] = {}
    for key, seq in sequences.items():
        res = np.array(rows[key], np.float64).reshape(-1, 6)
        res[:, 4:6] -= res[:, 2:4]  # xyxy → xywh
        by_rate.setdefault(key.split("@")[1], {})[seq.name] = frame_pairs(seq, res)
    return {rate: score(frames) for rate, frames in by_rate.items()}


def edgecv_rows(sequences: dict[str, Any]) -> dict[str, list]:
    from edgecv.evaluate.mot import run_tracker
    from edgecv.track.tracker import ByteTracker

    out = {}
    for key, seq in sequences.items():
        res = run_tracker(seq, ByteTracker().update).results.copy()
        res[:, 4:6] += res[:, 2:4]  # xywh → xyxy, as the peers report
        out[key] = res.tolist()
    return out


def print_accuracy(
    scores: dict[str, dict[str, dict[str, Any]]], rates: list[str], per_sequence: bool
) -> None:
    from edgecv.evaluate.mot_scores import OVERALL

    print(f"\naccuracy, overall over {len(next(iter(scores.values()))[rates[0]]) - 1} sequences")
    head = "".join(f" {'MOTA':>6} {'IDF1':>6} {'HOTA':>6} {'FP':>6} {'FN':>6} {'IDsw':>5} |" for _ in rates)
    print(f"{'':<22} |" + "".join(f" {r:^41} |" for r in rates))
    print(f"{'tracker':<22} |{head}")
    for name, by_rate in scores.items():
        cells = "".join(
            f" {o['mota']:>6.3f} {o['idf1']:>6.3f} {o['hota']:>6.3f} {o['false_positives']:>6d}"
            f" {o['misses']:>6d} {o['id_switches']:>5d} |"
            for o in (by_rate[r][OVERALL] for r in rates)
        )
        print(f"{name:<22} |{cells}")
    peers = [n for n in scores if n != EDGECV]
    if peers:
        for r in rates:
            for metric in ("mota", "idf1"):
                best = max(peers, key=lambda n: scores[n][r][OVERALL][metric])
                ours, theirs = scores[EDGECV][r][OVERALL][metric], scores[best][r][OVERALL][metric]
                verdict = "met" if ours >= theirs + 0.01 else "NOT met"
                print(
                    f"goal {metric.upper()} at rate {r} >= best peer + 0.01: edgecv {ours:.3f}, "
                    f"{best} {theirs:.3f} ({ours - theirs:+.3f}): {verdict}"
                )
    if not per_sequence:
        return
    for r in rates:
        print(f"\nper sequence at rate {r}: MOTA / IDF1 / HOTA")
        names = [n for n in next(iter(scores.values()))[r] if n != OVERALL]
        print(f"{'tracker':<22}" + "".join(f" | {n[:17]:^17}" for n in names))
        for tracker, by_rate in scores.items():
            cells = "".join(
                f" | {by_rate[r][n]['mota']:.3f} {by_rate[r][n]['idf1']:.3f} {by_rate[r][n]['hota']:.3f}"
                for n in names
            )
            print(f"{tracker:<22}{cells}")


def print_speed(
    times: dict[str, list[float]], rounds: dict[str, list[float]], args: argparse.Namespace
) -> None:
    ours_med = float(np.median(times[EDGECV]))
    ours_rounds = np.array(rounds[EDGECV])
    print(
        f"\nspeed: {args.objects} objects, {args.frames} frames at 30 fps, {args.rounds} interleaved rounds; "
        f"ms per update (median over rounds, after {WARMUP} warm-up frames each)"
    )
    print(f"{'tracker':<22} {'ms/update':>9} {'vs edgecv':>9} {'per round':>13}")
    for name, t in times.items():
        med = float(np.median(t))
        ratios = np.array(rounds[name]) / ours_rounds
        spread = f"{ratios.min():.1f}-{ratios.max():.1f}x"
        print(f"{name:<22} {med:>9.3f} {med / ours_med:>8.1f}x {spread:>13}")
    verdict = "met" if ours_med <= 0.5 else "NOT met"
    print(f"goal edgecv <= 0.5 ms per update: {ours_med:.3f} ms: {verdict}")
    if BASELINE in times:
        ratio = float(np.median(times[BASELINE])) / ours_med
        print(f"goal >= 3x faster than {BASELINE}: {ratio:.1f}x: {'met' if ratio >= 3 else 'NOT met'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sequences",
        nargs="*",
        type=Path,
        default=[MOT15 / name for name in SEQUENCES],
        help="MOTChallenge sequence folders (default: the seven in ../shared/assets/mot15)",
    )
    parser.add_argument("--fps", type=float, default=5.0, help="the low rate, beside each sequence's own")
    parser.add_argument("--min-score", type=float, default=0.0, help="drop detections below this, for all")
    parser.add_argument("--objects", type=int, default=30)
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=5, help="edgecv and the peers in turn, this many times")
    parser.add_argument("--per-sequence", action="store_true", help="also print every sequence's figures")
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--peers", default=",".join(PEERS), help=f"comma-separated, of: {', '.join(PEERS)}")
    args = parser.parse_args()

    missing = [str(p) for p in args.sequences if not (p / "seqinfo.ini").is_file()]
    if missing:
        print(f"skipping accuracy: not MOTChallenge sequences: {', '.join(missing)}", file=sys.stderr)
        args.sequences = []
    rates: list[float | None] = [None, args.fps]
    sequences = load_sequences(args.sequences, rates, args.min_score)
    rate_names = [rate_name(r) for r in rates]

    peers = [] if args.no_peers else [PEERS[p.strip()] for p in args.peers.split(",") if p.strip()]
    pythons = [ensure_venv(venv, packages) for venv, packages, _ in peers]

    speed_scene = make_scene(args.objects, args.frames)
    scores: dict[str, dict[str, dict[str, Any]]] = {}
    if sequences:
        scores[EDGECV] = score_runs(sequences, edgecv_rows(sequences))
    times: dict[str, list[float]] = {EDGECV: []}
    round_medians: dict[str, list[float]] = {EDGECV: []}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scenes.npz"
        arrays = {f"speed/{k}": v for k, v in speed_scene.items()}
        for key, seq in sequences.items():
            arrays |= {f"{key}/{k}": v for k, v in sequence_scene(seq).items()}
        np.savez(path, **arrays)
        for r in range(args.rounds):
            ours = bench_edgecv(speed_scene)
            times[EDGECV] += ours
            round_medians[EDGECV].append(float(np.median(ours)))
            # Accuracy is deterministic: the peers run the sequences in the first round only.
            meta = {
                "speed": "speed",
                "accuracy": [[k, s.fps] for k, s in sequences.items()] if r == 0 else [],
            }
            for python, (_, _, script) in zip(pythons, peers, strict=True):
                done = subprocess.run(
                    [str(python), "-c", script, str(path), json.dumps(meta)], capture_output=True, text=True
                )
                if done.returncode:
                    print(done.stderr, file=sys.stderr)
                    raise SystemExit(f"peer in {python} failed")
                for name, peer in json.loads(done.stdout.strip().splitlines()[-1]).items():
                    times.setdefault(name, []).extend(peer["ms"])
                    round_medians.setdefault(name, []).append(float(np.median(peer["ms"])))
                    if peer["rows"]:
                        scores[name] = score_runs(sequences, peer["rows"])

    if scores:
        print_accuracy(scores, rate_names, args.per_sequence)
    print_speed(times, round_medians, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
