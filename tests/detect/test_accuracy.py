"""The shared real models over the 40 shared COCO photographs, scored with pycocotools.

Two checks per model, both meant to hold on any CPU:

* ``edgecv detect --conf 0.001`` (IoU 0.45, at most 300 detections, as a user runs it) against a plain
  reference written in this file, on the same machine and the same runtime: the reference preprocesses,
  decodes and suppresses by the models' documentation (``../shared/assets/README.md``) and shares no code
  with ``edgecv/detect``. Their mAP50-95 must agree within ``REFERENCE_TOLERANCE``. A gap means edgecv's
  preprocessing, decoding or NMS drifted from what the model expects, whatever the CPU.
* an absolute floor per model, the x86_64 figure minus 0.01. LiteRT's int8 kernels are not bit-identical
  across architectures: on aarch64 (``make test-arm64``) the photos decode to the same bytes and the model
  inputs are identical to x86_64, yet SSD MobileNet v1's raw scores differ by up to 5 quantization steps,
  which moves scores near the threshold and boxes through its post-process NMS (SSD: 0.2208 there against
  0.2281 here; YOLOv8n's outputs agree). A floor fixed to one architecture's figure is the wrong test; the
  reference comparison is the exact one, the floor catches a runtime that is off by more than that.

x86_64 figures (ai-edge-litert 2.3.0), kept as documentation: SSD MobileNet v1 0.2281, YOLOv8n 0.3861.

When ``ACCURACY_DETECTIONS_DIR`` is set, what ``edgecv detect`` printed for each model is written there
as ``<model>.jsonl``: ``make test-arm64`` compares those lines with an x86_64 run of the same command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from edgecv.evaluate.coco import coco_map

pytestmark = pytest.mark.shared

CONF = 0.001  # evaluation threshold: the whole precision-recall curve
IOU = 0.45
MAX_DETECTIONS = 300
REFERENCE_TOLERANCE = 0.002  # mAP50-95 between edgecv detect and the plain reference, same machine
LETTERBOX_GREY = 114  # Ultralytics pads with this grey; its models were trained on it


@dataclass(frozen=True)
class SharedModel:
    path: str  # under ../shared/assets/models
    labels: str  # beside the model
    family: str  # "ssd" or "yolov8": which reference decode applies
    label_offset: int  # SSD's labelmap starts with a '???' line: class k is line k + 1
    pass_labels: bool  # give --labels to edgecv detect (YOLOv8n carries its names in its metadata)
    floor: float  # x86_64 figure minus 0.01


MODELS = {
    "ssd_mobilenet_v1": SharedModel(
        "ssd_mobilenet_v1_coco_quant/detect.tflite", "labelmap.txt", "ssd", 1, True, 0.218
    ),
    "yolov8n_int8": SharedModel(
        "yolov8n_int8/yolov8n_full_integer_quant.tflite", "coco_labels.txt", "yolov8", 0, False, 0.376
    ),
}


def start_detect_cli(model: Path, labels: Path | None, images: list[Path]) -> subprocess.Popen[str]:
    """The command line exactly as a user runs it, started; :func:`read_detect_cli` reads its lines."""
    command = [sys.executable, "-m", "edgecv", "detect", "--model", str(model), "--conf", str(CONF)]
    if labels is not None:
        command += ["--labels", str(labels)]
    environ = {k: v for k, v in os.environ.items() if not k.upper().startswith("EDGECV_")}
    return subprocess.Popen(
        [*command, *map(str, images)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
    )


def read_detect_cli(process: subprocess.Popen[str]) -> list[dict[str, Any]]:
    # Emulated aarch64 (make test-arm64) runs YOLOv8n at 5-10 s a photo: 40 take up to ten minutes there.
    stdout, stderr = process.communicate(timeout=1800)
    assert process.returncode == 0, stderr
    return [json.loads(line) for line in stdout.splitlines()]


# -- the plain reference: written from the model documentation, nothing imported from edgecv/detect ------


def load_interpreter(model: Path) -> Any:
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter  # 32-bit Raspberry Pi OS
        except ImportError:
            pytest.skip("no TFLite runtime installed (ai-edge-litert or tflite-runtime)")
    interpreter = Interpreter(model_path=str(model), num_threads=1)
    interpreter.allocate_tensors()
    return interpreter


def invoke(interpreter: Any, tensor: np.ndarray) -> dict[str, np.ndarray]:
    """Outputs by name: exports do not agree on output order."""
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], tensor)
    interpreter.invoke()
    return {d["name"]: interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()}


def plain_nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> list[int]:
    """Textbook greedy NMS over one class: indices kept, best first."""
    order = np.argsort(-scores, kind="stable")
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep: list[int] = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(int(best))
        x1 = np.maximum(boxes[best, 0], boxes[rest, 0])
        y1 = np.maximum(boxes[best, 1], boxes[rest, 1])
        x2 = np.minimum(boxes[best, 2], boxes[rest, 2])
        y2 = np.minimum(boxes[best, 3], boxes[rest, 3])
        inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
        iou = inter / np.maximum(areas[best] + areas[rest] - inter, 1e-12)
        order = rest[iou <= threshold]
    return keep


def class_aware_nms(classes: np.ndarray, scores: np.ndarray, boxes: np.ndarray) -> list[int]:
    """What ``--iou`` and ``--max-detections`` ask of every model: NMS per class, then the best overall."""
    kept = [
        int(index)
        for class_id in np.unique(classes)
        for index in np.flatnonzero(classes == class_id)[
            plain_nms(boxes[classes == class_id], scores[classes == class_id], IOU)
        ]
    ]
    return sorted(kept, key=lambda i: -scores[i])[:MAX_DETECTIONS]


def reference_ssd(interpreter: Any, image: np.ndarray) -> Iterator[tuple[int, float, list[float]]]:
    """Raw 0-255 RGB stretched to the input; boxes come out as normalised (ymin, xmin, ymax, xmax)."""
    spec = interpreter.get_input_details()[0]
    height, width = int(spec["shape"][1]), int(spec["shape"][2])
    resized = cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
    rgb = cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)
    outputs = invoke(interpreter, rgb[None].astype(spec["dtype"]))
    count = int(outputs["TFLite_Detection_PostProcess:3"][0])
    normalised = np.clip(outputs["TFLite_Detection_PostProcess"][0][:count], 0.0, 1.0)
    classes = outputs["TFLite_Detection_PostProcess:1"][0][:count].astype(np.int64)
    scores = outputs["TFLite_Detection_PostProcess:2"][0][:count].astype(np.float64)
    src_h, src_w = image.shape[:2]
    ymin, xmin, ymax, xmax = normalised.T.astype(np.float64)
    boxes = np.stack([xmin * src_w, ymin * src_h, xmax * src_w, ymax * src_h], axis=1)
    passing = scores >= CONF
    classes, scores, boxes = classes[passing], scores[passing], boxes[passing]
    # The post-process op suppressed at its own IoU; the command applies --iou on top, as for any model.
    for i in class_aware_nms(classes, scores, boxes):
        yield int(classes[i]), float(scores[i]), [float(v) for v in boxes[i]]


def reference_yolov8(interpreter: Any, image: np.ndarray) -> Iterator[tuple[int, float, list[float]]]:
    """Ultralytics' letterbox and int8 head, each tensor dequantized with its own scale and zero point."""
    spec = interpreter.get_input_details()[0]
    size = int(spec["shape"][1])
    src_h, src_w = image.shape[:2]
    gain = min(size / src_h, size / src_w)
    new_w, new_h = round(src_w * gain), round(src_h * gain)
    left, top = round((size - new_w) / 2 - 0.1), round((size - new_h) / 2 - 0.1)
    canvas = np.full((size, size, 3), LETTERBOX_GREY, np.uint8)
    canvas[top : top + new_h, left : left + new_w] = cv2.resize(
        image, (new_w, new_h), interpolation=cv2.INTER_LINEAR
    )
    rgb = cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB)
    scale, zero_point = spec["quantization"]
    quantized = np.clip(np.round(rgb / 255.0 / scale + zero_point), -128, 127).astype(np.int8)
    out = interpreter.get_output_details()[0]
    raw = invoke(interpreter, quantized[None])[out["name"]][0]
    out_scale, out_zero_point = out["quantization"]
    head = (raw.astype(np.float64) - out_zero_point) * out_scale  # [84, 8400]
    class_scores = head[4:]
    classes = class_scores.argmax(axis=0)
    scores = class_scores.max(axis=0)
    passing = scores >= CONF
    cx, cy, w, h = head[:4, passing] * size
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    classes, scores = classes[passing], scores[passing]
    for i in class_aware_nms(classes, scores, boxes):
        source = np.clip((boxes[i] - [left, top, left, top]) / gain, 0, [src_w, src_h, src_w, src_h])
        yield int(classes[i]), float(scores[i]), [float(v) for v in source]


