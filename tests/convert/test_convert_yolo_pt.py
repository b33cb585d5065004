"""``edgecv convert CHECKPOINT.pt`` for Ultralytics and YOLOv5 training checkpoints: one command, no flags.

The YOLOv5n test runs the exact command of issue 15 on the shared COCO photos (calibration 32, drift report
on 8 held out); the slow ones are the self-check protocol: calibrate on the first 20 photos by name, score
mAP50-95 on the other 20, and the same with the halves swapped.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("litert_torch")
pytest.importorskip("ai_edge_quantizer")

from edgecv.convert.cli import add_arguments, run  # noqa: E402
from edgecv.convert.inspect_ops import edgetpu_unsupported, float_ops, io_types, op_counts  # noqa: E402
from edgecv.detect.detector import Detector  # noqa: E402
from edgecv.detect.metadata import read_metadata  # noqa: E402
from edgecv.detect.runtime import load_interpreter  # noqa: E402

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "ultralytics" / "yolov8_tiny_shapes.pt"
EXACT_INPUT = (1 / 255, -128)


def convert(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return run(parser.parse_args(list(argv)))


def input_quantization(model: Path) -> tuple[float, int]:
    scale, zero_point = load_interpreter(model, threads=1).get_input_details()[0]["quantization"]
    return float(scale), int(zero_point)


def test_ultralytics_checkpoint_one_command(images: Path, tmp_path: Path) -> None:
    output = tmp_path / "tiny.tflite"
    assert convert(str(FIXTURE), "--calibration", str(images), "-o", str(output)) == 0
    assert float_ops(output) == [] and io_types(output) == (["int8"], ["int8"])
    assert input_quantization(output) == pytest.approx(EXACT_INPUT)
    assert edgetpu_unsupported(output) == []
    meta = read_metadata(output)
    assert (meta.names, meta.family, meta.imgsz, meta.box_format) == (
        ["circle", "square", "triangle"], "yolov8", [160, 160], "normalized",
    )  # fmt: skip
    detector = Detector(output, threads=1)  # no flags: labels, family, size from the file
    assert detector.decoder.family == "yolov8" and detector.labels.names == ["circle", "square", "triangle"]
    detector.detect(np.full((120, 160, 3), 90, np.uint8))
    # Where the error comes from: every backbone/neck layer, the head from its final convolutions on.
    rows = json.loads(output.with_suffix(".drift.json").read_text())["layers"]
    assert [r["name"] for r in rows if r["kind"] == "layer"][:3] == ["0", "1", "2"]
    head = {r["op"] for r in rows if r["kind"] == "head"}
    assert {"CONV_2D", "SOFTMAX", "LOGISTIC", "CONCATENATION", "DEPTHWISE_CONV_2D"} <= head
    assert "MUL" not in head  # the Conv-SiLU blocks before the final convolutions are not listed op by op


@pytest.mark.slow  # a full conversion (~20 s); tests/convert/test_convert_torch.py covers the flags in seconds
def test_uint8_io_and_int16_layers(images: Path, tmp_path: Path) -> None:
    output = tmp_path / "tiny_u8.tflite"
    argv = ["--io", "uint8", "--int16-activations", "0,1"]
    assert convert(str(FIXTURE), "--calibration", str(images), "-o", str(output), *argv) == 0
    assert io_types(output) == (["uint8"], ["uint8"]) and float_ops(output) == []
    assert input_quantization(output) == pytest.approx((1 / 255, 0))  # pixels 0..255 map one to one
    off_tpu = edgetpu_unsupported(output)
    assert off_tpu and all(op.endswith("(int16)") for op in off_tpu)  # the TPU computes in 8 bits only
    assert read_metadata(output).extra["int16_layers"] == ["0", "1"]
    detections = Detector(output, threads=1).detect(np.full((120, 160, 3), 90, np.uint8))
    assert detections.boxes.dtype == np.float32


def test_unknown_int16_layer_is_refused(
    images: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "never.tflite"
    argv = ["--int16-activations", "backbone"]
    assert convert(str(FIXTURE), "--calibration", str(images), "-o", str(output), *argv) == 2
    error = capsys.readouterr().err
    assert "no layer named 'backbone'" in error and "0, 1, 2" in error
    assert not output.exists()


@pytest.fixture(scope="module")
def yolov5n_converted(shared_assets: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The issue's command: ``edgecv convert yolov5n.pt --calibration coco/images -o out --keep-float f``."""
    tmp = tmp_path_factory.mktemp("yolov5n")
    output, floating = tmp / "yolov5n_int8.tflite", tmp / "yolov5n_float.tflite"
    checkpoint = shared_assets / "models" / "yolov5n_pt" / "yolov5n.pt"
    images = shared_assets / "coco_val2017" / "images"
    status = convert(
        str(checkpoint), "--calibration", str(images), "-o", str(output), "--keep-float", str(floating)
    )
    assert status == 0
    return output, floating


