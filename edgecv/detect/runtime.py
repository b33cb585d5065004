"""Loading a ``.tflite`` model into whichever TFLite runtime is installed, optionally on an Edge TPU."""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ModelError, RuntimeUnavailableError

EDGETPU_LIBRARY = "libedgetpu.so.1"
TFLITE_IDENTIFIER = b"TFL3"


@dataclass(frozen=True)
class Runtime:
    name: str
    interpreter_class: Any
    load_delegate: Any


def import_runtime() -> Runtime:
    """``ai-edge-litert`` first (maintained), then ``tflite-runtime`` (32-bit Pi OS), then TensorFlow."""
    try:
        from ai_edge_litert import interpreter as litert

        return Runtime("ai-edge-litert", litert.Interpreter, litert.load_delegate)
    except ImportError:
        pass
    try:
        from tflite_runtime import interpreter as tflite_runtime

        return Runtime("tflite-runtime", tflite_runtime.Interpreter, tflite_runtime.load_delegate)
    except ImportError:
        pass
    try:
        import tensorflow as tf

        return Runtime("tensorflow", tf.lite.Interpreter, tf.lite.experimental.load_delegate)
    except ImportError:
        pass
    raise RuntimeUnavailableError(
        "no TFLite runtime is installed",
        "pip install ai-edge-litert (64-bit) or tflite-runtime (32-bit Raspberry Pi OS)",
    )


def check_model_file(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise ModelError(
            f"model file not found: {path}", "set model.path or pass --model with a .tflite file"
        )
    if path.is_dir():
        raise ModelError(
            f"model path is a directory: {path}", "point model.path at the .tflite file inside it"
        )
    try:
        with path.open("rb") as handle:
            header = handle.read(8)
    except OSError as exc:
        raise ModelError(f"cannot read model file {path}: {exc.strerror}") from None
    if len(header) < 8 or header[4:8] != TFLITE_IDENTIFIER:
        raise ModelError(
            f"{path} is not a TFLite model (no 'TFL3' flatbuffer identifier)",
            "export the model to .tflite, or convert a checkpoint with 'edgecv convert'",
        )
    return path


def default_threads() -> int:
    """All cores but one: capture and post-processing run on that one while the interpreter works."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores - 1)


def load_interpreter(path: str | Path, threads: int | None = None, edgetpu: str | None = None) -> Any:
    """Load and allocate an interpreter.

    ``edgetpu`` is ``None`` for the CPU, or an Edge TPU device spec: ``"usb"``, ``"pci"``, ``"usb:0"``,
    ``"pci:1"`` or ``""`` for the first device found.
    """
    path = check_model_file(path)
    runtime = import_runtime()
    delegates = []
    if edgetpu is not None:
        options = {"device": edgetpu} if edgetpu else {}
        try:
            # Probe the library first: a failed load_delegate leaves a half-built Delegate whose
            # destructor prints a traceback of its own.
            ctypes.CDLL(EDGETPU_LIBRARY)
            delegates.append(runtime.load_delegate(EDGETPU_LIBRARY, options))
        except (ValueError, OSError, RuntimeError) as exc:
            raise RuntimeUnavailableError(
                f"cannot load the Edge TPU delegate {EDGETPU_LIBRARY} for device {edgetpu or 'any'!r}: {exc}",
                "install libedgetpu1-std from Coral's apt repository, plug in the accelerator, "
                "or set model.edgetpu to false to run on the CPU",
            ) from None
    kwargs: dict[str, Any] = {"model_path": str(path), "num_threads": threads or default_threads()}
    if delegates:
        kwargs["experimental_delegates"] = delegates
    try:
        interpreter = runtime.interpreter_class(**kwargs)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        hint = "the file may be truncated or made for a newer runtime; re-export or re-download it"
        if "edgetpu-custom-op" in str(exc).lower():
            hint = (
                "this model is compiled for the Edge TPU: set model.edgetpu to true, or use the CPU model"
                if edgetpu is None
                else "recompile the model with an edgetpu_compiler matching the installed libedgetpu"
            )
        raise ModelError(f"{runtime.name} cannot load {path}: {first_line}", hint) from None
    return interpreter
