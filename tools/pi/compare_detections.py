"""Compare what one edgecv command printed on two machines: x86_64 (expected) against emulated arm64.

    python tools/pi/compare_detections.py [--min-score 0.25] EXPECTED.jsonl ACTUAL.jsonl

Reads ``edgecv detect`` lines (one per image) or ``edgecv run`` lines (frames and events). LiteRT's int8
kernels differ across CPUs by up to 2 quantization steps, so the comparison allows exactly that and no more:

* per image or frame, every detection scored at least ``--min-score`` (edgecv's default ``detect.conf``)
  has a partner on the other machine: same class, IoU >= ``--min-iou`` (0.9), score within
  ``--steps`` (2) steps of ``--score-step`` (1/256: the score tensors of the shared models and the demo);
* the one exception is a detection within those steps of ``--min-score``: its partner may sit just
  below the threshold on the other machine, so it is counted as "near the threshold", not as a failure;
* run output only: matched detections carry the same track id, and the events are the same (frame,
  kind, track id, class) with scores within tolerance and boxes with IoU >= ``--min-iou``.

Capture times (``ts``, ``first_seen``, ``last_seen``) are wall-clock and are not compared. Exits 1 and lists
the differences when the runs disagree. Shares no code with edgecv: a bug there cannot hide here.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

JSON_ROUNDING = 1e-4  # edgecv prints scores with 4 decimals (output.decimals)
SHOWN_PROBLEMS = 20


@dataclass(frozen=True)
class Tolerance:
    min_score: float
    score: float  # largest score difference between partners
    min_iou: float


@dataclass
class Tally:
    matched: int = 0
    near_threshold: int = 0
    problems: list[str] = field(default_factory=list)


Line = dict[str, Any]


def read_lines(path: Path) -> list[Line]:
    return [json.loads(text) for text in path.read_text().splitlines() if text.strip()]


def pairwise_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every (x1, y1, x2, y2) box in ``a[N, 4]`` with every one in ``b[M, 4]``."""
    iw = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    ih = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    iou: np.ndarray = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    return iou


def boxes_of(detections: list[Line]) -> np.ndarray:
    return np.array([d["box"] for d in detections], np.float64).reshape(-1, 4)


def greedy_pairs(expected: list[Line], actual: list[Line], min_iou: float) -> list[tuple[int, int]]:
    """Same-class pairs, best IoU first, each detection in at most one pair."""
    if not expected or not actual:
        return []
    iou = pairwise_iou(boxes_of(expected), boxes_of(actual))
    same_class = np.array([[e["label"] == a["label"] for a in actual] for e in expected])
    iou[~same_class] = -1.0
    pairs: list[tuple[int, int]] = []
    used_e: set[int] = set()
    used_a: set[int] = set()
    for flat in np.argsort(-iou, axis=None, kind="stable"):
        i, j = divmod(int(flat), len(actual))
        if iou[i, j] < min_iou:
            break
        if i not in used_e and j not in used_a:
            pairs.append((i, j))
            used_e.add(i)
            used_a.add(j)
    return pairs


def compare_detections(
    where: str, expected: list[Line], actual: list[Line], tolerance: Tolerance, tally: Tally
) -> None:
    # Partners may sit up to the tolerance below the threshold (detect lines at --conf 0.001 hold them).
    floor = tolerance.min_score - tolerance.score
    expected = [d for d in expected if d["score"] >= floor]
    actual = [d for d in actual if d["score"] >= floor]
    pairs = greedy_pairs(expected, actual, tolerance.min_iou)
    for i, j in pairs:
        e, a = expected[i], actual[j]
        if max(e["score"], a["score"]) < tolerance.min_score:
            continue
        tally.matched += 1
        if abs(e["score"] - a["score"]) > tolerance.score:
            tally.problems.append(f"{where}: {e['label']} scored {e['score']} on x86_64, {a['score']} here")
        if e.get("track_id") != a.get("track_id"):
            tally.problems.append(
                f"{where}: {e['label']} {e['box']} is track {e.get('track_id')} on x86_64, {a.get('track_id')} here"
            )
    paired_e = {i for i, _ in pairs}
    paired_a = {j for _, j in pairs}
    for side, detections, paired in (("x86_64", expected, paired_e), ("arm64", actual, paired_a)):
        for index, d in enumerate(detections):
            if index in paired or d["score"] < tolerance.min_score:
                continue
            if d["score"] < tolerance.min_score + tolerance.score:
                tally.near_threshold += 1
            else:
                tally.problems.append(f"{where}: only {side} has {d['label']} {d['score']} at {d['box']}")