@pytest.mark.shared
def test_yolov5n_full_int8_edgetpu_ops(yolov5n_converted: tuple[Path, Path]) -> None:
    output, floating = yolov5n_converted
    assert float_ops(output) == [] and io_types(output) == (["int8"], ["int8"])
    assert input_quantization(output) == pytest.approx(EXACT_INPUT)
    assert edgetpu_unsupported(output) == []
    # Re-quantization points: the hand-written export of issue 15 had 12, the official YOLOv5 one 26.
    assert op_counts(output).get("QUANTIZE", 0) <= 12
    assert io_types(floating) == (["float32"], ["float32"])
    meta = read_metadata(output)
    assert (meta.family, meta.imgsz, len(meta.names or [])) == ("yolov5", [640, 640], 80)
    assert meta.extra["quantize_ops"] == op_counts(output).get("QUANTIZE", 0)


@pytest.mark.shared
def test_yolov5n_detects_with_no_flags(yolov5n_converted: tuple[Path, Path], shared_assets: Path) -> None:
    import cv2

    output, _ = yolov5n_converted
    detector = Detector(output, threads=1)
    assert detector.decoder.family == "yolov5"
    labels_dir = shared_assets / "coco_val2017" / "labels"
    # The first photo (by name) whose ground truth has a person: the int8 model finds one there.
    for path in sorted((shared_assets / "coco_val2017" / "images").glob("*.jpg")):
        truth = (labels_dir / f"{path.stem}.txt").read_text().split("\n")
        if any(line.startswith("0 ") for line in truth):
            break
    detections = detector.detect(cv2.imread(str(path)))
    assert "person" in detector.labels.names_for(detections.class_ids)


@pytest.mark.shared
def test_yolov5n_drift_report(yolov5n_converted: tuple[Path, Path]) -> None:
    output, _ = yolov5n_converted
    report = json.loads(output.with_suffix(".drift.json").read_text())
    assert report["images"] == 8 and report["outputs"][0]["cosine"] >= 0.99
    rows = {r["name"].split(" #")[0]: r for r in report["layers"]}
    assert [name for name, r in rows.items() if r["kind"] == "layer"] == [str(k) for k in range(24)]
    # The head's three final convolutions (one per level), their sigmoids and the box decode are listed.
    assert {"24.0 CONV_2D", "24.1 CONV_2D", "24.2 CONV_2D", "24 LOGISTIC", "24 DEPTHWISE_CONV_2D"} <= set(
        rows
    )
    assert all(0.9 < r["cosine"] <= 1.0 + 1e-9 for r in report["layers"])


@pytest.mark.slow
@pytest.mark.shared
@pytest.mark.parametrize("calibrate_on", ["first", "second"])
def test_yolov5n_accuracy_self_check(shared_assets: Path, tmp_path: Path, calibrate_on: str) -> None:
    """Calibrate on one half of the photos by name, score on the other (never the same images), both ways."""
    photos = sorted((shared_assets / "coco_val2017" / "images").glob("*.jpg"))
    halves = (photos[:20], photos[20:]) if calibrate_on == "first" else (photos[20:], photos[:20])
    calib, held = tmp_path / "calib", tmp_path / "held"
    for folder, chosen in zip((calib, held), halves, strict=True):
        folder.mkdir()
        for photo in chosen:
            (folder / photo.name).symlink_to(photo)
    output = tmp_path / "yolov5n_int8.tflite"
    status = convert(
        str(shared_assets / "models" / "yolov5n_pt" / "yolov5n.pt"), "--calibration", str(calib),
        "--val-images", str(held), "--val-annotations", str(shared_assets / "coco_val2017" / "labels"),
        "-o", str(output),
    )  # fmt: skip
    assert status == 0
    report = json.loads(output.with_suffix(".drift.json").read_text())
    # Issue 15's goal, full int8: at most 1.5 mAP50-95 points below float (measured 1.30 and 1.32, see
    # BENCHMARKS.md; before the sigmoid/SiLU lower bounds 1.74 and 2.87).
    assert 100 * report["map_drop"] <= 1.5
    if calibrate_on == "first":  # float reaches 0.347 on the second half, 0.289 on the first
        assert report["map_int8"] >= 0.316  # the official YOLOv5 int8 export's figure on unseen photos
    assert report["outputs"][0]["cosine"] >= 0.995
