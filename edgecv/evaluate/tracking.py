"""``edgecv eval track``: run the tracker over MOTChallenge sequences and score it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..boxes import xyxy_to_xywh
from ..config.tracker import TrackerConfig
from ..errors import InputError
from ..track.tracker import ByteTracker
from .mot import (
    MotSequence,
    TrackerRun,
    frame_pairs,
    read_ground_truth,
    read_sequence,
    run_tracker,
    subsample,
)
from .mot_scores import OVERALL, Frames, score


def evaluate_tracking(
    paths: Sequence[str | Path], config: TrackerConfig | None = None, fps: float | None = None
) -> dict[str, Any]:
    """MOTA, IDF1, HOTA and id switches over ``paths`` (``OVERALL``), each sequence's too, and update time.

    Each sequence gets a fresh tracker fed at its own frame rate, or at about ``fps`` (see
    :func:`~edgecv.evaluate.mot.subsample`): each sequence's ``fps`` is the rate it was fed at.
    ``ms_per_frame`` is the mean wall time of one ``update`` over every frame of every sequence.
    """
    frames: dict[str, Frames] = {}
    runs: dict[str, tuple[MotSequence, TrackerRun]] = {}
    for path in paths:
        seq = read_sequence(path)
        if fps is not None:
            seq = subsample(seq, fps)
        if seq.name in runs:
            raise InputError(
                f"two sequences are named {seq.name} ({runs[seq.name][0].path} and {seq.path})",
                "pass each sequence once; names come from seqinfo.ini",
            )
        run = run_tracker(seq, ByteTracker(config).update)
        runs[seq.name] = (seq, run)
        frames[seq.name] = frame_pairs(seq, run.results)
    if not runs:
        raise InputError("no sequences to evaluate", "pass MOTChallenge sequence folders")
    scores = score(frames)
    sequences = {
        name: {**scores[name], "fps": seq.fps, "ms_per_frame": run.ms_per_frame}
        for name, (seq, run) in runs.items()
    }
    times = [ms for _, run in runs.values() for ms in run.update_ms]
    return {**scores[OVERALL], "ms_per_frame": sum(times) / max(1, len(times)), "sequences": sequences}


def read_recording(path: str | Path, camera: str | None = None) -> np.ndarray:
    """Frame lines of ``edgecv run --record`` → MOT result rows ``frame, id, x, y, w, h`` (1-based frames).

    Only boxes of confirmed tracks (with a ``track_id``) are results; event lines are skipped. A recording
    of several cameras is scored one camera at a time: ``camera`` names it (needed only when there are
    several; recordings older than the ``camera`` key hold one).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"recording not found: {path}", "make one with 'edgecv run --record FILE'")
    rows: list[list[float]] = []
    frames = 0
    seen: dict[str, int] = {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                raise InputError(
                    f"{path}:{number}: not a JSON line", "pass a file written by --record"
                ) from None
            if record.get("type") != "frame":
                continue
            name = str(record.get("camera", ""))
            seen[name] = seen.get(name, 0) + 1
            if camera is not None and name != camera:
                continue
            frames += 1
            frame = int(record["seq"]) + 1
            for det in record["detections"]:
                if "track_id" in det:
                    rows.append([frame, det["track_id"], *det["box"]])
    if camera is None and len(seen) > 1:
        raise InputError(
            f"{path} records {len(seen)} cameras ({', '.join(sorted(seen))})",
            "score one at a time with --camera NAME",
        )
    if not frames:
        if camera is not None and seen:
            raise InputError(
                f"{path} holds no frames of camera {camera!r}", f"it records {', '.join(sorted(seen))}"
            )
        raise InputError(f"{path} holds no frame lines", "pass a file written by 'edgecv run --record'")
    results = np.array(rows, np.float64).reshape(-1, 6)
    results[:, 2:6] = xyxy_to_xywh(results[:, 2:6])
    return results


def evaluate_recording(
    recording: str | Path, gt_path: str | Path, camera: str | None = None
) -> dict[str, Any]:
    """Score a recorded run (its ``camera``, when it recorded several) against MOT ground truth: the whole
    pipeline, detector included."""
    results = read_recording(recording, camera)
    gt, has_classes = read_ground_truth(Path(gt_path))
    seq = MotSequence(
        name=Path(recording).stem,
        path=Path(gt_path).parent,
        fps=0.0,
        length=int(max(gt[:, 0].max(initial=0), results[:, 0].max(initial=0))),
        gt=gt,
        det=np.zeros((0, 6)),
        has_classes=has_classes,
    )
    summary = score({seq.name: frame_pairs(seq, results)})[seq.name]
    return {**summary, "sequences": {seq.name: dict(summary)}}
