"""Keras detectors (YOLOv8- and YOLOv5-style heads behind upsample + concat necks) → full int8."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("tensorflow")

from edgecv.convert.cli import add_arguments, run  # noqa: E402
from edgecv.convert.inspect_ops import float_ops, io_types  # noqa: E402
from edgecv.detect.detector import Detector  # noqa: E402
from edgecv.detect.metadata import read_metadata  # noqa: E402

IMGSZ = 64
NAMES = ["circle", "square", "triangle"]  # as written by the labels_file fixture


def tiny_detector(head: str, num_classes: int = len(NAMES)) -> keras.Model:
    """Backbone to stride 32, a top-down neck (upsample + concat), per-level 1x1 heads, one output."""
    layers = keras.layers
    keras.utils.set_random_seed(0)
    inputs = keras.Input((IMGSZ, IMGSZ, 3))
    x = layers.Conv2D(8, 3, 2, padding="same", activation="relu")(inputs)
    x = layers.Conv2D(16, 3, 2, padding="same", activation="relu")(x)
    p3 = layers.Conv2D(16, 3, 2, padding="same", activation="relu")(x)
    p4 = layers.Conv2D(24, 3, 2, padding="same", activation="relu")(p3)
    p5 = layers.Conv2D(32, 3, 2, padding="same", activation="relu")(p4)
    n4 = layers.Conv2D(24, 3, padding="same", activation="relu")(
        layers.Concatenate()([layers.UpSampling2D()(p5), p4])
    )
    n3 = layers.Conv2D(16, 3, padding="same", activation="relu")(
        layers.Concatenate()([layers.UpSampling2D()(n4), p3])
    )
    channels = 4 + num_classes + (1 if head == "yolov5" else 0)
    flat = [layers.Reshape((-1, channels))(layers.Conv2D(channels, 1)(f)) for f in (n3, n4, p5)]
    # Normalised boxes and scores alike in 0..1: what a YOLO export with nms=False, normalized boxes gives.
    out = layers.Activation("sigmoid")(layers.Concatenate(axis=1)(flat))  # [1, N, channels]
    if head == "yolov8":
        out = layers.Permute((2, 1))(out)  # [1, 4 + C, N], Ultralytics' order
    return keras.Model(inputs, out)


def convert(tmp: Path, head: str, *extra: str) -> tuple[int, Path]:
    checkpoint = tmp / f"{head}.keras"
    tiny_detector(head).save(checkpoint)
    output = tmp / f"{head}_int8.tflite"
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return run(parser.parse_args([str(checkpoint), "-o", str(output), *extra])), output


@pytest.fixture(scope="module")
def yolov8(tmp_path_factory: pytest.TempPathFactory, images: Path, labels_file: Path) -> Path:
    status, output = convert(
        tmp_path_factory.mktemp("k8"), "yolov8", "--calibration", str(images), "--labels", str(labels_file)
    )
    assert status == 0
    return output


def input_quantization(model: Path) -> tuple[float, int]:
    from edgecv.detect.runtime import load_interpreter

    scale, zero_point = load_interpreter(model, threads=1).get_input_details()[0]["quantization"]
    return float(scale), int(zero_point)


def test_full_int8(yolov8: Path) -> None:
    assert float_ops(yolov8) == []
    assert io_types(yolov8) == (["int8"], ["int8"])
    assert input_quantization(yolov8) == pytest.approx((1 / 255, -128))


def test_input_is_exactly_1_255_after_dull_calibration(
    tmp_path: Path, images: Path, labels_file: Path
) -> None:
    """Calibration images spanning only 60..187 still give pixels 0..255 their own int8 values."""
    import cv2

    folder = tmp_path / "dull"
    folder.mkdir()
    for path in sorted(images.glob("*.png"))[:8]:
        cv2.imwrite(str(folder / path.name), (cv2.imread(str(path)) // 2 + 60).astype(np.uint8))
    status, output = convert(tmp_path, "yolov8", "--calibration", str(folder), "--labels", str(labels_file))
    assert status == 0
    assert input_quantization(output) == pytest.approx((1 / 255, -128))


def test_metadata_inside(yolov8: Path) -> None:
    meta = read_metadata(yolov8)
    assert meta.producer == "edgecv"
    assert meta.names == NAMES
    assert meta.family == "yolov8"
    assert meta.imgsz == [IMGSZ, IMGSZ]
    assert meta.box_format == "normalized"
    assert (meta.input_mean, meta.input_std, meta.color_order) == ([0, 0, 0], [255, 255, 255], "rgb")


def test_detector_loads_without_flags(yolov8: Path) -> None:
    detector = Detector(yolov8, threads=1)
    assert detector.decoder.family == "yolov8"
    assert detector.labels.names == NAMES
    result = detector.detect(np.full((120, 160, 3), 90, np.uint8))
    assert result.boxes.dtype == np.float32


def test_drift_report(yolov8: Path) -> None:
    report = json.loads(yolov8.with_suffix(".drift.json").read_text())
    assert {"outputs", "map_float", "map_int8", "map_drop"} <= report.keys()
    assert report["passed"] is True
    for output in report["outputs"]:
        assert set(output) == {"name", "cosine", "max_abs_error"}
        assert output["cosine"] >= 0.99


def test_yolov5_head_and_uint8_io(tmp_path: Path, images: Path, labels_file: Path) -> None:
    status, output = convert(
        tmp_path, "yolov5", "--calibration", str(images), "--labels", str(labels_file), "--io", "uint8"
    )
    assert status == 0
    assert float_ops(output) == []
    assert io_types(output) == (["uint8"], ["uint8"])
    assert input_quantization(output) == pytest.approx((1 / 255, 0))
    assert read_metadata(output).family == "yolov5"
    assert Detector(output, threads=1).decoder.family == "yolov5"


def test_map_drop_exceeded_fails_but_writes(
    tmp_path: Path, images: Path, labels_file: Path, yolo_labels: Path
) -> None:
    # A limit no model can meet (int8 would have to beat float by 100 points) forces the failing path.
    status, output = convert(
        tmp_path, "yolov8", "--calibration", str(images), "--labels", str(labels_file),
        "--val-images", str(images), "--val-annotations", str(yolo_labels), "--max-map-drop", "-100",
    )  # fmt: skip
    assert status == 1
    assert output.exists()
    report = json.loads(output.with_suffix(".drift.json").read_text())
    assert report["passed"] is False
    assert report["map_float"] is not None and report["map_drop"] is not None
    assert read_metadata(output).extra["drift_passed"] is False


def test_float_model_is_not_called_int8(tmp_path: Path) -> None:
    from edgecv.convert import keras_backend

    path = tmp_path / "float.tflite"
    path.write_bytes(keras_backend.to_float(tiny_detector("yolov8")))
    offending = float_ops(path)
    assert any(op.op_name == "CONV_2D" for op in offending)
