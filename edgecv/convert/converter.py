"""One conversion, end to end: checkpoint → calibrated int8 ``.tflite`` + metadata + drift report."""

from __future__ import annotations

import logging
import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..detect.decode import TensorInfo, build_decoder, read_head
from ..detect.families import AUTO, DEFAULT_MEAN, DEFAULT_STD, by_class_count, default_resize, find
from ..detect.metadata import ModelMetadata, write_metadata
from ..detect.runtime import load_interpreter
from ..errors import ConfigError
from ..labels import load_labels
from . import calibration
from .checkpoint import Checkpoint, load_checkpoint
from .drift import DriftReport, measure
from .inspect_ops import FloatOp, edgetpu_unsupported, float_ops, op_counts
from .layer_drift import MAX_IMAGES as LAYER_IMAGES
from .layer_drift import measure_layers
from .options import ConvertOptions

log = logging.getLogger(__name__)


@dataclass
class ConvertResult:
    output: Path
    drift_path: Path
    drift: DriftReport
    float_ops: list[FloatOp] = field(default_factory=list)
    metadata: ModelMetadata = field(default_factory=ModelMetadata)

    @property
    def int8(self) -> bool:
        return not self.float_ops

    @property
    def passed(self) -> bool:
        return self.int8 and self.drift.passed


@dataclass(frozen=True)
class Preprocessing:
    input_hw: tuple[int, int]
    color_order: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    resize: str


