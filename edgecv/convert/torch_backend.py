"""PyTorch → TFLite: ``litert-torch`` for the float graph, ``ai-edge-quantizer`` for full int8.

PT2E quantization inside litert-torch leaves post-head ops (sigmoid, concat) in float; ai-edge-quantizer's
static int8 recipe quantizes the converted graph whole, inputs and outputs included. Activation ranges are
chosen here (:mod:`.ranges`) from every calibration image's extremes, the lower ends of sigmoid and SiLU
inputs by the error they cause (:mod:`.tails`), and the input's range is set to what the pixels can be, so
its scale is exactly 1/255.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError
from . import layers, ranges, tails, tflite_io
from .graph import Graph

log = logging.getLogger(__name__)

# ops the TFLite int8 path cannot run, and what to write instead (found in seconds by preflight()).
UNSUPPORTED_OPS = {
    "aten.pow.Tensor_Scalar": "replace x ** 2 with x * x (pow has no int8 TFLite kernel)",
    "aten.pow.Tensor_Tensor": "replace x ** y with an explicit product or exp/log (pow has no int8 kernel)",
    "aten.pow.Scalar": "replace c ** x with torch.exp(x * math.log(c)) (pow has no int8 kernel)",
}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _nchw(sample: np.ndarray) -> Any:
    import torch

    return torch.from_numpy(np.ascontiguousarray(sample.transpose(0, 3, 1, 2)))


def preflight(
    module: Any, input_hw: tuple[int, int], sample: np.ndarray, int16_layers: Sequence[str] = ()
) -> np.ndarray:
    """Trace once and reject what would fail or mislead after a full conversion; returns the float output.

    Checks, in seconds: one output tensor (the decoders read single-tensor heads), no op without an int8
    kernel (``pow``), boxes normalised to the input rather than in pixels, ``int16_layers`` that exist.
    """
    import torch

    x = _nchw(sample)
    try:
        program = torch.export.export(module, (x,))
    except Exception as exc:
        height, width = input_hw
        raise ModelError(
            f"torch.export cannot trace the model at input {height}x{width}: {_first_line(exc)}",
            "check --input-size matches what the model was trained on and that it exports with torch.export",
        ) from None
    for node in program.graph.nodes:
        target = str(node.target) if node.op == "call_function" else ""
        if target in UNSUPPORTED_OPS:
            where = _where(node)
            raise ModelError(f"the model computes {target.split('.')[1]}{where}", UNSUPPORTED_OPS[target])
    if int16_layers:
        layers.check_names(int16_layers, _module_paths(program))
    with torch.no_grad():
        out = program.module()(x)
    tensors = [out] if isinstance(out, torch.Tensor) else list(_flatten(out))
    if len(tensors) != 1:
        shapes = ", ".join(str(list(t.shape)) for t in tensors)
        raise ModelError(
            f"the model returns {len(tensors)} outputs ({shapes}); edgecv converts single-tensor detectors",
            "return one tensor [1, 4 + classes, N] (or [1, N, 5 + classes]): concatenate the levels and decode "
            "the boxes inside the model (YOLOv5/Ultralytics .pt checkpoints get such a head automatically)",
        )
    output = tensors[0].detach().float().numpy()
    if output.ndim == 3:
        from ..detect.decode.yolo import float_head_box_format

        if float_head_box_format(output) == "pixels":
            raise ModelError(
                "the model outputs boxes in input pixels: one int8 scale cannot hold pixels and 0..1 scores",
                "divide the boxes by the input size inside the model (x / W, y / H), so all outputs are 0..1",
            )
    return output


def _module_paths(program: Any) -> set[str]:
    """Layer paths as litert-torch will name them (:mod:`.layers`): the last part of each module-stack entry."""
    paths: set[str] = set()
    for node in program.graph.nodes:
        stack = node.meta.get("nn_module_stack") or {}
        # The root module's entry (path "") is the wrapper's level, which the tensor names skip too.
        parts = [part for qualified, _ in stack.values() if (part := str(qualified).rsplit(".", 1)[-1])]
        paths.update(".".join(parts[: k + 1]) for k in range(len(parts)))
    return paths


def _where(node: Any) -> str:
    stack = node.meta.get("nn_module_stack") or {}
    path = list(stack.values())[-1][0] if stack else ""
    trace = (node.meta.get("stack_trace") or "").strip().splitlines()
    line = trace[-2].strip() if len(trace) >= 2 else ""
    return (f" in {path}" if path else "") + (f" ({line})" if line else "")


def _flatten(value: Any) -> Any:
    import torch

    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _flatten(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _flatten(item)


def to_float(module: Any, input_hw: tuple[int, int]) -> bytes:
    """NHWC float ``.tflite``: the model computes NCHW inside; the device feeds NHWC like any TFLite model."""
    import litert_torch
    import torch

    height, width = input_hw
    # The input is transposed inside the graph; outputs stay as the model returns them ([1, 4+C, N]).
    wrapped = litert_torch.to_channel_last_io(module, args=[0])
    # The wrapper is a new nn.Module, in training mode by default, and litert-torch warns "converted in
    # training mode" about it. The model inside is already in eval mode (an ExportedProgram's module refuses
    # .eval(), so only the wrapper's flag is cleared, not recursively).
    wrapped.training = False
    sample = (torch.zeros(1, height, width, 3),)
    try:
        edge_model = litert_torch.convert(wrapped, sample)
    except Exception as exc:
        raise ModelError(
            f"litert-torch cannot convert the model at input {height}x{width}: {_first_line(exc)}",
            "check --input-size matches what the model was trained on and that it exports with torch.export",
        ) from None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "float.tflite"
        edge_model.export(str(path))
        return path.read_bytes()


def to_int8(
    float_model: bytes,
    calibration: Sequence[np.ndarray],
    io: str,
    input_range: tuple[float, float],
    output_range: tuple[float, float] | None = None,
    method: str = ranges.DEFAULT_METHOD,
    int16_layers: Sequence[str] = (),
) -> bytes:
    """Static int8 weights (per channel) and activations for every op; ``io`` (int8 or uint8) inputs/outputs.

    ``input_range`` is what the preprocessed pixels can span (``(0 - mean) / std`` to ``(255 - mean) / std``):
    the input takes exactly that range, whatever the calibration images reached, so 0..255 map one to one.
    ``output_range`` does the same for a head whose output is known to be bounded. ``int16_layers`` (layer
    paths, :mod:`.layers`) get int16 activations: finer steps, but kernels neither XNNPACK nor the Edge TPU
    run, and a QUANTIZE op at each border with the int8 graph.
    """
    from ai_edge_quantizer import calibrator, qtyping, quantizer, recipe

    graph = Graph.from_bytes(float_model)
    engine = quantizer.Quantizer(bytearray(float_model))
    engine.load_quantization_recipe(recipe.static_wi8_ai8())
    if int16_layers:
        engine.add_static_config(
            regex=layers.scope_regex(layers.select(graph, int16_layers)),
            operation_name=qtyping.TFLOperationName.ALL_SUPPORTED,
            activation_num_bits=16,
            weight_num_bits=8,
        )
    # The quantizer's calibration shows its own progress bar (one step per op and image).
    # One thread: calibration is a few hundred small invokes, and the machine is someone's workstation.
    calib = calibrator.Calibrator(bytes(float_model), num_threads=1, qsv_update_func=ranges.accumulate)
    # The recipe says which tensors the calibration measures (private, but the only way to hand it over).
    recipe_manager = engine._recipe_manager
    calib.calibrate({graph.signature: [{graph.input_argument: t} for t in calibration]}, recipe_manager)
    qsvs = ranges.finalize(calib.get_model_qsvs(), method)
    tails.tighten(qsvs, graph, float_model, calibration)
    ranges.pin(qsvs, graph.input, input_range)
    concats = graph.concat_inputs()
    for concat_output, inputs in concats.items():
        # Concatenated sigmoid / softmax outputs keep those ops' fixed int8 range (scale 1/256, zero point
        # -128): the concat then copies bytes instead of re-quantizing (rounding) every level once more.
        if inputs and all(kind in FIXED_RANGE_OPS for kind, _ in inputs):
            ranges.pin(qsvs, concat_output, FIXED_RANGE)
    if output_range is not None:
        ranges.pin(qsvs, graph.output, output_range)
        # Producers of a bounded output's final concat write straight in the output's scale: one rounding,
        # and int8 saturation at the range's ends is the clamp.
        for _, name in concats.get(graph.output, []):
            if name in qsvs:
                ranges.pin(qsvs, name, output_range)
    result = engine.quantize(qsvs, enable_progress_report=False)
    if result.quantized_model is None:
        raise ModelError(
            "ai-edge-quantizer produced no model", "re-run with fewer, readable calibration images"
        )
    quantized = bytes(result.quantized_model)
    return tflite_io.uint8_io(quantized) if io == "uint8" else quantized


FIXED_RANGE_OPS = {"LOGISTIC", "SOFTMAX"}
FIXED_RANGE = (0.0, 255.0 / 256.0)  # int8 LOGISTIC / SOFTMAX outputs: scale 1/256, zero point -128
