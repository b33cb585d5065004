"""Loading a trained checkpoint into memory, whichever framework wrote it.

Supported: Keras ``.keras`` / ``.h5`` / SavedModel folders; PyTorch ``torch.export`` programs (``.pt2``) and
``state_dict`` files rebuilt through ``--model-factory module:callable``. TorchScript is refused: it cannot
be re-exported to the graph form the TFLite converter reads, and guessing an architecture from it would
hide mistakes.
"""

from __future__ import annotations

import importlib
import json
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, ModelError

META_MEMBER = "edgecv_meta.json"  # same name as inside our .tflite files: one vocabulary
KERAS_SUFFIXES = {".keras", ".h5", ".hdf5"}
TORCH_SUFFIXES = {".pt2", ".pt", ".pth", ".bin", ".ckpt"}
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


def load_checkpoint(path: Path, model_factory: str | None = None) -> Checkpoint:
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
        return _load_torch(path, model_factory)
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


def _load_torch(path: Path, model_factory: str | None) -> Checkpoint:
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
    if model_factory is None:
        raise ModelError(
            f"{path} holds weights (a state_dict), not a model",
            f"pass --model-factory module:callable that builds the model, or {EXPORT_HINT}",
        )
    module = build_from_factory(model_factory)
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelError(f"torch cannot load {path}: {_first_line(exc)}", EXPORT_HINT) from None
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
