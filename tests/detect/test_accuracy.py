"""The shared real models over the 40 shared COCO photographs, scored with pycocotools.

The floors are what a careful plain decoder reaches with the documented preprocessing, run as
``edgecv detect --conf 0.001`` runs it (IoU 0.45, at most 300 detections). A drop below them means the
preprocessing, decoding or NMS changed for the worse.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edgecv.evaluate.coco import coco_map

pytestmark = pytest.mark.shared

MODELS = {
    "ssd_mobilenet_v1": ("models/ssd_mobilenet_v1_coco_quant/detect.tflite", "labelmap.txt", 0.225),
    "yolov8n_int8": ("models/yolov8n_int8/yolov8n_full_integer_quant.tflite", None, 0.385),
}


def detect_cli(model: Path, labels: Path | None, images: list[Path]) -> list[dict]:
    """The command line exactly as a user runs it, JSON lines parsed back."""
    command = [sys.executable, "-m", "edgecv", "detect", "--model", str(model), "--conf", "0.001"]
    if labels is not None:
        command += ["--labels", str(labels)]
    environ = {k: v for k, v in os.environ.items() if not k.upper().startswith("EDGECV_")}
    result = subprocess.run(
        [*command, *map(str, images)], capture_output=True, text=True, check=True, env=environ, timeout=300
    )
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.mark.parametrize("name", list(MODELS))
def test_coco_map_floor(shared_assets: Path, name: str) -> None:
    model, labels, floor = MODELS[name]
    model_path = shared_assets / model
    images = sorted((shared_assets / "coco_val2017/images").glob("*.jpg"))
    assert len(images) == 40
    results = detect_cli(model_path, model_path.parent / labels if labels else None, images)
    summary = coco_map(results, shared_assets / "coco_val2017/instances.json")
    print(f"{name}: mAP50-95 {summary['map50_95']:.4f}, mAP50 {summary['map50']:.4f}")
    assert summary["images"] == 40 and summary["unmatched_labels"] == []
    assert summary["map50_95"] >= floor, summary
