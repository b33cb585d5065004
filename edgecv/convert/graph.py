"""The op graph of a float ``.tflite``, by tensor name: what produces and what consumes each tensor.

Tensor names are the keys ai-edge-quantizer uses for activation ranges and keeps in the int8 model, so they
are the vocabulary shared by range selection (:mod:`.ranges`, :mod:`.tails`), the per-layer drift report
(:mod:`.layer_drift`) and ``--int16-activations`` (:mod:`.layers`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Op:
    index: int
    kind: str  # TFLite builtin name: CONV_2D, LOGISTIC, CONCATENATION, ...
    inputs: tuple[str, ...]  # tensor names; constants (weights, shapes) included
    outputs: tuple[str, ...]


class Graph:
    """Ops in execution order, with producer and consumers of every tensor name."""

    def __init__(self, interpreter: Any) -> None:
        names = {int(d["index"]): str(d["name"]) for d in interpreter.get_tensor_details()}
        # _get_ops_details is the only listing of ops the Python interpreter offers (stable since TF 2.5);
        # XNNPACK's DELEGATE nodes repeat ops that are listed on their own as well.
        self.ops = [
            Op(
                int(op["index"]),
                str(op["op_name"]),
                tuple(names[int(i)] for i in op["inputs"] if int(i) >= 0),
                tuple(names[int(i)] for i in op["outputs"]),
            )
            for op in interpreter._get_ops_details()
            if op["op_name"] != "DELEGATE"
        ]
        self.producer: dict[str, Op] = {name: op for op in self.ops for name in op.outputs}
        self.consumers: dict[str, list[Op]] = {}
        for op in self.ops:
            for name in op.inputs:
                self.consumers.setdefault(name, []).append(op)
        self.input = str(interpreter.get_input_details()[0]["name"])
        self.output = str(interpreter.get_output_details()[0]["name"])
        signatures = interpreter.get_signature_list()
        # The signature and its input argument name: how ai-edge-quantizer's calibration is fed.
        self.signature = str(next(iter(signatures), ""))
        self.input_argument = str(signatures[self.signature]["inputs"][0]) if signatures else ""

    @classmethod
    def from_bytes(cls, model: bytes) -> Graph:
        from ai_edge_litert.interpreter import Interpreter

        return cls(Interpreter(model_content=model))

    def consumer_kinds(self, name: str) -> list[str]:
        return sorted(op.kind for op in self.consumers.get(name, []))

    def concat_inputs(self) -> dict[str, list[tuple[str, str]]]:
        """Each CONCATENATION output → its inputs as (producing op kind, tensor name)."""
        return {
            op.outputs[0]: [
                (self.producer[name].kind if name in self.producer else "INPUT", name) for name in op.inputs
            ]
            for op in self.ops
            if op.kind == "CONCATENATION"
        }
