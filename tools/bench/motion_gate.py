"""Motion-gated detection: what it costs, what it saves, what it misses.

    PYTHONPATH=. .venv/bin/python tools/bench/motion_gate.py [--repeat 3] [--skip-busy]

(a) ``MotionDetector.measure`` ms per 640x480 frame (TUD-Campus, looped); goal <= 1 ms.
(b) A static scene made from real footage, written to a temporary folder: the median background of
    ``video/vtest.mp4`` (its walkers averaged away) for 60 s at its 10 fps, into which ONE walker of
    ``mot15/TUD-Campus`` is pasted after 30 s: cut from its frames by its ground-truth boxes (the id seen
    longest), blended in with a soft elliptical matte, scaled to the height of vtest's nearest people, at
    its own speed (25 fps resampled to 10: in view for 2.8 s). ``edgecv run`` with SSD MobileNet v1 at ``model.threads 1``, gated and
    ungated, alternately ``--repeat`` times: ``user+sys`` CPU of the child process (``os.wait4``), goal
    gated <= 20% of ungated; the walker's ``new`` event time gated vs ungated, goal within 0.5 s.
(c) Busy footage (``video/vtest.mp4`` and ``mot15/TUD-Campus/TUD-Campus.mp4``): the share of the ungated run's
    ``new`` events that have a gated counterpart (same label, within 0.5 s, first boxes at IoU >= 0.5),
    goal >= 98%, and the frames gating skipped.

Event times are media times (``seq`` over the clip's rate): a file source's wall stamps start at its open.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from edgecv.boxes import pairwise_iou  # noqa: E402
from edgecv.scene.motion import MotionDetector  # noqa: E402

ASSETS = ROOT / ".." / "shared" / "assets"
SSD = ASSETS / "models" / "ssd_mobilenet_v1_coco_quant"
VTEST = ASSETS / "video" / "vtest.mp4"
TUD = ASSETS / "mot15" / "TUD-Campus"
STATIC_S, WALKER_AT_S = 60.0, 30.0
PERSON_HEIGHT = 110  # pixels: vtest's people near the camera are 70-110 px tall in its 480x360 frames


def read_frames(path: Path) -> tuple[list[np.ndarray], float]:
    capture = cv2.VideoCapture(str(path))
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames, fps


# -- (a) ---------------------------------------------------------------------------------------------------


def measure_speed(rounds: int = 3) -> float:
    frames, _ = read_frames(TUD / "TUD-Campus.mp4")
    frames = [cv2.resize(f, (640, 480)) for f in frames]
    times = []
    for _ in range(rounds):
        detector = MotionDetector(640, 480)
        for frame in frames * 4:
            start = time.perf_counter()
            detector.measure(frame)
            times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


# -- (b) the static scene ----------------------------------------------------------------------------------


def walker_cutouts() -> list[tuple[np.ndarray, np.ndarray, float]]:
    """TUD-Campus's longest-seen person per frame: (patch, matte, box centre x in its frame), 25 fps."""
    gt = np.loadtxt(TUD / "gt" / "gt.txt", delimiter=",")
    ids, counts = np.unique(gt[:, 1], return_counts=True)
    rows = gt[gt[:, 1] == ids[counts.argmax()]]
    rows = rows[rows[:, 0].argsort()]
    frames, _ = read_frames(TUD / "TUD-Campus.mp4")
    out = []
    for frame_no, _, x, y, w, h, *_ in rows:
        image = frames[int(frame_no) - 1]
        x0, y0 = max(int(x), 0), max(int(y), 0)
        x1, y1 = min(int(x + w), image.shape[1]), min(int(y + h), image.shape[0])
        scale = PERSON_HEIGHT / h
        patch = cv2.resize(image[y0:y1, x0:x1], None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        matte = np.zeros(patch.shape[:2], np.float32)
        ph, pw = matte.shape
        cv2.ellipse(matte, (pw // 2, ph // 2), (int(pw * 0.45), int(ph * 0.5)), 0, 0, 360, 1.0, -1)
        matte = cv2.GaussianBlur(matte, (0, 0), max(pw, ph) / 40)
        out.append((patch, matte[..., None], (x + w / 2) * scale))
    return out


def make_static_scene(folder: Path) -> tuple[Path, float, int]:
    """The 60 s clip; returns its path, rate and the first frame with the walker."""
    frames, fps = read_frames(VTEST)
    background = np.median(np.stack(frames[::8]), axis=0).astype(np.uint8)
    height, width = background.shape[:2]
    cutouts = walker_cutouts()
    first = round(WALKER_AT_S * fps)
    step = 25.0 / fps  # TUD-Campus runs at 25 fps: the walker at its own speed
    path = folder / "static_walker.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    base_x = cutouts[0][2]
    for k in range(round(STATIC_S * fps)):
        frame = background.copy()
        index = int((k - first) * step)
        if 0 <= index < len(cutouts):
            patch, matte, cx = cutouts[index]
            ph, pw = patch.shape[:2]
            # Walks in the open part of the square, as far as it walked in its own clip.
            left = int(120 + (cx - base_x) - pw / 2)
            top = 230 - ph
            region = frame[top : top + ph, left : left + pw].astype(np.float32)
            blended = patch.astype(np.float32) * matte + region * (1 - matte)
            frame[top : top + ph, left : left + pw] = blended.astype(np.uint8)
        writer.write(frame)
    writer.release()
    return path, fps, first


# -- runs --------------------------------------------------------------------------------------------------


def run(clip: Path, gated: bool, folder: Path) -> tuple[float, list[dict], dict]:
    """One ``edgecv run``: (user+sys CPU seconds of the process, its new events, its summary)."""
    summary = folder / "summary.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "EDGECV_MOTION__ENABLED": "true" if gated else "false"}
    command = [
        sys.executable, "-m", "edgecv", "run", "--model", str(SSD / "detect.tflite"),
        "--labels", str(SSD / "labelmap.txt"), "--threads", "1", "--source", str(clip),
        "--summary-json", str(summary),
    ]  # fmt: skip
    out = folder / "out.jsonl"
    with out.open("w") as stdout:
        child = subprocess.Popen(command, stdout=stdout, stderr=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(child.pid, 0)
    if status != 0:
        raise SystemExit(f"edgecv run failed ({status}) on {clip}")
    events = [json.loads(line) for line in out.open()]
    new = [e for e in events if e.get("type") == "event" and e["event"] == "new"]
    return usage.ru_utime + usage.ru_stime, new, json.loads(summary.read_text())


def matched(reference: list[dict], other: list[dict], fps: float) -> int:
    """How many of ``reference``'s new events have a counterpart in ``other``: same label, within 0.5 s,
    first boxes at IoU >= 0.5 (each counterpart used once)."""
    used: set[int] = set()
    found = 0
    for event in reference:
        for k, candidate in enumerate(other):
            if k in used or candidate["label"] != event["label"]:
                continue
            if abs(candidate["seq"] - event["seq"]) / fps > 0.5:
                continue
            iou = pairwise_iou(np.array([event["box"]], np.float32), np.array([candidate["box"]], np.float32))
            if iou[0, 0] >= 0.5:
                used.add(k)
                found += 1
                break
    return found


def static_scene(folder: Path, repeat: int) -> None:
    clip, fps, first = make_static_scene(folder)
    cpu: dict[bool, list[float]] = {False: [], True: []}
    walker: dict[bool, float | None] = {}
    skipped = 0
    for _ in range(repeat):
        for gated in (False, True):
            seconds, new, summary = run(clip, gated, folder)
            cpu[gated].append(seconds)
            people = [e for e in new if e["label"] == "person" and e["seq"] >= first]
            walker[gated] = people[0]["seq"] / fps if people else None
            if gated:
                skipped = summary["skipped_frames"]
            frames = summary["frames"]
    ungated, gated_cpu = float(np.median(cpu[False])), float(np.median(cpu[True]))
    print(f"(b) static scene {frames} frames at {fps:g} fps, walker pasted at {first / fps:.1f} s")
    print(f"    CPU user+sys: ungated {ungated:.2f} s, gated {gated_cpu:.2f} s (median of {repeat})")
    print(f"    gated / ungated: {gated_cpu / ungated:.1%} (goal <= 20%); skipped {skipped}/{frames} frames")
    w0, w1 = walker[False], walker[True]
    if w0 is None or w1 is None:
        print(f"    walker's new event: ungated {w0}, gated {w1} (not found in both)")
    else:
        print(
            f"    walker's new event: ungated {w0:.2f} s, gated {w1:.2f} s, gap {abs(w1 - w0):.2f} s (goal <= 0.5)"
        )


def busy(folder: Path, clip: Path) -> None:
    _, fps = read_frames(clip)
    _, reference, _ = run(clip, False, folder)
    _, gated, summary = run(clip, True, folder)
    found = matched(reference, gated, fps)
    share = found / len(reference) if reference else 1.0
    print(
        f"(c) {clip.name}: {found}/{len(reference)} ungated new events matched gated ({share:.1%}, goal >= 98%); "
        f"gated {len(gated)} new events, skipped {summary['skipped_frames']}/{summary['frames']} frames"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-busy", action="store_true")
    args = parser.parse_args()
    if not (VTEST.exists() and SSD.exists() and TUD.exists()):
        raise SystemExit(
            f"needs ../shared/assets (vtest, TUD-Campus, SSD MobileNet v1): not found at {ASSETS}"
        )
    print(f"(a) MotionDetector.measure: {measure_speed():.3f} ms per 640x480 frame (goal <= 1 ms)")
    with tempfile.TemporaryDirectory(prefix="edgecv-motion-") as tmp:
        folder = Path(tmp)
        static_scene(folder, args.repeat)
        if not args.skip_busy:
            for clip in (VTEST, TUD / "TUD-Campus.mp4"):
                busy(folder, clip)


if __name__ == "__main__":
    main()
