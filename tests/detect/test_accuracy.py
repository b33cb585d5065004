"""The shared real models over the 40 shared COCO photographs, scored with pycocotools.

The floors are what a careful plain decoder reaches with the documented preprocessing, run as
``edgecv detect --conf 0.001`` runs it (IoU 0.45, at most 300 detections). A drop below them means the
preprocessing, decoding or NMS changed for the worse.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from edgecv.detect.detector import Detector, DetectParams
from edgecv.evaluate.coco import coco_map

pytestmark = pytest.mark.shared

MODELS = {
    "ssd_mobilenet_v1": ("models/ssd_mobilenet_v1_coco_quant/detect.tflite", "labelmap.txt", 0.225),
    "yolov8n_int8": ("models/yolov8n_int8/yolov8n_full_integer_quant.tflite", None, 0.385),
}


def detect_all(detector: Detector, images: list[Path]) -> list[dict]:
    results = []
    for path in images:
        found = detector.detect(cv2.imread(str(path)))
        labels = detector.labels.names_for(found.class_ids)
        detections = [
            {"label": label, "class_id": int(c), "score": float(s), "box": box}
            for label, c, s, box in zip(
                labels, found.class_ids, found.scores, found.boxes.tolist(), strict=True
            )
        ]
        results.append({"image": str(path), "detections": detections})
    return results


@pytest.mark.parametrize("name", list(MODELS))
def test_coco_map_floor(shared_assets: Path, name: str) -> None:
    model, labels, floor = MODELS[name]
    model_path = shared_assets / model
    detector = Detector(
        model_path,
        labels=model_path.parent / labels if labels else None,
        params=DetectParams(conf=0.001),
    )
    images = sorted((shared_assets / "coco_val2017/images").glob("*.jpg"))
    assert len(images) == 40
    summary = coco_map(detect_all(detector, images), shared_assets / "coco_val2017/instances.json")
    print(f"{name}: mAP50-95 {summary['map50_95']:.4f}, mAP50 {summary['map50']:.4f}")
    assert summary["images"] == 40 and summary["unmatched_labels"] == []
    assert summary["map50_95"] >= floor, summary
