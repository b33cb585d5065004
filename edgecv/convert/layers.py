"""Layer names: the checkpoint's module path of every op, read off the converted graph's tensor names.

litert-torch names each tensor after the module stack that computed it, one ``<module class>_<attribute>``
per level below the wrapper it adds (``…YoloModel_wrapped/…C3_8/…Sequential_m/…Bottleneck_0/…Conv2d_conv;2``),
so ``8.m.0.cv1.conv`` is the path of that convolution, ``8`` the whole YOLO layer 8 (``model.8`` in the
checkpoint). Keras names tensors ``model/layer/op``: the layer is the second part. The drift report lists
layers by these names, and ``--int16-activations`` takes them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..errors import ConfigError
from .graph import Graph, Op

WRAPPER_SUFFIX = "_wrapped"  # litert_torch.to_channel_last_io keeps the user's module as ``wrapped``


def layer_path(tensor_name: str) -> str | None:
    """The module path that computed ``tensor_name``; ``None`` for constants and graph inputs/outputs."""
    location = tensor_name.split(";")[0]  # fused ops carry several locations; the first is the op's own
    parts = location.split("/")
    for k, part in enumerate(parts):
        if part.endswith(WRAPPER_SUFFIX):
            attributes = [p.rsplit(".", 1)[-1].partition("_")[2] for p in parts[k + 1 :]]
            return ".".join(a for a in attributes if a) or None
    return parts[1] if len(parts) > 1 else None


def op_layer(op: Op) -> str | None:
    return next((path for path in map(layer_path, op.outputs) if path), None)


def top_level(path: str) -> str:
    return path.split(".")[0]


def inside(path: str, layer: str) -> bool:
    return path == layer or path.startswith(layer + ".")


def check_names(names: Iterable[str], paths: Iterable[str]) -> None:
    """Every name is a layer path or a prefix of one; else an error listing the top-level layers."""
    known = set(paths)
    for name in names:
        if not any(inside(path, name) for path in known):
            tops = sorted({top_level(p) for p in known}, key=_natural)
            raise ConfigError(
                f"--int16-activations: no layer named {name!r} in this model",
                f"use layer paths as the drift report lists them, e.g. {', '.join(tops[:12])}",
            )


def select(graph: Graph, names: Iterable[str]) -> list[Op]:
    """The ops inside the named layers; a name that matches nothing is an error listing what exists."""
    names = list(names)
    paths = {op.index: op_layer(op) for op in graph.ops}
    check_names(names, (p for p in paths.values() if p))
    return [
        op
        for op in graph.ops
        if (path := paths[op.index]) is not None and any(inside(path, name) for name in names)
    ]


def scope_regex(ops: Iterable[Op]) -> str:
    """A regex matching exactly these ops' scopes as ai-edge-quantizer forms them (output names + ';')."""
    scopes = sorted({";".join(op.outputs) + ";" for op in ops})
    return "^(?:" + "|".join(re.escape(s) for s in scopes) + ")$"


def parse_layers(text: str) -> list[str]:
    """``--int16-activations 0,1,24.m.0`` → ``["0", "1", "24.m.0"]``."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise ConfigError(
            f"--int16-activations {text!r} names no layer", "give layer paths separated by commas, e.g. 0,1,2"
        )
    return names


def _natural(text: str) -> tuple[int, str]:
    return (int(text), "") if text.isdigit() else (1 << 30, text)
