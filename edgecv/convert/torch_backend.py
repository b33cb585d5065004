"""PyTorch → TFLite: ``litert-torch`` for the float graph, ``ai-edge-quantizer`` for full int8.

PT2E quantization inside litert-torch leaves post-head ops (sigmoid, concat) in float; ai-edge-quantizer's
static int8 recipe quantizes the converted graph whole, inputs and outputs included. Activation ranges are
chosen here (:mod:`.ranges`) from every calibration image's extremes, and the input's range is set to what
the pixels can be, so its scale is exactly 1/255.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, ModelError
from . import ranges

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


def preflight(module: Any, input_hw: tuple[int, int], sample: np.ndarray) -> np.ndarray:
    """Trace once and reject what would fail or mislead after a full conversion; returns the float output.

    Checks, in seconds: one output tensor (the decoders read single-tensor heads), no op without an int8
    kernel (``pow``), boxes normalised to the input rather than in pixels.
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
) -> bytes:
    """Static int8 weights (per channel) and activations for every op; int8 inputs and outputs.

    ``input_range`` is what the preprocessed pixels can span (``(0 - mean) / std`` to ``(255 - mean) / std``):
    the input takes exactly that range, whatever the calibration images reached, so 0..255 map one to one.
    ``output_range`` does the same for a head whose output is known to be bounded.
    """
    if io != "int8":
        raise ConfigError(
            "--io uint8 is available for Keras checkpoints only",
            "use --io int8 (the default): edgecv and the Edge TPU run int8 models alike",
        )
    from ai_edge_litert.interpreter import Interpreter
    from ai_edge_quantizer import calibrator, quantizer, recipe

    interpreter = Interpreter(model_content=float_model)
    signatures = interpreter.get_signature_list()
    signature = next(iter(signatures))
    input_name = signatures[signature]["inputs"][0]
    engine = quantizer.Quantizer(bytearray(float_model))
    engine.load_quantization_recipe(recipe.static_wi8_ai8())
    data = {signature: [{input_name: tensor} for tensor in calibration]}
    # One thread: calibration is a few hundred small invokes, and the machine is someone's workstation.
    calib = calibrator.Calibrator(bytes(float_model), num_threads=1, qsv_update_func=ranges.accumulate)
    calib.calibrate(data, engine._recipe_manager)
    qsvs = ranges.finalize(calib.get_model_qsvs(), method)
    io_names = _io_tensor_names(interpreter)
    ranges.pin(qsvs, io_names[0], input_range)
    graph = _graph(interpreter)
    for concat_output, inputs in graph.items():
        # Concatenated sigmoid / softmax outputs keep those ops' fixed int8 range (scale 1/256, zero point
        # -128): the concat then copies bytes instead of re-quantizing (rounding) every level once more.
        if inputs and all(kind in FIXED_RANGE_OPS for kind, _ in inputs):
            ranges.pin(qsvs, concat_output, FIXED_RANGE)
    if output_range is not None:
        ranges.pin(qsvs, io_names[1], output_range)
        # Producers of a bounded output's final concat write straight in the output's scale: one rounding,
        # and int8 saturation at the range's ends is the clamp.
        for _, name in graph.get(io_names[1], []):
            if name in qsvs:
                ranges.pin(qsvs, name, output_range)
    result = engine.quantize(qsvs, enable_progress_report=False)
    if result.quantized_model is None:
        raise ModelError(
            "ai-edge-quantizer produced no model", "re-run with fewer, readable calibration images"
        )
    return bytes(result.quantized_model)


FIXED_RANGE_OPS = {"LOGISTIC", "SOFTMAX"}
FIXED_RANGE = (0.0, 255.0 / 256.0)  # int8 LOGISTIC / SOFTMAX outputs: scale 1/256, zero point -128


def _graph(interpreter: Any) -> dict[str, list[tuple[str, str]]]:
    """Each CONCATENATION output's name → its inputs as (producing op, tensor name), in the float model."""
    tensors = {d["index"]: d["name"] for d in interpreter.get_tensor_details()}
    producer: dict[int, str] = {}
    ops = [op for op in interpreter._get_ops_details() if op["op_name"] != "DELEGATE"]
    for op in ops:
        for index in op["outputs"]:
            producer[int(index)] = op["op_name"]
    graph = {}
    for op in ops:
        if op["op_name"] == "CONCATENATION":
            inputs = [(producer.get(int(i), "INPUT"), tensors[int(i)]) for i in op["inputs"] if int(i) >= 0]
            graph[tensors[int(op["outputs"][0])]] = inputs
    return graph


def _io_tensor_names(interpreter: Any) -> tuple[str, str]:
    """The float model's input and output tensor names (the keys of the calibration ranges)."""
    return (
        str(interpreter.get_input_details()[0]["name"]),
        str(interpreter.get_output_details()[0]["name"]),
    )
