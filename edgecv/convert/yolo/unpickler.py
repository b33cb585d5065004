"""Loading YOLOv5 / Ultralytics ``.pt`` pickles into edgecv's own modules, running none of their code.

A pickle is a program: every global it names is imported and may be called. :class:`AllowListUnpickler`
answers ``find_class`` from a fixed table only: the YOLO block names map to edgecv's classes
(:mod:`.blocks`, :mod:`.heads`, :mod:`.model`), a short list of ``torch.nn`` layers, tensor rebuilders and
plain containers map to themselves, and a few inert records (training arguments, namespaces) map to plain
Python types. Any other name is refused; :func:`unknown_globals` finds them before unpickling starts, so
the error lists them all at once.
"""

from __future__ import annotations

import pathlib
import pickle
import types
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from torch import nn

from ...errors import ModelError
from . import blocks, heads, model

# Where the two code bases keep their modules. Ultralytics moved them over time (ultralytics.nn.modules,
# then .conv / .block / .head), so any of these prefixes with a known class name is accepted.
YOLOV5_MODULES = ("models.common", "models.yolo", "models.experimental")
ULTRALYTICS_MODULES = (
    "ultralytics.nn.modules",
    "ultralytics.nn.modules.conv",
    "ultralytics.nn.modules.block",
    "ultralytics.nn.modules.head",
    "ultralytics.nn.tasks",
)

_BLOCKS: dict[str, type[nn.Module]] = {
    "Conv": blocks.Conv,
    "DWConv": blocks.DWConv,
    "Bottleneck": blocks.Bottleneck,
    "C3": blocks.C3,
    "C3k": blocks.C3k,
    "C2f": blocks.C2f,
    "C3k2": blocks.C3k2,
    "SPPF": blocks.SPPF,
    "Concat": blocks.Concat,
    "Attention": blocks.Attention,
    "PSABlock": blocks.PSABlock,
    "C2PSA": blocks.C2PSA,
    "DFL": blocks.DFL,
}
_V5_EXTRA: dict[str, type[nn.Module]] = {
    "Detect": heads.V5Detect,
    "Model": model.YoloModel,
    "DetectionModel": model.YoloModel,
}
_ULTRALYTICS_EXTRA: dict[str, type[nn.Module]] = {
    "Detect": heads.V8Detect,
    "DetectionModel": model.YoloModel,
}

# torch.nn layers the YOLO graphs use; their own forward is torch's.
_TORCH_NN: dict[str, Any] = {
    "torch.nn.modules.conv": {"Conv2d": nn.Conv2d},
    "torch.nn.modules.batchnorm": {"BatchNorm2d": nn.BatchNorm2d},
    "torch.nn.modules.activation": {
        "SiLU": nn.SiLU,
        "ReLU": nn.ReLU,
        "ReLU6": nn.ReLU6,
        "LeakyReLU": nn.LeakyReLU,
        "Hardswish": nn.Hardswish,
        "Sigmoid": nn.Sigmoid,
    },
    "torch.nn.modules.linear": {"Identity": nn.Identity},
    "torch.nn.modules.pooling": {"MaxPool2d": nn.MaxPool2d},
    "torch.nn.modules.container": {"Sequential": nn.Sequential, "ModuleList": nn.ModuleList},
    "torch.nn.modules.upsampling": {"Upsample": blocks.Upsample},
    "torch.nn.modules.dropout": {"Dropout": nn.Dropout},
}


class Namespace(types.SimpleNamespace):
    """Stands in for ``ultralytics.utils.IterableSimpleNamespace`` (training arguments): attributes only."""


