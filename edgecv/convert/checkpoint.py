"""Loading a trained checkpoint into memory, whichever framework wrote it.

Supported: Keras ``.keras`` / ``.h5`` / SavedModel folders; PyTorch ``torch.export`` programs (``.pt2``),
YOLOv5 and Ultralytics (YOLOv8/11) training checkpoints (``.pt`` pickles, read into edgecv's own modules by
:mod:`.yolo`, none of their code run), and ``state_dict`` / Lightning files rebuilt through
``--model-factory module:callable``. What a ``.pt`` holds is read off its pickle's global names first
(:mod:`.pickle_scan`), so the message for a file edgecv cannot read says what it is. TorchScript is refused:
it cannot be re-exported to the graph form the TFLite converter reads, and guessing an architecture from it
would hide mistakes.
"""

from __future__ import annotations

import importlib
import json
import logging
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, ModelError

log = logging.getLogger(__name__)

META_MEMBER = "edgecv_meta.json"  # same name as inside our .tflite files: one vocabulary
KERAS_SUFFIXES = {".keras", ".h5", ".hdf5"}
TORCH_SUFFIXES = {".pt2", ".pt", ".pth", ".bin", ".ckpt"}
# The YOLO export heads' output: scores and normalised boxes, int8 scale 1/255, zero point -128. (The
# sigmoid's own 0..255/256 saves re-quantizing the scores but measured 0.7 mAP points worse on YOLOv5n,
# within the noise of 20 photos; 1/255 is what every YOLO int8 export uses.)
UNIT_RANGE = (0.0, 1.0)
EXPORT_HINT = (
    "export a .pt2 instead: ep = torch.export.export(model.eval(), (torch.zeros(1, 3, H, W),)); "
    "torch.export.save(ep, 'model.pt2')"
)


@dataclass
class Checkpoint:
    framework: str  # "keras" or "torch"
    model: Any
    input_hw: tuple[int, int] | None  # what the checkpoint itself says, if anything
    metadata: dict[str, Any] = field(default_factory=dict)  # edgecv_meta.json carried by the checkpoint
    # Called once the input size is settled, with one calibration input (NHWC float): fixes the model for
    # that size and checks it (the YOLO export heads are compared with the stock decode here).
    prepare: Callable[[tuple[int, int], np.ndarray], None] | None = None
    # The output's known range (the YOLO export heads: [0, 1]): int8 takes it exactly.
    output_range: tuple[float, float] | None = None
    # Switches the model to the graph int8 is made from (True) and back: for heads whose float clamp
    # int8 saturation replaces (see edgecv.convert.yolo.heads).
    int8_graph: Callable[[bool], None] | None = None


def load_checkpoint(path: Path, model_factory: str | None = None, trust: bool = False) -> Checkpoint:
    if not path.exists():
        raise ModelError(
            f"checkpoint not found: {path}", "give a .keras/.h5 file, a SavedModel folder or a .pt2"
        )
    if path.is_dir():
        if (path / "saved_model.pb").exists():
            return _load_keras(path)
        raise ModelError(
            f"{path} is a folder without saved_model.pb",
            "give a SavedModel folder, a .keras/.h5 file or a .pt2",
        )
    suffix = path.suffix.lower()
    if suffix in KERAS_SUFFIXES:
        return _load_keras(path)
    if suffix in TORCH_SUFFIXES:
        return _load_torch(path, model_factory, trust)
    raise ModelError(
        f"unknown checkpoint type {suffix or '(no suffix)'!r}: {path}",
        "edgecv convert reads .keras, .h5, SavedModel folders, .pt2 (torch.export) and state_dict files",
    )


# -- Keras -----------------------------------------------------------------------------------------------