def compare_detect(expected: list[Line], actual: list[Line], tolerance: Tolerance, tally: Tally) -> str:
    by_image = {Path(line["image"]).name: line for line in actual}
    for line in expected:
        name = Path(line["image"]).name
        other = by_image.pop(name, None)
        if other is None:
            tally.problems.append(f"{name}: missing here")
            continue
        if (line["width"], line["height"]) != (other["width"], other["height"]):
            tally.problems.append(f"{name}: decoded at a different size")
        compare_detections(name, line["detections"], other["detections"], tolerance, tally)
    tally.problems.extend(f"{name}: only here" for name in by_image)
    return f"{len(expected)} images"


def frame_key(line: Line) -> tuple[str, int]:
    # "camera" names the source; older lines said "source", and only when several ran.
    return (str(line.get("camera") or line.get("source") or ""), int(line["seq"]))


def compare_events(expected: list[Line], actual: list[Line], tolerance: Tolerance, tally: Tally) -> None:
    if len(expected) != len(actual):
        tally.problems.append(f"{len(expected)} events on x86_64, {len(actual)} here")
    for e, a in zip(expected, actual, strict=False):  # a length difference is reported above
        where = f"event at frame {e['seq']}"
        identity = ("camera", "source", "seq", "event", "track_id", "label", "class_id")
        if any(e.get(key) != a.get(key) for key in identity):
            tally.problems.append(
                f"{where}: {[e.get(k) for k in identity]} on x86_64, {[a.get(k) for k in identity]} here"
            )
            continue
        if max(abs(e[k] - a[k]) for k in ("score", "top_score")) > tolerance.score:
            tally.problems.append(f"{where}: track {e['track_id']} scores differ beyond tolerance")
        iou = pairwise_iou(boxes_of([e]), boxes_of([a]))[0, 0]
        if iou < tolerance.min_iou:
            tally.problems.append(f"{where}: track {e['track_id']} box IoU {iou:.3f} across machines")


def compare_run(expected: list[Line], actual: list[Line], tolerance: Tolerance, tally: Tally) -> str:
    def frames(lines: Iterable[Line]) -> dict[tuple[str, int], Line]:
        return {frame_key(line): line for line in lines if line.get("type") == "frame"}

    def events(lines: Iterable[Line]) -> list[Line]:
        return [line for line in lines if line.get("type") == "event"]

    expected_frames, actual_frames = frames(expected), frames(actual)
    if list(expected_frames) != list(actual_frames):
        tally.problems.append(
            f"frames differ: {len(expected_frames)} on x86_64, {len(actual_frames)} here"
            " (a file source must not drop frames, however slow the machine)"
        )
    for key, line in expected_frames.items():
        if key in actual_frames:
            where = f"frame {key[1]}" + (f" of {key[0]}" if key[0] else "")
            compare_detections(where, line["detections"], actual_frames[key]["detections"], tolerance, tally)
    expected_events, actual_events = events(expected), events(actual)
    compare_events(expected_events, actual_events, tolerance, tally)
    return f"{len(expected_frames)} frames, {len(expected_events)} events"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("expected", type=Path, help="x86_64 output (JSON lines)")
    parser.add_argument("actual", type=Path, help="the other machine's output of the same command")
    parser.add_argument(
        "--min-score", type=float, default=0.25, help="compare detections scored at least this"
    )
    parser.add_argument("--score-step", type=float, default=1 / 256, help="quantization step of the scores")
    parser.add_argument("--steps", type=float, default=2, help="score difference allowed, in steps")
    parser.add_argument("--min-iou", type=float, default=0.9, help="IoU partners must reach")
    args = parser.parse_args(argv)
    tolerance = Tolerance(args.min_score, args.steps * args.score_step + JSON_ROUNDING, args.min_iou)
    if not args.actual.exists():
        print(f"{args.actual}: missing (the command there failed; its output is above)")
        return 1
    expected, actual = read_lines(args.expected), read_lines(args.actual)
    tally = Tally()
    if not expected:
        tally.problems.append(f"{args.expected} is empty")
        counted = "nothing"
    elif "image" in expected[0]:
        counted = compare_detect(expected, actual, tolerance, tally)
    else:
        counted = compare_run(expected, actual, tolerance, tally)
    verdict = "ok" if not tally.problems else f"{len(tally.problems)} differences"
    print(
        f"{args.actual.name}: {counted}, {tally.matched} detections matched"
        f" ({tally.near_threshold} unpaired within tolerance of the threshold): {verdict}"
    )
    for problem in tally.problems[:SHOWN_PROBLEMS]:
        print(f"  {problem}")
    if len(tally.problems) > SHOWN_PROBLEMS:
        print(f"  ... and {len(tally.problems) - SHOWN_PROBLEMS} more")
    return 1 if tally.problems else 0


if __name__ == "__main__":
    sys.exit(main())
