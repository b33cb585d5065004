"""The bundled demo model finds the shapes in the bundled clip (runtime dependencies only)."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from edgecv.detect.detector import Detector

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "demo_int8.tflite"
CLIP = ROOT / "models" / "demo_clip.mp4"
CLIP_SEED = 7  # tools/demo/make_demo.py
RECALL_FLOOR = 0.85  # measured 0.97 at IoU 0.5 when the model was built; a broken decode gets ~0
PRECISION_FLOOR = 0.85


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(2)
    area_a = (a[:, 2:] - a[:, :2]).prod(1)
    area_b = (b[:, 2:] - b[:, :2]).prod(1)
    return inter / (area_a[:, None] + area_b[None] - inter)


def test_demo_model_loads_without_flags() -> None:
    detector = Detector(MODEL, threads=1)
    assert detector.labels.names == ["circle", "square", "triangle"]
    assert detector.decoder.family == "yolov8"
    assert detector.input.dtype == np.int8
    assert MODEL.stat().st_size < 1_000_000


def test_demo_model_detects_the_clip() -> None:
    sys.path.insert(0, str(ROOT / "tools" / "demo"))
    try:
        from scenes import clip
    finally:
        sys.path.pop(0)
    detector = Detector(MODEL, threads=1)
    capture = cv2.VideoCapture(str(CLIP))
    assert capture.isOpened(), f"cannot open {CLIP}"
    matched = truths = predicted = 0
    for index, (_, boxes, classes) in enumerate(clip(CLIP_SEED, 120)):
        ok, frame = capture.read()
        assert ok, f"the clip ended at frame {index}"
        if index % 6:
            continue
        found = detector.detect(frame)
        truths += len(boxes)
        predicted += len(found)
        if len(found) and len(boxes):
            same_class = classes[:, None] == found.class_ids[None]
            overlap = np.where(same_class, iou(boxes, found.boxes), 0)
            matched += int((overlap.max(1) >= 0.5).sum())
    capture.release()
    assert truths > 0
    assert matched / truths >= RECALL_FLOOR
    assert matched / max(predicted, 1) >= PRECISION_FLOOR
