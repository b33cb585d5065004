"""Metadata carried inside ``.tflite`` files: Ultralytics' ``temp_meta.txt`` and edgecv's own."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from edgecv.detect.decode import TensorInfo, build_decoder
from edgecv.detect.metadata import (
    EDGECV_MEMBER,
    ULTRALYTICS_MEMBER,
    ModelMetadata,
    read_metadata,
    write_metadata,
)
from edgecv.detect.runtime import load_interpreter

ULTRALYTICS_META = (
    "{'description': 'Ultralytics YOLOv8n model', 'stride': 32, 'task': 'detect', 'batch': 1, "
    "'imgsz': [320, 320], 'names': {0: 'person', 1: 'bicycle', 2: 'car'}, 'args': {'int8': True}}"
)


def fake_model(path: Path, member: str | None = None, text: str = "") -> Path:
    path.write_bytes(b"\x18\x00\x00\x00TFL3" + bytes(200))
    if member:
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr(member, text)
    return path


def test_no_metadata(tmp_path: Path) -> None:
    assert read_metadata(fake_model(tmp_path / "m.tflite")) == ModelMetadata()
    assert read_metadata(tmp_path / "missing.tflite") == ModelMetadata()


def test_ultralytics_member(tmp_path: Path) -> None:
    meta = read_metadata(fake_model(tmp_path / "m.tflite", ULTRALYTICS_MEMBER, ULTRALYTICS_META))
    assert meta.producer == "ultralytics"
    assert meta.names == ["person", "bicycle", "car"]
    assert (meta.imgsz, meta.task, meta.resize, meta.color_order) == (
        [320, 320],
        "detect",
        "letterbox",
        "rgb",
    )
    assert meta.family is None  # told from the head's shape


def test_ultralytics_member_unreadable(tmp_path: Path) -> None:
    meta = read_metadata(fake_model(tmp_path / "m.tflite", ULTRALYTICS_MEMBER, "not a dict {"))
    assert meta == ModelMetadata(producer="ultralytics")


def test_real_yolov8n_metadata(shared_assets: Path) -> None:
    meta = read_metadata(shared_assets / "models/yolov8n_int8/yolov8n_full_integer_quant.tflite")
    assert meta.producer == "ultralytics" and meta.task == "detect"
    assert meta.imgsz == [640, 640]
    assert meta.names is not None and len(meta.names) == 80
    assert meta.names[0] == "person" and meta.names[79] == "toothbrush"
    head = TensorInfo(0, "PartitionedCall:0", (1, 84, 8400), np.dtype(np.int8), 0.0039, -128)
    assert build_decoder([head], (640, 640), meta).num_classes == 80


def test_edgecv_metadata_round_trip_keeps_the_model_loadable(shared_assets: Path, tmp_path: Path) -> None:
    model = tmp_path / "detect.tflite"  # a copy in tmp_path only: shared assets never enter the repository
    shutil.copyfile(shared_assets / "models/ssd_mobilenet_v1_coco_quant/detect.tflite", model)
    original = model.read_bytes()
    written = ModelMetadata(
        names=["person", None, "car"],
        family="ssd",
        box_format="normalized",
        resize="stretch",
        color_order="rgb",
        input_mean=[127.5, 127.5, 127.5],
        input_std=[127.5, 127.5, 127.5],
        imgsz=[300, 300],
        extra={"calibration_images": 200},
    )
    write_metadata(model, written)
    assert model.read_bytes().startswith(original)  # the flatbuffer is untouched, the archive follows it
    meta = read_metadata(model)
    assert meta.producer == "edgecv"
    assert meta.names == ["person", None, "car"] and meta.family == "ssd"
    assert meta.input_mean == [127.5] * 3 and meta.imgsz == [300, 300]
    assert meta.extra == {"calibration_images": 200}
    interpreter = load_interpreter(model, threads=1)
    assert [tuple(d["shape"]) for d in interpreter.get_input_details()] == [(1, 300, 300, 3)]
    with pytest.raises(ValueError, match=EDGECV_MEMBER):
        write_metadata(model, written)


def test_edgecv_metadata_wins_over_ultralytics(tmp_path: Path) -> None:
    model = fake_model(tmp_path / "m.tflite", ULTRALYTICS_MEMBER, ULTRALYTICS_META)
    write_metadata(model, ModelMetadata(family="yolov5", names=["a", "b"]))
    meta = read_metadata(model)
    assert (meta.producer, meta.family, meta.names) == ("edgecv", "yolov5", ["a", "b"])
