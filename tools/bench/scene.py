"""Scene rule speed: zones + lines per frame at 30 tracks x 10 zones x 10 lines, and motion per 640x480 frame.

    .venv/bin/python tools/bench/scene.py [--frames 2000] [--rounds 5]
    .venv/bin/python tools/bench/scene.py --compare /tmp/old-checkout [--frames 1000] [--rounds 3]

``--compare DIR`` times the rules of another checkout (its ``edgecv`` package) against this one on the same
scene, alternating processes round by round, so that both see the same machine load (the ratio is what
counts on a shared machine).

Tracks walk across a 1280x720 frame with box jitter (so crossings and zone changes happen); zones are
random quadrilaterals with mixed anchors and inertia, lines random segments. Motion: a real 640x480 clip
(``../shared/assets/mot15/TUD-Campus/TUD-Campus.mp4``, looped) when present, else noise frames. Medians
over all timed frames of all rounds; the goals are 0.05 ms and 1 ms.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
# --engine DIR (used by --compare): import that checkout's edgecv instead of this one's
ENGINE = sys.argv[sys.argv.index("--engine") + 1] if "--engine" in sys.argv else str(ROOT)
sys.path.insert(0, ENGINE)
from edgecv.detections import Detections  # noqa: E402
from edgecv.scene.geometry import ANCHORS  # noqa: E402
from edgecv.scene.lines import LineRule, Lines  # noqa: E402
from edgecv.scene.motion import MotionDetector  # noqa: E402
from edgecv.scene.zones import ZoneRule, Zones  # noqa: E402

CLIP = ROOT / ".." / "shared" / "assets" / "mot15" / "TUD-Campus" / "TUD-Campus.mp4"
W, H = 1280, 720


def rules(rng: np.random.Generator) -> tuple[Zones, Lines]:
    zones = []
    for k in range(10):
        cx, cy = rng.uniform(100, W - 100), rng.uniform(100, H - 100)
        poly = np.array([[cx - 120, cy - 80], [cx + 130, cy - 60], [cx + 110, cy + 90], [cx - 100, cy + 70]])
        zones.append(ZoneRule(f"z{k}", poly.astype(np.float32), ANCHORS[k % 5], inertia_s=0.3, loiter_s=5))
    lines = [
        LineRule(
            f"l{k}", rng.uniform([0, 0, 0, 0], [W, H, W, H]).reshape(2, 2).astype(np.float32), ANCHORS[k % 5]
        )
        for k in range(10)
    ]
    return Zones(zones, W, H, num_classes=80), Lines(lines, num_classes=80)


def frames(rng: np.random.Generator, n: int, tracks: int = 30) -> list[Detections]:
    start = rng.uniform([0, 0], [W, H], (tracks, 2))
    velocity = rng.uniform(-6, 6, (tracks, 2))
    out = []
    for k in range(n):
        centre = (start + velocity * k) % [W, H] + rng.normal(0, 2, (tracks, 2))
        half = np.array([20, 60])
        boxes = np.concatenate([centre - half, centre + half], axis=1).astype(np.float32)
        out.append(
            Detections(
                boxes, np.full(tracks, 0.8, np.float32), np.zeros(tracks, np.int32), np.arange(1, tracks + 1)
            )
        )
    return out


def rule_times(scene: list[Detections]) -> tuple[list[float], int]:
    """Seconds per frame of zones + lines over ``scene`` (fresh rules), and the events they gave."""
    zones, lines = rules(np.random.default_rng(1))
    times, events = [], 0
    for k, d in enumerate(scene):
        t0 = time.perf_counter()
        _, ev = zones.update(d, mono=k / 30, ts=k / 30)
        ev += lines.update(d, ts=k / 30)  # the line's settle time is measured on ts here
        times.append(time.perf_counter() - t0)
        events += len(ev)
    return times, events


def compare(other: str, frames: int, rounds: int) -> None:
    """Median ms/frame of this checkout's rules and ``other``'s, alternating processes round by round."""
    results: dict[str, list[float]] = {other: [], str(ROOT): []}
    for _ in range(rounds):
        for engine in results:
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--engine",
                    engine,
                    "--rules-only",
                    "--frames",
                    str(frames),
                    "--rounds",
                    "1",
                ],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            results[engine] += json.loads(out.strip().splitlines()[-1])
    for engine, times in results.items():
        print(f"{engine}: zones + lines median {1e3 * np.median(times):.4f} ms/frame ({len(times)} frames)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--compare", help="another checkout whose rules to time against this one's")
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    parser.add_argument("--rules-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.compare:
        compare(args.compare, args.frames, args.rounds)
        return
    if args.rules_only:
        times: list[float] = []
        for _ in range(args.rounds):
            times += rule_times(frames(np.random.default_rng(0), args.frames))[0]
        print(json.dumps(times))
        return
    rng = np.random.default_rng(0)
    scene = frames(rng, args.frames)
    all_rule_times: list[float] = []
    motion_times: list[float] = []
    events = 0
    images = []
    capture = cv2.VideoCapture(str(CLIP))
    while len(images) < 71:
        ok, image = capture.read()
        if not ok:
            break
        images.append(image)
    if not images:
        images = [rng.integers(0, 255, (480, 640, 3), np.uint8) for _ in range(30)]
    for _ in range(args.rounds):
        times, n_events = rule_times(scene)
        all_rule_times += times
        events += n_events
        motion = MotionDetector(640, 480)
        for k in range(len(images) * 4):
            t0 = time.perf_counter()
            motion.measure(images[k % len(images)])
            motion_times.append(time.perf_counter() - t0)
    rule_ms, motion_ms = 1e3 * np.median(all_rule_times), 1e3 * np.median(motion_times)
    print(
        f"zones + lines, 30 tracks x 10 zones x 10 lines: median {rule_ms:.4f} ms/frame "
        f"(p95 {1e3 * np.percentile(all_rule_times, 95):.4f}; {events / args.rounds:.0f} events per round of "
        f"{args.frames} frames) -> goal 0.05 ms {'met' if rule_ms <= 0.05 else 'NOT met'}"
    )
    print(
        f"motion, 640x480 ({'TUD-Campus' if len(images) == 71 else 'noise'}): median {motion_ms:.4f} ms/frame "
        f"(p95 {1e3 * np.percentile(motion_times, 95):.4f}) -> goal 1 ms {'met' if motion_ms <= 1 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
