"""Metadata carried inside a ``.tflite`` file as an appended zip archive.

Ultralytics exports append a member ``temp_meta.txt`` (a Python dict literal with ``names``, ``imgsz``,
``task``); ``edgecv convert`` appends ``edgecv_meta.json``. The interpreter ignores bytes after the
flatbuffer, and :mod:`zipfile` finds an archive by its end record, so both can be read without parsing
the model.
"""

from __future__ import annotations

import ast
import json
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .custom_ops import Scalar, custom_ops

EDGECV_MEMBER = "edgecv_meta.json"
ULTRALYTICS_MEMBER = "temp_meta.txt"
METADATA_VERSION = 1


@dataclass
class ModelMetadata:
    """What a model file says about itself; ``None`` means "not stated", to be detected from shapes."""

    names: list[str | None] | None = None
    family: str | None = None  # "ssd", "yolov8", "yolov5"
    box_format: str | None = None  # "normalized" or "pixels"
    resize: str | None = None  # "letterbox" or "stretch"
    color_order: str | None = None  # "rgb" or "bgr"
    input_mean: list[float] | None = None  # real input = (pixel - mean) / std
    input_std: list[float] | None = None
    imgsz: list[int] | None = None
    task: str | None = None
    producer: str | None = None  # "edgecv", "ultralytics"
    extra: dict[str, Any] = field(default_factory=dict)
    # custom op name -> its options, read from the graph (not from the archive; never written)
    custom_ops: dict[str, dict[str, Scalar]] = field(default_factory=dict)


def read_metadata(path: str | Path) -> ModelMetadata:
    meta = _read_archive(path)
    meta.custom_ops = custom_ops(path)
    return meta


def _read_archive(path: str | Path) -> ModelMetadata:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return ModelMetadata()
    with archive:
        members = set(archive.namelist())
        if EDGECV_MEMBER in members:
            return _from_edgecv(json.loads(archive.read(EDGECV_MEMBER)))
        if ULTRALYTICS_MEMBER in members:
            return _from_ultralytics(archive.read(ULTRALYTICS_MEMBER).decode("utf-8", "replace"))
    return ModelMetadata()


def write_metadata(path: str | Path, metadata: ModelMetadata) -> None:
    """Append edgecv's metadata member to a freshly written model; the flatbuffer stays byte-identical."""
    payload = {
        "version": METADATA_VERSION,
        **{k: v for k, v in asdict(metadata).items() if v not in (None, {}) and k != "custom_ops"},
    }
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_STORED) as archive:
        if EDGECV_MEMBER in archive.namelist():
            raise ValueError(f"{path} already carries {EDGECV_MEMBER}; write metadata to a fresh model file")
        archive.writestr(EDGECV_MEMBER, json.dumps(payload, indent=1))


def _from_edgecv(payload: dict[str, Any]) -> ModelMetadata:
    known = {f for f in ModelMetadata.__dataclass_fields__ if f not in ("extra", "custom_ops")}
    meta = ModelMetadata(**{k: v for k, v in payload.items() if k in known})
    # write_metadata nests extra keys under "extra"; unknown top-level keys (newer writers) land there too.
    nested = payload.get("extra")
    meta.extra = {k: v for k, v in payload.items() if k not in known and k not in ("version", "extra")}
    if isinstance(nested, dict):
        meta.extra.update(nested)
    meta.producer = meta.producer or "edgecv"
    return meta


def _from_ultralytics(text: str) -> ModelMetadata:
    try:
        raw = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        try:
            raw = json.loads(text)
        except ValueError:
            return ModelMetadata(producer="ultralytics")
    if not isinstance(raw, dict):
        return ModelMetadata(producer="ultralytics")
    names = raw.get("names")
    name_list: list[str | None] | None = None
    if isinstance(names, dict) and names:
        name_list = [None] * (max(int(k) for k in names) + 1)
        for key, value in names.items():
            name_list[int(key)] = str(value)
    elif isinstance(names, list):
        name_list = [str(n) for n in names]
    imgsz = raw.get("imgsz")
    return ModelMetadata(
        names=name_list,
        # The head (v8 anchor-free or v5 with objectness) is told apart by shape and class count.
        family=None,
        resize="letterbox",
        color_order="rgb",
        imgsz=list(imgsz) if isinstance(imgsz, (list, tuple)) else None,
        task=raw.get("task"),
        producer="ultralytics",
    )
