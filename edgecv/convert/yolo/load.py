"""A YOLOv5 or Ultralytics ``.pt`` → :class:`YoloModel` ready to export, with its names and input size."""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from ...errors import ModelError
from ..pickle_scan import ULTRALYTICS, YOLOV5, PickleScan
from . import heads
from .model import YoloModel, adopt
from .unpickler import load_allow_listed, load_trusted, unknown_globals

log = logging.getLogger(__name__)

YOLOV5_DEFAULT_SIZE = 640  # the official YOLOv5 releases' training size; their checkpoints do not record it
FRAMEWORK = {ULTRALYTICS: ("Ultralytics", "ultralytics"), YOLOV5: ("YOLOv5", "models.yolo")}
FAMILY = {ULTRALYTICS: "yolov8", YOLOV5: "yolov5"}  # edgecv decoder family of the export head


@dataclass
class YoloCheckpoint:
    model: YoloModel
    kind: str  # pickle_scan.ULTRALYTICS or YOLOV5
    names: list[str]
    input_hw: tuple[int, int] | None
    family: str


def load_yolo(path: Path, scanned: PickleScan, trust: bool) -> YoloCheckpoint:
    unknown = unknown_globals(scanned.globals)
    framework, package = FRAMEWORK[scanned.kind]
    if unknown and not trust:
        raise ModelError(
            f"{path} is a {framework} checkpoint naming classes edgecv does not know: {', '.join(unknown)}",
            "edgecv loads YOLO checkpoints into its own modules and refuses anything else; "
            f"--trust-checkpoint lets the {framework} code unpickle it (that runs code from the file: "
            "only for files you trust) when that code is importable",
        )
    if unknown:
        if importlib.util.find_spec(package.split(".")[0]) is None:
            raise ModelError(
                f"{path} names classes edgecv does not know ({', '.join(unknown)}) and --trust-checkpoint "
                f"needs the {framework} code importable ({package})",
                "install it in this environment, or convert with the framework's own exporter",
            )
        log.warning(
            "--trust-checkpoint: unpickling %s with the %s code (it runs code from the file)", path, framework
        )
        content = load_trusted(path, framework, lambda: f"install {package}")
        model = _adopt_trusted(_model_of(content, path))
    else:
        content = load_allow_listed(path)
        model = _model_of(content, path)
    if not isinstance(model, YoloModel):
        raise ModelError(f"{path}: the pickled model is {type(model).__name__}, not a detection model", "")
    names = model.class_names
    head = model.head()
    if len(names) != int(head.nc):
        if names:
            log.warning(
                "%s names %d classes but its head has %d: classes read class_<id>", path, len(names), head.nc
            )
        names = [f"class_{i}" for i in range(int(head.nc))]
    return YoloCheckpoint(model, scanned.kind, names, _input_hw(content, scanned.kind), FAMILY[scanned.kind])


def _model_of(content: Any, path: Path) -> Any:
    """The model inside a training checkpoint: ``ema`` (what Ultralytics evaluates) else ``model``."""
    if isinstance(content, nn.Module):
        return content
    if not isinstance(content, dict):
        raise ModelError(f"{path} holds a {type(content).__name__}, not a checkpoint dict or model", "")
    for key in ("ema", "model"):
        candidate = content.get(key)
        if isinstance(candidate, nn.Module):
            return candidate
    raise ModelError(f"{path} holds no model (keys: {', '.join(map(str, content))})", "")


def _adopt_trusted(model: nn.Module) -> nn.Module:
    """The framework's own model with edgecv's runner and export head; its blocks keep their own forward."""
    adopted = adopt(model, YoloModel)
    layers = adopted._modules["model"]
    if not isinstance(layers, nn.Sequential):
        raise ModelError(
            f"the unpickled model keeps its layers in {type(layers).__name__}, not Sequential", ""
        )
    head_cls = heads.V8Detect if hasattr(layers[-1], "reg_max") else heads.V5Detect
    layers[-1] = adopt(layers[-1], head_cls)
    return adopted


def _input_hw(content: Any, kind: str) -> tuple[int, int] | None:
    """The training size: Ultralytics ``train_args.imgsz``, YOLOv5 ``opt.imgsz``; else 640 for YOLOv5."""
    if isinstance(content, dict):
        for key in ("train_args", "opt"):
            args = content.get(key)
            size = (args.get("imgsz") or args.get("img_size")) if isinstance(args, dict) else None
            if isinstance(size, int) and size > 0:
                return (size, size)
            if isinstance(size, list | tuple) and size and all(isinstance(v, int) for v in size):
                return (int(size[0]), int(size[-1]))
    if kind == YOLOV5:
        log.info(
            "the checkpoint does not record its training size: %d, YOLOv5's default", YOLOV5_DEFAULT_SIZE
        )
        return (YOLOV5_DEFAULT_SIZE, YOLOV5_DEFAULT_SIZE)
    return None
