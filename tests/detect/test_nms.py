"""NMS against a brute-force greedy reference: the same boxes, in the same order, on randomized inputs."""

from __future__ import annotations

import numpy as np
import pytest

from edgecv.boxes import iou_one_to_many
from edgecv.detect.nms import nms
from edgecv.detections import Detections


def reference_iou(a: list[float], b: list[float]) -> float:
    iw = max(min(a[2], b[2]) - max(a[0], b[0]), 0.0)
    ih = max(min(a[3], b[3]) - max(a[1], b[1]), 0.0)
    inter = iw * ih
    union = (
        max(a[2] - a[0], 0.0) * max(a[3] - a[1], 0.0) + max(b[2] - b[0], 0.0) * max(b[3] - b[1], 0.0) - inter
    )
    return inter / union if union > 0 else 0.0


def reference_nms(
    det: Detections,
    iou: float,
    agnostic: bool = False,
    class_iou: dict[int, float] | None = None,
    max_detections: int = 300,
) -> list[int]:
    """Greedy, one box at a time, in plain Python floats."""
    scores = det.scores.tolist()
    boxes = det.boxes.astype(np.float64).tolist()
    classes = det.class_ids.tolist()
    order = sorted(range(len(scores)), key=lambda i: -scores[i])  # sorted() is stable: ties keep order
    suppressed = [False] * len(scores)
    keep: list[int] = []
    for pos, i in enumerate(order):
        if suppressed[i]:
            continue
        if len(keep) == max_detections:
            break
        keep.append(i)
        threshold = (class_iou or {}).get(classes[i], iou)
        for j in order[pos + 1 :]:
            if suppressed[j] or (not agnostic and classes[j] != classes[i]):
                continue
            if reference_iou(boxes[i], boxes[j]) > threshold:
                suppressed[j] = True
    return keep


def random_detections(
    rng: np.random.Generator, n: int, num_classes: int, *, coarse: bool = False
) -> Detections:
    """Clustered boxes so suppression actually happens; ``coarse`` makes ties in scores and coordinates."""
    centres = rng.uniform(0, 200, (max(1, n // 6), 2))
    picked = centres[rng.integers(0, len(centres), n)] + rng.normal(0, 6, (n, 2))
    size = rng.uniform(2, 60, (n, 2))
    boxes = np.concatenate([picked - size / 2, picked + size / 2], axis=1)
    scores = rng.uniform(0.01, 1.0, n)
    if coarse:
        boxes = np.round(boxes / 8) * 8  # many identical boxes and zero-area ones
        scores = np.round(scores * 10) / 10  # many tied scores
    degenerate = rng.random(n) < 0.05
    boxes[degenerate, 2] = boxes[degenerate, 0]  # zero width
    return Detections(
        boxes.astype(np.float32), scores.astype(np.float32), rng.integers(0, num_classes, n).astype(np.int32)
    )


CASES = [
    pytest.param({"iou": 0.45}, id="class-aware"),
    pytest.param({"iou": 0.45, "agnostic": True}, id="agnostic"),
    pytest.param({"iou": 0.5, "class_iou": {0: 0.8, 2: 0.2}}, id="per-class-iou"),
    pytest.param({"iou": 0.5, "class_iou": {1: 0.0}, "agnostic": True}, id="per-class-iou-agnostic"),
    pytest.param({"iou": 0.3, "max_detections": 5}, id="max-detections"),
    pytest.param({"iou": 0.0}, id="iou-zero"),
    pytest.param({"iou": 1.0}, id="iou-one"),
]


@pytest.mark.parametrize("matrix_limit", [1024, 0], ids=["matrix", "rows"])
@pytest.mark.parametrize("coarse", [False, True], ids=["continuous", "ties"])
@pytest.mark.parametrize("options", CASES)
def test_agrees_exactly_with_brute_force(
    options: dict, coarse: bool, matrix_limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both strategies (whole IoU matrix for few candidates, row by row for many) must give the same answer.
    monkeypatch.setattr("edgecv.detect.nms.MATRIX_LIMIT", matrix_limit)
    rng = np.random.default_rng(2024)
    for trial in range(60):
        n = int(rng.integers(1, 120))
        det = random_detections(rng, n, num_classes=int(rng.integers(1, 5)), coarse=coarse)
        iou = options["iou"]
        rest = {k: v for k, v in options.items() if k != "iou"}
        expected = reference_nms(det, iou, **rest)
        kept = nms(det.with_track_ids(np.arange(n, dtype=np.int64)), iou, **rest)
        assert kept.track_ids is not None
        assert kept.track_ids.tolist() == expected, f"trial {trial}, n={n}"


def test_empty_input_and_zero_budget() -> None:
    assert len(nms(Detections.empty(), 0.45)) == 0
    det = random_detections(np.random.default_rng(1), 10, 2)
    assert len(nms(det, 0.45, max_detections=0)) == 0


def test_identical_boxes_keep_the_first_of_tied_scores() -> None:
    boxes = np.tile(np.array([[10, 10, 50, 50]], np.float32), (4, 1))
    det = Detections(boxes, np.array([0.5, 0.9, 0.9, 0.1], np.float32), np.zeros(4, np.int32))
    kept = nms(det.with_track_ids(np.arange(4, dtype=np.int64)), 0.45)
    assert kept.track_ids.tolist() == [1]  # type: ignore[union-attr]


def test_class_aware_keeps_overlapping_boxes_of_other_classes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [0, 0, 10, 10]], np.float32)
    det = Detections(boxes, np.array([0.9, 0.8, 0.7], np.float32), np.array([0, 1, 0], np.int32))
    assert nms(det, 0.45).scores.tolist() == pytest.approx([0.9, 0.8])
    assert nms(det, 0.45, agnostic=True).scores.tolist() == pytest.approx([0.9])


def test_threshold_is_strict_and_uses_the_kept_box_class() -> None:
    # IoU of these two is exactly 0.5.
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 5]], np.float32)
    assert iou_one_to_many(boxes[0].astype(np.float64), boxes[1:].astype(np.float64))[0] == 0.5
    det = Detections(boxes, np.array([0.9, 0.8], np.float32), np.array([3, 4], np.int32))
    assert len(nms(det, 0.5, agnostic=True)) == 2  # not > 0.5
    assert len(nms(det, 0.49, agnostic=True)) == 1
    # The kept box is class 3: its threshold applies, not the suppressed box's.
    assert len(nms(det, 0.5, agnostic=True, class_iou={3: 0.4})) == 1
    assert len(nms(det, 0.4, agnostic=True, class_iou={4: 0.9, 3: 0.6})) == 2


def test_zero_area_boxes_never_suppress() -> None:
    boxes = np.array([[5, 5, 5, 20], [0, 0, 10, 30], [5, 5, 5, 20]], np.float32)
    det = Detections(boxes, np.array([0.9, 0.8, 0.7], np.float32), np.zeros(3, np.int32))
    assert len(nms(det, 0.0)) == 3
