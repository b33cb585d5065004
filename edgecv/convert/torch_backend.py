"""PyTorch → TFLite: ``litert-torch`` for the float graph, ``ai-edge-quantizer`` for full int8.

PT2E quantization inside litert-torch leaves post-head ops (sigmoid, concat) in float; ai-edge-quantizer's
static int8 recipe quantizes the converted graph whole, inputs and outputs included.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, ModelError

log = logging.getLogger(__name__)


def to_float(module: Any, input_hw: tuple[int, int]) -> bytes:
    """NHWC float ``.tflite``: the model computes NCHW inside; the device feeds NHWC like any TFLite model."""
    import litert_torch
    import torch

    height, width = input_hw
    # The input is transposed inside the graph; outputs stay as the model returns them ([1, 4+C, N]).
    wrapped = litert_torch.to_channel_last_io(module, args=[0])
    sample = (torch.zeros(1, height, width, 3),)
    try:
        edge_model = litert_torch.convert(wrapped, sample)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise ModelError(
            f"litert-torch cannot convert the model at input {height}x{width}: {first}",
            "check --input-size matches what the model was trained on and that it exports with torch.export",
        ) from None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "float.tflite"
        edge_model.export(str(path))
        return path.read_bytes()


def to_int8(float_model: bytes, calibration: Sequence[np.ndarray], io: str) -> bytes:
    """Static int8 weights and activations for every op; the quantizer emits int8 inputs and outputs."""
    if io != "int8":
        raise ConfigError(
            "--io uint8 is available for Keras checkpoints only",
            "use --io int8 (the default): edgecv and the Edge TPU run int8 models alike",
        )
    from ai_edge_litert.interpreter import Interpreter
    from ai_edge_quantizer import quantizer, recipe

    interpreter = Interpreter(model_content=float_model)
    signatures = interpreter.get_signature_list()
    signature = next(iter(signatures))
    input_name = signatures[signature]["inputs"][0]
    engine = quantizer.Quantizer(bytearray(float_model))
    engine.load_quantization_recipe(recipe.static_wi8_ai8())
    data = {signature: [{input_name: tensor} for tensor in calibration]}
    # One thread: calibration is a few hundred small invokes, and the machine is someone's workstation.
    ranges = engine.calibrate(data, num_threads=1)
    result = engine.quantize(ranges, enable_progress_report=False)
    if result.quantized_model is None:
        raise ModelError(
            "ai-edge-quantizer produced no model", "re-run with fewer, readable calibration images"
        )
    return bytes(result.quantized_model)