def _load_keras(path: Path) -> Checkpoint:
    try:
        import keras
    except ImportError:
        raise ModelError(
            "converting Keras checkpoints needs TensorFlow", "pip install 'edgecv[convert]'"
        ) from None
    try:
        if path.is_dir():
            # Keras 3 no longer loads SavedModel folders as models; TFSMLayer wraps one for inference.
            layer = keras.layers.TFSMLayer(str(path), call_endpoint="serving_default")
            model = _wrap_saved_model(layer)
        else:
            # compile=False: custom losses and metrics are common and are not needed to run the model.
            model = keras.models.load_model(str(path), compile=False, safe_mode=False)
    except Exception as exc:  # Keras raises many types; the message is what the user can act on
        raise ModelError(
            f"Keras cannot load {path}: {_first_line(exc)}",
            "custom layers must be importable (registered with keras.saving.register_keras_serializable)",
        ) from None
    return Checkpoint("keras", model, _keras_input_hw(model), _zip_metadata(path) if path.is_file() else {})


def _wrap_saved_model(layer: Any) -> Any:
    import keras

    signature = layer._endpoint_signatures if hasattr(layer, "_endpoint_signatures") else None
    shape = None
    if signature:
        spec = next(iter(signature.values()))
        shape = tuple(spec.shape[1:])
    if shape is None or None in shape:
        raise ModelError(
            "the SavedModel's serving signature has no fixed input shape",
            "re-save it from Keras with a fixed input, e.g. keras.Input((320, 320, 3)), as .keras",
        )
    inputs = keras.Input(shape)
    outputs = layer(inputs)
    if isinstance(outputs, dict):
        outputs = list(outputs.values())
    return keras.Model(inputs, outputs)


def _keras_input_hw(model: Any) -> tuple[int, int] | None:
    inputs = model.inputs
    if len(inputs) != 1:
        raise ModelError(
            f"the Keras model has {len(inputs)} inputs", "edgecv converts single-image detectors: one input"
        )
    shape = tuple(inputs[0].shape)
    if len(shape) != 4 or shape[-1] != 3:
        raise ModelError(
            f"the Keras model's input is {shape}, not [batch, H, W, 3]",
            "edgecv runs channels-last RGB/BGR images; build the model with keras.Input((H, W, 3))",
        )
    if shape[1] is None or shape[2] is None:
        return None
    return (int(shape[1]), int(shape[2]))


# -- PyTorch ---------------------------------------------------------------------------------------------


def _load_torch(path: Path, model_factory: str | None, trust: bool = False) -> Checkpoint:
    try:
        import torch
    except ImportError:
        raise ModelError(
            "converting PyTorch checkpoints needs torch", "pip install 'edgecv[convert]'"
        ) from None
    if _is_torchscript(path):
        raise ModelError(f"{path} is a TorchScript archive, which torch.export cannot read", EXPORT_HINT)
    if path.suffix.lower() == ".pt2":
        extra = {META_MEMBER: ""}
        try:
            program = torch.export.load(str(path), extra_files=extra)
        except Exception as exc:
            raise ModelError(f"torch.export cannot load {path}: {_first_line(exc)}", EXPORT_HINT) from None
        # Not .eval(): an ExportedProgram's module refuses train/eval switches; it was traced in eval mode.
        module = program.module()
        metadata = json.loads(extra[META_MEMBER]) if extra[META_MEMBER] else {}
        return Checkpoint("torch", module, _example_hw(program), metadata)
    from . import pickle_scan

    scanned = pickle_scan.scan(path)
    if scanned is not None and scanned.kind in (pickle_scan.ULTRALYTICS, pickle_scan.YOLOV5):
        return _load_yolo(path, scanned, trust)
    if scanned is not None and scanned.kind == pickle_scan.MODULE:
        return _load_module(path, scanned, trust)
    if model_factory is None:
        what = (
            "a Lightning checkpoint (weights)"
            if scanned and scanned.kind == pickle_scan.LIGHTNING
            else "weights (a state_dict)"
        )
        raise ModelError(
            f"{path} holds {what}, not a model",
            f"pass --model-factory module:callable that builds the model, or {EXPORT_HINT}",
        )
    module = build_from_factory(model_factory)
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelError(f"torch cannot load {path} as weights: {_first_line(exc)}", EXPORT_HINT) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]  # Lightning-style checkpoints nest the weights
    if not isinstance(state, dict):
        raise ModelError(f"{path} does not hold a state_dict (found {type(state).__name__})", EXPORT_HINT)
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        raise ModelError(
            f"the weights in {path} do not fit the model from {model_factory}: {_first_line(exc)}",
            "the factory must build the same architecture the weights were trained with",
        ) from None
    return Checkpoint("torch", module.eval(), None, {})


