"""Which ops of a ``.tflite`` compute in float: the check behind calling a model "int8"."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

# QUANTIZE/DEQUANTIZE only convert at the model's edges; the SSD post-process op is float by design (it
# decodes anchors) and runs on the CPU after the int8 graph in every TF Object Detection export.
ALLOWED_FLOAT_OPS = {"QUANTIZE", "DEQUANTIZE", "TFLite_Detection_PostProcess"}
FLOAT_KINDS = "f"


@dataclass(frozen=True)
class FloatOp:
    index: int
    op_name: str
    tensors: tuple[str, ...]

    def __str__(self) -> str:
        return f"#{self.index} {self.op_name} ({', '.join(self.tensors)})"


def float_ops(model_path: str | Path) -> list[FloatOp]:
    """Ops with a float input or output, other than the allowed edge conversions and post-process."""
    from ..detect.runtime import load_interpreter

    interpreter = load_interpreter(model_path, threads=1)
    tensors = {d["index"]: d for d in interpreter.get_tensor_details()}
    found = []
    for op in interpreter._get_ops_details():  # the only public-ish way to list ops; stable since TF 2.5
        name = op["op_name"]
        # XNNPACK's DELEGATE nodes repeat ops that are listed on their own as well; report the real ones.
        if name in ALLOWED_FLOAT_OPS or name == "DELEGATE":
            continue
        floats = []
        for index in [*op["inputs"], *op["outputs"]]:
            details = tensors.get(int(index))
            if details is not None and np.dtype(details["dtype"]).kind in FLOAT_KINDS:
                floats.append(f"{details['name']}:{np.dtype(details['dtype']).name}")
        if floats:
            found.append(FloatOp(int(op["index"]), name, tuple(floats)))
    return found


def io_types(model_path: str | Path) -> tuple[list[str], list[str]]:
    from ..detect.runtime import load_interpreter

    interpreter = load_interpreter(model_path, threads=1)
    return (
        [np.dtype(d["dtype"]).name for d in interpreter.get_input_details()],
        [np.dtype(d["dtype"]).name for d in interpreter.get_output_details()],
    )


# The Edge TPU compiler's supported operations, as Coral documents them ("TensorFlow models on the Edge TPU",
# supported operations), in TFLite builtin names. edgetpu_compiler maps these to the TPU (given int8 tensors
# and static shapes); anything else splits the graph and runs on the CPU from there on.
EDGETPU_OPS = frozenset(
    {
        "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "EXPAND_DIMS",
        "FULLY_CONNECTED", "L2_NORMALIZATION", "LOGISTIC", "LSTM", "MAXIMUM", "MAX_POOL_2D", "MEAN",
        "MINIMUM", "MUL", "PACK", "PAD", "PRELU", "QUANTIZE", "REDUCE_MAX", "REDUCE_MIN", "RELU", "RELU6",
        "RELU_N1_TO_1", "RESHAPE", "RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR", "RSQRT", "SLICE", "SOFTMAX",
        "SPACE_TO_DEPTH", "SPLIT", "SQUEEZE", "STRIDED_SLICE", "SUB", "SUM", "SQUARED_DIFFERENCE", "TANH",
        "TRANSPOSE", "TRANSPOSE_CONV",
    }
)  # fmt: skip
# Outside the list but harmless: a trailing DEQUANTIZE runs on the CPU after the TPU part, and XNNPACK's
# DELEGATE nodes only exist in this interpreter, not in the file.
EDGETPU_TOLERATED = frozenset({"DEQUANTIZE", "DELEGATE"})


def op_counts(model_path: str | Path) -> dict[str, int]:
    """How many ops of each kind the model has (XNNPACK's DELEGATE nodes left out)."""
    from ..detect.runtime import load_interpreter

    counts: dict[str, int] = {}
    for op in load_interpreter(model_path, threads=1)._get_ops_details():
        if op["op_name"] != "DELEGATE":
            counts[op["op_name"]] = counts.get(op["op_name"], 0) + 1
    return counts


def edgetpu_unsupported(model_path: str | Path) -> list[str]:
    """Op kinds of the model that the Edge TPU does not run (empty: the whole graph can map to the TPU).

    The TPU computes in 8 bits: an op with int16 tensors (``--int16-activations``) is listed as ``OP (int16)``.
    """
    from ..detect.runtime import load_interpreter

    interpreter = load_interpreter(model_path, threads=1)
    dtypes = {int(d["index"]): np.dtype(d["dtype"]) for d in interpreter.get_tensor_details()}
    found = set(op_counts(model_path)) - EDGETPU_OPS - EDGETPU_TOLERATED
    for op in interpreter._get_ops_details():
        indices = [int(i) for i in [*op["inputs"], *op["outputs"]] if int(i) >= 0]
        if op["op_name"] != "DELEGATE" and any(dtypes.get(i) == np.int16 for i in indices):
            found.add(f"{op['op_name']} (int16)")
    return sorted(found)