def reference_detect(model: SharedModel, model_path: Path, images: list[Path]) -> list[dict[str, Any]]:
    names = (model_path.parent / model.labels).read_text().splitlines()
    interpreter = load_interpreter(model_path)
    decode = reference_ssd if model.family == "ssd" else reference_yolov8
    results = []
    for image_path in images:
        image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
        assert image is not None, f"cannot read {image_path}"
        detections = [
            {"label": names[class_id + model.label_offset], "score": score, "box": box}
            for class_id, score, box in decode(interpreter, image)
        ]
        results.append({"image": str(image_path), "detections": detections})
    return results


# -- the tests -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scores:
    name: str
    detect: dict[str, Any]
    reference: dict[str, Any]


@pytest.fixture(scope="module", params=list(MODELS))
def scores(request: pytest.FixtureRequest, shared_assets: Path) -> Scores:
    name: str = request.param
    model = MODELS[name]
    model_path = shared_assets / "models" / model.path
    images = sorted((shared_assets / "coco_val2017/images").glob("*.jpg"))
    assert len(images) == 40
    instances = shared_assets / "coco_val2017/instances.json"
    labels = model_path.parent / model.labels if model.pass_labels else None
    # The command runs on one core while the reference runs on another: half the wall time where CPUs
    # are slow (emulated), and the two share nothing but the files.
    process = start_detect_cli(model_path, labels, images)
    try:
        reference = reference_detect(model, model_path, images)
        detected = read_detect_cli(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    collect = os.environ.get("ACCURACY_DETECTIONS_DIR")
    if collect:
        Path(collect).mkdir(parents=True, exist_ok=True)
        lines = "".join(json.dumps(line) + "\n" for line in detected)
        (Path(collect) / f"{name}.jsonl").write_text(lines)
    result = Scores(name, coco_map(detected, instances), coco_map(reference, instances))
    print(
        f"{name}: edgecv detect mAP50-95 {result.detect['map50_95']:.4f} (mAP50 {result.detect['map50']:.4f}),"
        f" plain reference {result.reference['map50_95']:.4f}"
    )
    return result


def test_detect_matches_plain_reference(scores: Scores) -> None:
    for summary in (scores.detect, scores.reference):
        assert summary["images"] == 40 and summary["unmatched_labels"] == [], summary
    gap = abs(scores.detect["map50_95"] - scores.reference["map50_95"])
    assert gap <= REFERENCE_TOLERANCE, (scores.detect, scores.reference)


def test_coco_map_floor(scores: Scores) -> None:
    assert scores.detect["map50_95"] >= MODELS[scores.name].floor, scores.detect