def _load_yolo(path: Path, scanned: Any, trust: bool) -> Checkpoint:
    from .yolo.load import load_yolo

    loaded = load_yolo(path, scanned, trust)
    model = loaded.model

    def prepare(input_hw: tuple[int, int], sample: np.ndarray) -> None:
        import torch

        model.prepare(input_hw)
        error = model.verify(torch.from_numpy(np.ascontiguousarray(sample.transpose(0, 3, 1, 2))))
        log.info("export head matches the stock %s decode (largest difference %.2g)", loaded.family, error)

    metadata = {"names": loaded.names, "family": loaded.family}
    log.info(
        "%s: %s checkpoint, %d classes, read into edgecv's modules (no checkpoint code run)",
        path.name,
        {"yolov5": "YOLOv5", "yolov8": "Ultralytics"}[loaded.family],
        len(loaded.names),
    )

    def int8_graph(on: bool) -> None:
        model.head().__dict__["clamp_boxes"] = not on  # a plain flag, read by the head's forward

    return Checkpoint("torch", model, loaded.input_hw, metadata, prepare, UNIT_RANGE, int8_graph)


def _load_module(path: Path, scanned: Any, trust: bool) -> Checkpoint:
    """A pickled ``torch.nn.Module`` of unknown code: refused, or with ``--trust-checkpoint`` unpickled."""
    import torch

    foreign = scanned.modules_named(("",))
    foreign = [
        n for n in foreign if not n.startswith(("torch.", "collections.", "builtins.", "__builtin__."))
    ]
    if not trust:
        raise ModelError(
            f"{path} is a pickled model whose classes edgecv does not know: {', '.join(foreign)}",
            "unpickling it would run that code: pass --trust-checkpoint if you trust the file and the code is "
            f"importable, or {EXPORT_HINT}",
        )
    log.warning("--trust-checkpoint: unpickling %s runs code from %s", path, ", ".join(foreign))
    try:
        content = torch.load(str(path), map_location="cpu", weights_only=False)
    except Exception as exc:
        raise ModelError(
            f"cannot unpickle {path}: {_first_line(exc)}", "the model's code must be importable"
        ) from None
    module = content.get("model") if isinstance(content, dict) else content
    if not isinstance(module, torch.nn.Module):
        raise ModelError(f"{path} holds no torch.nn.Module (found {type(module).__name__})", EXPORT_HINT)
    return Checkpoint("torch", module.float().eval(), None, {})


def build_from_factory(spec: str) -> Any:
    """``package.module:callable`` (the current folder is importable) → a fresh ``torch.nn.Module``."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ConfigError(
            f"--model-factory {spec!r} is not module:callable", "e.g. mypackage.models:build_detector"
        )
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"--model-factory {spec}: {_first_line(exc)}", "check the module is importable"
        ) from None
    return factory()


def _is_torchscript(path: Path) -> bool:
    # TorchScript archives are zips with a constants.pkl and code/ tree; state_dicts have neither.
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False
    return any(n.endswith("/constants.pkl") or n == "constants.pkl" for n in names)


def _example_hw(program: Any) -> tuple[int, int] | None:
    try:
        example = program.example_inputs[0][0]
        if example.ndim == 4 and example.shape[1] == 3:
            return (int(example.shape[2]), int(example.shape[3]))
    except (AttributeError, IndexError, TypeError):
        pass
    return None


def _zip_metadata(path: Path) -> dict[str, Any]:
    """``.keras`` files are zips: an ``edgecv_meta.json`` member, if someone put one there, is honoured."""
    try:
        with zipfile.ZipFile(path) as archive:
            if META_MEMBER in archive.namelist():
                return dict(json.loads(archive.read(META_MEMBER)))
    except (zipfile.BadZipFile, OSError, ValueError):
        pass
    return {}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