def _data_globals() -> dict[tuple[str, str], Any]:
    """Tensors, containers and records a checkpoint stores as data; all of them only build values."""
    import torch
    import torch._utils

    found: dict[tuple[str, str], Any] = {
        ("collections", "OrderedDict"): OrderedDict,
        ("builtins", "set"): set,
        ("__builtin__", "set"): set,
        ("builtins", "frozenset"): frozenset,
        ("builtins", "slice"): slice,
        ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
        ("torch._utils", "_rebuild_parameter"): torch._utils._rebuild_parameter,
        ("torch", "Size"): torch.Size,
        ("torch", "device"): torch.device,
        ("pathlib", "PosixPath"): pathlib.PurePosixPath,  # data only: never touches the file system
        ("pathlib", "WindowsPath"): pathlib.PureWindowsPath,
        ("pathlib", "PurePosixPath"): pathlib.PurePosixPath,
        ("pathlib", "PureWindowsPath"): pathlib.PureWindowsPath,
        ("ultralytics.utils", "IterableSimpleNamespace"): Namespace,
        ("types", "SimpleNamespace"): Namespace,
    }
    for dtype in ("float16", "float32", "float64", "bfloat16", "int64", "int32", "uint8", "bool"):
        found[("torch", dtype)] = getattr(torch, dtype)
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        import numpy as np

        found[(module, "scalar")] = _numpy_scalar
        found[(module, "_reconstruct")] = np.ndarray.__new__
    found[("numpy", "dtype")] = _numpy_dtype
    found[("numpy", "ndarray")] = _numpy_ndarray()
    return found


def _numpy_scalar(dtype: Any, data: bytes | None = None) -> Any:
    import numpy as np

    return np.frombuffer(data or b"", dtype=dtype)[0] if data else dtype.type(0)


def _numpy_dtype(name: str, align: bool = False, copy: bool = False) -> Any:
    import numpy as np

    return np.dtype(name, align=align, copy=copy)


def _numpy_ndarray() -> type:
    import numpy as np

    return np.ndarray


def resolve(module: str, name: str) -> Any | None:
    """What ``module.name`` in a YOLO pickle becomes in edgecv, or ``None`` when it is not allowed."""
    if module in YOLOV5_MODULES:
        return _V5_EXTRA.get(name) or _BLOCKS.get(name)
    if module in ULTRALYTICS_MODULES:
        return _ULTRALYTICS_EXTRA.get(name) or _BLOCKS.get(name)
    torch_nn = _TORCH_NN.get(module)
    if torch_nn is not None:
        return torch_nn.get(name)
    if "Storage" in name and module == "torch":
        return True  # torch's own unpickler wrapper answers storage types before asking find_class
    return _data_globals().get((module, name))


def unknown_globals(names: frozenset[tuple[str, str]]) -> list[str]:
    return sorted(f"{m}.{n}" for m, n in names if resolve(m, n) is None)


class AllowListUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        found = resolve(module, name)
        if found is None or found is True:
            raise pickle.UnpicklingError(f"{module}.{name} is not on edgecv's list of YOLO classes")
        return found


def _pickle_module() -> types.ModuleType:
    """What ``torch.load(pickle_module=...)`` needs: ``Unpickler`` and ``load`` (torch subclasses the former)."""
    module = types.ModuleType("edgecv_allow_list_pickle")
    module.Unpickler = AllowListUnpickler  # type: ignore[attr-defined]  # a module built at run time
    module.load = pickle.load  # type: ignore[attr-defined]  # same
    return module


def load_allow_listed(path: Path) -> Any:
    """``torch.load`` of ``path`` with :class:`AllowListUnpickler`: only allow-listed names can be built."""
    import torch

    try:
        # weights_only=False is what lets a custom unpickler in; its find_class is the allow-list.
        return torch.load(str(path), map_location="cpu", weights_only=False, pickle_module=_pickle_module())
    except pickle.UnpicklingError as exc:
        raise ModelError(
            f"{path}: {exc}", "edgecv refuses what it cannot read without running code"
        ) from None
    except Exception as exc:
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"torch cannot read {path}: {first}", "is the file complete?") from None


def load_trusted(path: Path, framework: str, hint: Callable[[], str]) -> Any:
    """The real framework's unpickling (its code runs): only with ``--trust-checkpoint``."""
    import torch

    try:
        return torch.load(str(path), map_location="cpu", weights_only=False)
    except ModuleNotFoundError as exc:
        raise ModelError(
            f"{path} needs the {framework} code to unpickle ({exc.name} is not importable)", hint()
        ) from None
