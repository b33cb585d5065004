"""uint8 inputs and outputs for a full-int8 ``.tflite``: a QUANTIZE op at each edge, as TensorFlow's own
converter adds for ``inference_input_type=tf.uint8``.

ai-edge-quantizer only writes int8 activations (the TFLite int8 kernels need them), so a uint8 interface is
an edge conversion: the input becomes uint8 with the same scale and zero point + 128, followed by a QUANTIZE
op to int8, which is exact (``q = u - 128``); the output gets the mirror op. The Edge TPU runs QUANTIZE.
The flatbuffer object trees (``ModelT``) are generated code without type hints, hence ``Any``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ModelError

UINT8_SHIFT = 128  # uint8 zero point = int8 zero point + 128 at the same scale


def uint8_io(model: bytes) -> bytes:
    """The model with uint8 input and output; its int8 graph unchanged between the two new QUANTIZE ops."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    tree = schema.ModelT.InitFromPackedBuf(model, 0)
    _inline_buffers(tree, model)
    graph = tree.subgraphs[0]
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise ModelError(
            f"--io uint8 needs one input and one output, the model has {len(graph.inputs)} and "
            f"{len(graph.outputs)}",
            "use --io int8",
        )
    quantize = _opcode(tree, schema.BuiltinOperator.QUANTIZE)
    old_in, old_out = int(graph.inputs[0]), int(graph.outputs[0])
    new_in = _uint8_twin(graph, old_in, "input")
    new_out = _uint8_twin(graph, old_out, "output")
    graph.operators.insert(0, _op(schema, quantize, new_in, old_in))
    graph.operators.append(_op(schema, quantize, old_out, new_out))
    graph.inputs, graph.outputs = [new_in], [new_out]
    for signature in tree.signatureDefs or []:
        for tensor_map in signature.inputs or []:
            if tensor_map.tensorIndex == old_in:
                tensor_map.tensorIndex = new_in
        for tensor_map in signature.outputs or []:
            if tensor_map.tensorIndex == old_out:
                tensor_map.tensorIndex = new_out
    builder = flatbuffers.Builder(len(model) + 1024)
    builder.Finish(tree.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _inline_buffers(tree: Any, model: bytes) -> None:
    """Buffers stored after the flatbuffer (offset/size, as ai-edge-quantizer writes them) moved inline:
    re-packing the tree would otherwise point them at the wrong bytes."""
    for buffer in tree.buffers or []:
        if buffer.offset > 1:
            buffer.data = np.frombuffer(model, np.uint8, count=buffer.size, offset=buffer.offset)
            buffer.offset = 0
            buffer.size = 0


def _opcode(tree: Any, builtin: int) -> int:
    from ai_edge_litert import schema_py_generated as schema

    codes = tree.operatorCodes
    for k, code in enumerate(codes):
        if max(code.builtinCode, code.deprecatedBuiltinCode) == builtin:
            return k
    code = schema.OperatorCodeT()
    code.builtinCode = builtin
    code.deprecatedBuiltinCode = min(builtin, schema.BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES)
    code.version = 1
    codes.append(code)
    return len(codes) - 1


def _uint8_twin(graph: Any, index: int, role: str) -> int:
    """A uint8 tensor shaped and scaled like int8 tensor ``index``; the original is renamed ``…_int8``."""
    import copy

    from ai_edge_litert import schema_py_generated as schema

    tensors = graph.tensors
    original = tensors[index]
    if original.type != schema.TensorType.INT8 or original.quantization is None:
        raise ModelError(f"--io uint8: the model's {role} is not an int8 quantized tensor", "use --io int8")
    twin = copy.deepcopy(original)
    twin.type = schema.TensorType.UINT8
    twin.buffer = 0  # by convention the empty buffer: activations hold no data
    twin.quantization.zeroPoint = [int(z) + UINT8_SHIFT for z in original.quantization.zeroPoint]
    original.name = (original.name or b"") + b"_int8"
    tensors.append(twin)
    return len(tensors) - 1


def _op(schema: Any, opcode: int, source: int, target: int) -> Any:
    op = schema.OperatorT()
    op.opcodeIndex = opcode
    op.inputs = [source]
    op.outputs = [target]
    return op
