"""Where the int8 error comes from: float and int8 intermediate tensors compared layer by layer.

Both models run on the held-out images with every intermediate tensor kept; tensors are paired by name (the
quantizer keeps the float graph's names). Each row gives, at one tensor, the cosine and the relative RMS error
of int8 against float (cumulative: everything upstream included) and the rounding noise its own int8 step adds
(step / √12 over the float values' spread). Rows:

* ``layer``: the output of each top-level layer of the checkpoint (YOLO's ``model.0`` … ``model.24``), so
  the growth of the error along the network shows which layers add it;
* ``head``: every computing op of the last layer (the detection head) from its final convolutions on
  (sigmoids, softmax, decode, concatenations), where a step decides scores and box coordinates; the
  Conv-SiLU blocks before them count as one row each, at their output;
* ``requantize``: every tensor the int8 graph rounds a second time (a QUANTIZE op before a concatenation
  whose inputs had other scales).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .graph import Graph, Op
from .layers import op_layer, top_level
from .tails import flattened

MAX_IMAGES = (
    8  # what callers pass: per-layer figures settle quickly, each image is two runs keeping all tensors
)
HEAD_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D", "LOGISTIC", "SOFTMAX", "MUL", "ADD", "CONCATENATION"}


@dataclass
class LayerDrift:
    name: str  # layer path (edgecv.convert.layers); head and requantize rows add the op and its float index
    kind: str  # "layer", "head" or "requantize"
    op: str
    cosine: float
    rel_error: float  # RMS(int8 - float) / RMS(float)
    rounding: float  # this tensor's own int8 step / sqrt(12) / std(float): the noise it adds


def _rows(float_graph: Graph, int8_graph: Graph) -> list[tuple[str, str, Op, str]]:
    """(name, kind, op, tensor) for every row, in graph order."""
    layered = [(op, path) for op in float_graph.ops if (path := op_layer(op)) is not None]
    if not layered:
        return []
    head = top_level(layered[-1][1])
    last_of: dict[str, tuple[Op, str]] = {}
    for op, path in layered:
        if top_level(path) != head:
            last_of[top_level(path)] = (op, path)
    rows = [(top, "layer", op, op.outputs[0]) for top, (op, _) in last_of.items()]
    silu = {name for name, activation in flattened(float_graph).items() if activation == "silu"}
    rows += [
        (f"{path} {op.kind} #{op.index}", "head", op, op.outputs[0])
        for op, path in layered
        if top_level(path) == head and op.kind in HEAD_OPS and not _in_silu_block(op, silu)
    ]
    requantized = {op.inputs[0] for op in int8_graph.ops if op.kind == "QUANTIZE" and op.inputs}
    rows += [
        (f"{op_layer(op) or '-'} {op.kind} #{op.index}", "requantize", op, name)
        for op in float_graph.ops
        for name in op.outputs
        if name in requantized
    ]
    order = {op.index: k for k, op in enumerate(float_graph.ops)}
    return sorted(rows, key=lambda row: order[row[2].index])


def _in_silu_block(op: Op, silu_inputs: set[str]) -> bool:
    """Conv → sigmoid → MUL of a Conv-BN-SiLU block inside the head: the block's output row is enough."""
    if op.kind == "CONV_2D":
        return op.outputs[0] in silu_inputs
    return op.kind in ("LOGISTIC", "MUL") and any(name in silu_inputs for name in op.inputs)


def measure_layers(float_model: bytes, int8_model: bytes, inputs: Sequence[np.ndarray]) -> list[LayerDrift]:
    """Per-layer drift of ``int8_model`` against ``float_model`` (the graph it was quantized from)."""
    from ai_edge_litert.interpreter import Interpreter
    from tqdm import tqdm

    models = [
        Interpreter(model_content=m, num_threads=1, experimental_preserve_all_tensors=True)
        for m in (float_model, int8_model)
    ]
    graphs = [Graph(m) for m in models]
    rows = _rows(*graphs)
    details = [{str(d["name"]): d for d in m.get_tensor_details()} for m in models]
    rows = [row for row in rows if row[3] in details[1] and row[3] in details[0]]
    if not rows or not inputs:
        return []
    for model in models:
        model.allocate_tensors()
    sums = np.zeros((len(rows), 5))  # Σab, Σaa, Σbb, Σ(a-b)², Σa for a = float, b = int8
    count = np.zeros(len(rows))
    for tensor in tqdm(inputs, desc="layer drift", unit="img", leave=False):
        values = [
            _run(model, d, tensor, [row[3] for row in rows]) for model, d in zip(models, details, strict=True)
        ]
        for k, (a, b) in enumerate(zip(*values, strict=True)):
            sums[k] += (a @ b, a @ a, b @ b, ((a - b) ** 2).sum(), a.sum())
            count[k] += a.size
    result = []
    for k, (name, kind, op, tensor_name) in enumerate(rows):
        ab, aa, bb, err, total = sums[k]
        scale = float(details[1][tensor_name]["quantization"][0])
        variance = max(aa / count[k] - (total / count[k]) ** 2, 0.0)
        result.append(
            LayerDrift(
                name=name,
                kind=kind,
                op=op.kind,
                cosine=float(ab / math.sqrt(aa * bb)) if aa > 0 and bb > 0 else float(aa == bb),
                rel_error=float(math.sqrt(err / aa)) if aa > 0 else 0.0,
                rounding=float(scale / math.sqrt(12 * variance)) if variance > 0 else 0.0,
            )
        )
    return result


def _run(model: Any, details: dict[str, Any], tensor: np.ndarray, names: list[str]) -> list[np.ndarray]:
    """Invoke on one preprocessed float input; the named tensors as float64 (dequantized)."""
    source = model.get_input_details()[0]
    x = tensor
    if np.dtype(source["dtype"]) != np.float32:
        scale, zero_point = source["quantization"]
        info = np.iinfo(source["dtype"])
        x = np.clip(np.round(tensor / scale + zero_point), info.min, info.max).astype(source["dtype"])
    model.set_tensor(source["index"], x)
    model.invoke()
    out = []
    for name in names:
        d = details[name]
        value = model.get_tensor(d["index"]).astype(np.float64).ravel()
        if np.dtype(d["dtype"]).kind in "iu":
            scale, zero_point = d["quantization"]
            value = (value - zero_point) * scale
        out.append(value)
    return out


GROWTH_ROWS = 5  # layer rows the table shows: where the cumulative error grows most


def table_lines(rows: Sequence[LayerDrift]) -> list[str]:
    """The rows worth reading in a terminal: the layers where the error grows most, every head and requantize
    row (the JSON report has them all)."""
    if not rows:
        return []
    layer_rows = [r for r in rows if r.kind == "layer"]
    growth = {
        id(r): r.rel_error - (layer_rows[k - 1].rel_error if k else 0.0) for k, r in enumerate(layer_rows)
    }
    largest = set(sorted(growth, key=lambda key: growth[key], reverse=True)[:GROWTH_ROWS])
    shown = [r for r in rows if r.kind != "layer" or id(r) in largest]
    width = max(len(r.name) for r in shown)
    lines = [
        "where the error comes from (int8 vs float tensors; rel error: cumulative, rounding: this step's own)",
        f"  {'kind':<10}  {'layer':<{width}}  {'cosine':>8}  {'rel error':>9}  {'rounding':>8}",
    ]
    lines += [
        f"  {r.kind:<10}  {r.name:<{width}}  {r.cosine:>8.5f}  {r.rel_error:>9.4f}  {r.rounding:>8.4f}"
        for r in shown
    ]
    return lines
