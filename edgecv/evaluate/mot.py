"""MOTChallenge sequences: read ``seqinfo.ini``, ``gt/gt.txt`` and ``det/det.txt``; run a tracker over them.

MOT text rows are ``frame, id, x, y, w, h, conf, ...`` with 1-based frames and top-left/size pixel boxes.
In ground truth the 7th column is the *consider* flag (0: ignore the row) and, from MOT16 on, the 8th the
class: only pedestrians (1) are scored, and tracker boxes that cover a distractor (person on vehicle, static
person, distractor, reflection) are removed before scoring rather than counted as false positives, as the
MOTChallenge devkit and TrackEval do. MOT15's gt has ten columns (the last three are world coordinates, not classes): every considered row is a
pedestrian. MOT16/17's has nine.
"""

from __future__ import annotations

import configparser
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..boxes import pairwise_iou, xywh_to_xyxy, xyxy_to_xywh
from ..detections import Detections
from ..errors import InputError
from ..track.matching import assign

PEDESTRIAN = 1
DISTRACTOR_CLASSES = (2, 7, 8, 12)  # person on vehicle, static person, distractor, reflection
MATCH_IOU = 0.5


@dataclass
class MotSequence:
    name: str
    path: Path
    fps: float
    length: int
    gt: np.ndarray  # float64[K, 9]: frame, id, x, y, w, h, consider, class, visibility (-1 when absent)
    det: np.ndarray  # float64[K, 6]: frame, x, y, w, h, score
    has_classes: bool = False  # MOT16/17 layout: gt column 8 is the class
    step: int = 1  # every step-th frame of the recorded sequence (see subsample)


@dataclass
class TrackerRun:
    results: np.ndarray  # float64[K, 6]: frame, id, x, y, w, h (confirmed tracks only)
    update_ms: list[float] = field(default_factory=list)

    @property
    def ms_per_frame(self) -> float:
        return float(np.mean(self.update_ms)) if self.update_ms else 0.0


def _read_rows(path: Path, columns: int) -> tuple[np.ndarray, int]:
    """A MOT text file as float rows padded with -1 to ``columns``, and its own column count."""
    if not path.is_file():
        raise InputError(f"missing {path}", "a MOTChallenge sequence has gt/gt.txt and det/det.txt")
    text = path.read_text()
    if not text.strip():  # a sequence in which the detector found nothing
        return np.full((0, columns), -1.0), 0
    rows = np.loadtxt(text.splitlines(), delimiter=",", ndmin=2, dtype=np.float64)
    if rows.size == 0:
        return np.full((0, columns), -1.0), 0
    if rows.shape[1] < 6:
        raise InputError(f"{path}: expected at least 6 comma-separated columns, got {rows.shape[1]}")
    padded = np.full((rows.shape[0], max(columns, rows.shape[1])), -1.0)
    padded[:, : rows.shape[1]] = rows
    return padded[:, :columns], rows.shape[1]


def read_sequence(path: str | Path) -> MotSequence:
    path = Path(path)
    info = configparser.ConfigParser()
    if not info.read(path / "seqinfo.ini"):
        raise InputError(
            f"{path} is not a MOTChallenge sequence (no seqinfo.ini)",
            "pass sequence folders holding seqinfo.ini, gt/gt.txt and det/det.txt",
        )
    seq = info["Sequence"]
    gt, has_classes = read_ground_truth(path / "gt" / "gt.txt")
    det, _ = _read_rows(path / "det" / "det.txt", 7)
    return MotSequence(
        name=seq.get("name", path.name),
        path=path,
        fps=seq.getfloat("frameRate", 30.0),
        length=seq.getint("seqLength", int(max(gt[:, 0].max(initial=0), det[:, 0].max(initial=0)))),
        gt=gt,
        det=det[:, [0, 2, 3, 4, 5, 6]],
        has_classes=has_classes,
    )


def read_ground_truth(path: Path) -> tuple[np.ndarray, bool]:
    """``gt.txt`` as ``float64[K, 9]`` rows, and whether its 8th column is a class (MOT16/17's 9 columns)."""
    gt, columns = _read_rows(path, 9)
    return gt, columns == 9