def convert(options: ConvertOptions, keep_float: Path | None = None) -> ConvertResult:
    """Convert, write ``options.output`` and ``OUT.drift.json``; the model is written even when it fails.

    ``keep_float`` also writes the float32 ``.tflite`` the int8 model is compared against (benchmarks).
    """
    # Cheap checks first: a typo in a folder name should not cost a TensorFlow import.
    calib_paths, held_paths = _image_sets(options)
    checkpoint = load_checkpoint(options.checkpoint, options.model_factory, options.trust_checkpoint)
    # Only now: a bad checkpoint path is one error line, not a warning followed by an error.
    calibration.warn_if_few(len(calib_paths))
    prep = _preprocessing(options, checkpoint)
    names = _names(options, checkpoint)
    spec = calibration.float_spec(*prep.input_hw, prep.mean, prep.std, prep.resize, prep.color_order == "rgb")
    tensors = calibration.load_all(calib_paths, spec, "calibration")
    if checkpoint.prepare is not None:
        checkpoint.prepare(prep.input_hw, tensors[0])
    log.info("converting %s (%s) at %dx%d", options.checkpoint, checkpoint.framework, *prep.input_hw)
    converted = _convert_bytes(checkpoint, prep, tensors, options)
    float_bytes, int8_bytes = converted.float_model, converted.int8_model

    family = _family(int8_bytes, prep.input_hw, names, options, checkpoint)
    box_format = _box_format(float_bytes, tensors[0], family)
    metadata = ModelMetadata(
        names=names or None,
        family=family,
        box_format=box_format,
        resize=prep.resize,
        color_order=prep.color_order,
        input_mean=list(prep.mean),
        input_std=list(prep.std),
        imgsz=list(prep.input_hw),
        task="detect",
        producer="edgecv",
    )
    annotations = _annotations(options, held_paths, names)
    if annotations is not None:
        held_paths = _annotated_only(held_paths, annotations, options)
    with tempfile.TemporaryDirectory(prefix="edgecv-convert-") as tmp:
        float_path, int8_path = Path(tmp) / "float.tflite", Path(tmp) / "int8.tflite"
        for path, content in ((float_path, float_bytes), (int8_path, int8_bytes)):
            path.write_bytes(content)
            write_metadata(path, metadata)
        if keep_float is not None:
            keep_float.parent.mkdir(parents=True, exist_ok=True)
            keep_float.write_bytes(float_path.read_bytes())
        offending = float_ops(int8_path)
        ops = op_counts(int8_path)
        off_tpu = edgetpu_unsupported(int8_path)
        report = measure(float_path, int8_path, held_paths, annotations, options.max_map_drop, options.iou)
    # Where the error comes from: the int8 graph against the float graph it was made from, tensor by tensor.
    layer_images = held_paths[:: max(1, -(-len(held_paths) // LAYER_IMAGES))]
    report.layers = measure_layers(
        converted.int8_source, int8_bytes, calibration.load_all(layer_images, spec, "held-out images")
    )
    if offending:
        report.problems.insert(
            0, f"{len(offending)} op(s) compute in float: " + "; ".join(map(str, offending))
        )
        report.passed = False
    metadata.extra = {
        "source": options.checkpoint.name,
        "framework": checkpoint.framework,
        "int8": not offending,
        "drift_passed": report.passed,
        "quantize_ops": ops.get("QUANTIZE", 0),  # re-quantization points: each one rounds again
        "int16_layers": list(options.int16_activations),
        "edgetpu_unsupported_ops": off_tpu,
    }
    if off_tpu:
        log.warning(
            "ops the Edge TPU does not run: %s (edgetpu_compiler will leave the graph from there on the CPU)",
            ", ".join(off_tpu),
        )
    output = options.output
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(int8_bytes)
    write_metadata(output, metadata)
    drift_path = (
        output.with_name(output.name + ".drift.json")
        if output.suffix != ".tflite"
        else (output.with_suffix(".drift.json"))
    )
    report.write(drift_path)
    return ConvertResult(output, drift_path, report, offending, metadata)


@dataclass(frozen=True)
class Converted:
    float_model: bytes  # the float reference of the drift report (--keep-float)
    int8_source: bytes  # the float graph int8 was made from (the YOLO heads: no float clamp)
    int8_model: bytes


def _convert_bytes(
    checkpoint: Checkpoint, prep: Preprocessing, tensors: list[np.ndarray], options: ConvertOptions
) -> Converted:
    if checkpoint.framework == "keras":
        from . import keras_backend

        if options.int16_activations:
            raise ConfigError(
                "--int16-activations is available for PyTorch checkpoints only",
                "drop it: Keras checkpoints convert through TensorFlow's converter, all int8",
            )
        float_bytes = keras_backend.to_float(checkpoint.model)
        int8 = keras_backend.to_int8(checkpoint.model, tensors, options.io, _input_range(prep))
        return Converted(float_bytes, float_bytes, int8)
    from . import torch_backend

    # Seconds, not the full conversion: one output, no op without an int8 kernel, normalised boxes.
    torch_backend.preflight(checkpoint.model, prep.input_hw, tensors[0], options.int16_activations)
    float_bytes = torch_backend.to_float(checkpoint.model, prep.input_hw)
    int8_source = float_bytes
    if checkpoint.int8_graph is not None:
        checkpoint.int8_graph(True)
        try:
            int8_source = torch_backend.to_float(checkpoint.model, prep.input_hw)
        finally:
            checkpoint.int8_graph(False)
    int8_bytes = torch_backend.to_int8(
        int8_source,
        tensors,
        options.io,
        input_range=_input_range(prep),
        output_range=checkpoint.output_range,
        method=options.activation_ranges,
        int16_layers=options.int16_activations,
    )
    return Converted(float_bytes, int8_source, int8_bytes)


def _input_range(prep: Preprocessing) -> tuple[float, float]:
    """What the preprocessed input can span: pixels 0..255 through ``(pixel - mean) / std``."""
    low = min((0.0 - m) / s for m, s in zip(prep.mean, prep.std, strict=True))
    high = max((255.0 - m) / s for m, s in zip(prep.mean, prep.std, strict=True))
    return (low, high)


def _preprocessing(options: ConvertOptions, checkpoint: Checkpoint) -> Preprocessing:
    """Flags first, then what the checkpoint carries, then the defaults (RGB, [0, 1], letterbox)."""
    meta = checkpoint.metadata
    carried = meta.get("imgsz")
    carried_hw = (int(carried[0]), int(carried[-1])) if isinstance(carried, list) and carried else None
    input_hw = options.input_size or checkpoint.input_hw or carried_hw
    if input_hw is None:
        raise ConfigError(
            f"cannot tell the input size of {options.checkpoint}", "pass --input-size H or HxW, e.g. 320"
        )
    if checkpoint.framework == "keras" and checkpoint.input_hw and input_hw != checkpoint.input_hw:
        raise ConfigError(
            f"--input-size {input_hw[0]}x{input_hw[1]} differs from the Keras model's fixed input "
            f"{checkpoint.input_hw[0]}x{checkpoint.input_hw[1]}",
            "drop --input-size, or rebuild the model with the size you want",
        )
    color = options.color_order or str(meta.get("color_order", "rgb")).lower()
    if color not in ("rgb", "bgr"):
        raise ConfigError(
            f"colour order {color!r} is not rgb or bgr", "fix the checkpoint metadata or the flag"
        )
    mean = options.mean or _triple(meta.get("input_mean")) or DEFAULT_MEAN
    std = options.std or _triple(meta.get("input_std")) or DEFAULT_STD
    family = options.layout if options.layout != AUTO else meta.get("family")
    resize = (
        options.resize or meta.get("resize") or default_resize(family if isinstance(family, str) else None)
    )
    return Preprocessing(input_hw, color, mean, std, resize)


def _triple(value: Any) -> tuple[float, float, float] | None:
    if isinstance(value, (list, tuple)) and len(value) == 3:
        return (float(value[0]), float(value[1]), float(value[2]))
    return None


def _names(options: ConvertOptions, checkpoint: Checkpoint) -> list[str | None]:
    if options.labels is not None:
        return list(load_labels(options.labels).names)
    carried = checkpoint.metadata.get("names")
    if isinstance(carried, dict):
        return [carried.get(str(i), carried.get(i)) for i in range(max(int(k) for k in carried) + 1)]
    if isinstance(carried, list):
        return [None if n is None else str(n) for n in carried]
    log.warning("no --labels and no names in the checkpoint: classes will read class_<id>")
    return []


def _image_sets(options: ConvertOptions) -> tuple[list[Path], list[Path]]:
    paths = calibration.find_images(options.calibration)
    if options.val_images is not None:
        held = calibration.find_images(options.val_images, "--val-images")
        calib = paths
    else:
        calib, held = calibration.split_holdout(paths, options.holdout)
    if len(calib) > options.max_calibration:
        calib = sorted(random.Random(0).sample(calib, options.max_calibration))
    return calib, held


def _family(
    int8_bytes: bytes,
    input_hw: tuple[int, int],
    names: list[str | None],
    options: ConvertOptions,
    checkpoint: Checkpoint,
) -> str:
    """The head family, from --layout, the checkpoint's metadata or the output shapes (same rules as run)."""
    layout = options.layout if options.layout != AUTO else str(checkpoint.metadata.get("family", AUTO))
    with tempfile.NamedTemporaryFile(suffix=".tflite") as handle:
        handle.write(int8_bytes)
        handle.flush()
        interpreter = load_interpreter(handle.name, threads=1)
        outputs = [TensorInfo.from_details(d) for d in interpreter.get_output_details()]
    decoder = build_decoder(outputs, input_hw, ModelMetadata(names=names or None), layout, len(names) or None)
    family = find(decoder.family)
    if layout == AUTO and names and family is not None and family.head is not None:
        # The run-time rule trusts grid sizes (v5: 3 anchors per cell); a converted model's class count is
        # known here, and an anchor-free head with objectness (5 + C, one per cell) is common in custom models.
        channels = read_head(outputs, input_hw).channels
        by_count = by_class_count(channels, len(names))
        if by_count is not None and by_count.name != decoder.family:
            log.info("head has %d channels for %d classes: %s layout", channels, len(names), by_count.name)
            return by_count.name
    return decoder.family


def _box_format(float_bytes: bytes, sample: np.ndarray, family: str) -> str | None:
    """Normalised or pixel boxes, read off the float model; pixels cannot share an int8 scale with scores.

    ``None`` for a family whose boxes always come one way (SSD's post-process op normalises them).
    """
    model_family = find(family)
    if model_family is None or model_family.box_format is None:
        return None
    from ..detect.runtime import import_runtime

    interpreter = import_runtime().interpreter_class(model_content=float_bytes, num_threads=1)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], sample)
    interpreter.invoke()
    box_format = model_family.box_format(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]))
    if box_format == "pixels":
        log.warning(
            "the model outputs boxes in pixels: one int8 scale cannot hold pixels and 0..1 scores, so scores "
            "lose precision; divide the boxes by the input size inside the model"
        )
    return box_format


def _annotations(options: ConvertOptions, held: list[Path], names: list[str | None]) -> dict[str, Any] | None:
    if options.val_annotations is None:
        return None
    from ..evaluate.annotations import load_annotations

    return load_annotations(options.val_annotations, held, names)


def _annotated_only(held: list[Path], annotations: dict[str, Any], options: ConvertOptions) -> list[Path]:
    from ..evaluate.annotations import annotated_images

    assert options.val_annotations is not None
    return annotated_images(held, annotations, options.val_annotations)
