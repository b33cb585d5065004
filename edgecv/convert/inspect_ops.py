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