def subsample(seq: MotSequence, fps: float) -> MotSequence:
    """``seq`` as a device running at about ``fps`` sees it: every k-th frame, ``k = round(native / fps)``.

    Frames 1, 1 + k, 1 + 2k, ... are kept (ground truth and detections alike) and renumbered 1, 2, 3, ...;
    the frame rate becomes ``native / k``, so timestamps keep their real spacing. A rate at or above the
    native one keeps every frame.
    """
    if not fps > 0:  # also rejects NaN
        raise InputError(
            f"--fps must be a positive frame rate, got {fps}",
            "pass e.g. --fps 5, the rate of a Pi 4 running YOLOv8n",
        )
    step = max(1, round(seq.fps / fps))
    if step == 1:
        return seq

    def keep(rows: np.ndarray) -> np.ndarray:
        index = rows[:, 0].astype(np.int64) - 1
        kept = rows[index % step == 0].copy()
        kept[:, 0] = (kept[:, 0].astype(np.int64) - 1) // step + 1
        return kept

    return replace(
        seq,
        fps=seq.fps / step,
        length=(seq.length - 1) // step + 1,
        gt=keep(seq.gt),
        det=keep(seq.det),
        step=seq.step * step,
    )


def run_tracker(
    seq: MotSequence, update: Callable[[Detections, float], tuple[Detections, list]]
) -> TrackerRun:
    """Feed the sequence's detections frame by frame at its frame rate (``ts = frame / fps``)."""
    order = np.argsort(seq.det[:, 0], kind="stable")
    det = seq.det[order]
    starts = np.searchsorted(det[:, 0], np.arange(1, seq.length + 2))
    rows: list[np.ndarray] = []
    times: list[float] = []
    for frame in range(1, seq.length + 1):
        chunk = det[starts[frame - 1] : starts[frame]]
        detections = Detections(
            boxes=xywh_to_xyxy(chunk[:, 1:5]).astype(np.float32),
            scores=chunk[:, 5].astype(np.float32),
            class_ids=np.zeros(chunk.shape[0], np.int32),  # MOT detections are all pedestrians
        )
        start = time.perf_counter()
        tracked, _ = update(detections, frame / seq.fps)
        times.append((time.perf_counter() - start) * 1000)
        track_ids = tracked.track_ids
        if track_ids is None:
            raise TypeError("the tracker's update returned detections without track ids")
        keep = track_ids >= 0
        boxes = tracked.boxes[keep].astype(np.float64)
        out = np.empty((boxes.shape[0], 6))
        out[:, 0] = frame
        out[:, 1] = track_ids[keep]
        out[:, 2:6] = xyxy_to_xywh(boxes)
        rows.append(out)
    return TrackerRun(np.concatenate(rows) if rows else np.zeros((0, 6)), times)


def frame_pairs(seq: MotSequence, results: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per frame: (gt ids, tracker ids, IoU matrix), after the devkit's preprocessing (module docstring)."""
    gt, res = seq.gt, results
    frames = np.union1d(gt[:, 0], res[:, 0]).astype(int)
    has_classes = seq.has_classes
    out = []
    for frame in frames.tolist():
        g = gt[gt[:, 0] == frame]
        r = res[res[:, 0] == frame]
        iou = pairwise_iou(xywh_to_xyxy(g[:, 2:6]), xywh_to_xyxy(r[:, 2:6]))
        if has_classes and g.shape[0] and r.shape[0]:
            gi, ri = assign(1.0 - iou, 1.0 - MATCH_IOU)
            drop = ri[np.isin(g[gi, 7], DISTRACTOR_CLASSES)]
            keep_r = np.ones(r.shape[0], np.bool_)
            keep_r[drop] = False
            r, iou = r[keep_r], iou[:, keep_r]
        keep_g = g[:, 6] != 0
        if has_classes:
            keep_g &= g[:, 7] == PEDESTRIAN
        out.append((g[keep_g, 1].astype(np.int64), r[:, 1].astype(np.int64), iou[keep_g]))
    return out
