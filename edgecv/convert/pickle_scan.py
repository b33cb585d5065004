"""What a PyTorch ``.pt`` pickle is, read from the global names it references, without unpickling it.

``torch.save`` writes a zip whose ``data.pkl`` names every class and function the unpickler would import
(``GLOBAL`` / ``STACK_GLOBAL`` opcodes). Reading those names with :mod:`pickletools` runs nothing, so the
converter can tell an Ultralytics model from a classic YOLOv5 one, a Lightning checkpoint or a plain
``state_dict`` before deciding how, or whether, to load it.
"""

from __future__ import annotations

import pickletools
import zipfile
from dataclasses import dataclass
from pathlib import Path

# Kinds of checkpoint, by what their pickle references.
ULTRALYTICS = "ultralytics"  # ultralytics.nn.tasks.DetectionModel (YOLOv8, YOLO11, ...)
YOLOV5 = "yolov5"  # the ultralytics/yolov5 repository's models.yolo.Model / DetectionModel
LIGHTNING = "lightning"  # a Lightning checkpoint: {"state_dict": ..., "pytorch-lightning_version": ...}
STATE_DICT = "state_dict"  # tensors in dicts and lists only
MODULE = "module"  # some other pickled torch.nn.Module: needs its code

_ULTRALYTICS_MODELS = {("ultralytics.nn.tasks", "DetectionModel")}
_YOLOV5_MODELS = {("models.yolo", "Model"), ("models.yolo", "DetectionModel")}
# What a weights-only pickle may reference: containers, tensors and their storages.
_WEIGHTS_ONLY_MODULES = (
    "torch",
    "torch._utils",
    "torch.serialization",
    "collections",
    "builtins",
    "__builtin__",
)


@dataclass(frozen=True)
class PickleScan:
    """The pickle's global names as ``(module, name)`` pairs, and what they make the checkpoint."""

    globals: frozenset[tuple[str, str]]
    kind: str

    def modules_named(self, prefixes: tuple[str, ...]) -> list[str]:
        return sorted(f"{m}.{n}" for m, n in self.globals if m.startswith(prefixes))


def pickle_bytes(path: Path) -> bytes | None:
    """``data.pkl`` of a ``torch.save`` zip, or ``None`` for a legacy (non-zip) file."""
    try:
        with zipfile.ZipFile(path) as archive:
            member = next((n for n in archive.namelist() if n.endswith("/data.pkl") or n == "data.pkl"), None)
            return archive.read(member) if member is not None else None
    except (zipfile.BadZipFile, OSError):
        return None


def global_names(data: bytes) -> frozenset[tuple[str, str]]:
    """Every ``(module, name)`` the pickle would import, read off its opcodes (nothing is executed).

    Protocol 4 pickles push the two strings and then ``STACK_GLOBAL``; the strings may come from the memo
    (``BINGET``), so memo slots are tracked for string values.
    """
    found: set[tuple[str, str]] = set()
    memo: dict[int, str] = {}
    recent: list[str | None] = []  # the string pushed by each opcode, None for non-strings
    for opcode, arg, _ in pickletools.genops(data):
        name = opcode.name
        pushed: str | None = None
        if name == "GLOBAL" and isinstance(arg, str):
            module, _, attribute = arg.partition(" ")
            found.add((module, attribute))
        elif name == "STACK_GLOBAL" and len(recent) >= 2:
            pair = (recent[-2], recent[-1])
            if pair[0] is not None and pair[1] is not None:
                found.add((pair[0], pair[1]))
        elif name in ("SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE") and isinstance(arg, str):
            pushed = arg
        elif name in ("BINGET", "LONG_BINGET", "GET") and isinstance(arg, int):
            pushed = memo.get(arg)
        elif name == "MEMOIZE" and recent and recent[-1] is not None:
            memo[len(memo)] = recent[-1]
            continue  # MEMOIZE pushes nothing: the last string stays the last one
        elif name == "MEMOIZE":
            memo[len(memo)] = ""  # keep slot numbers aligned; "" never names a module
            continue
        elif name in ("BINPUT", "LONG_BINPUT", "PUT") and isinstance(arg, int):
            if recent and recent[-1] is not None:
                memo[arg] = recent[-1]
            continue
        recent.append(pushed)
        del recent[:-2]
    return frozenset(found)


def classify(names: frozenset[tuple[str, str]]) -> str:
    if names & _ULTRALYTICS_MODELS or any(m.startswith("ultralytics.") for m, _ in names):
        return ULTRALYTICS
    if names & _YOLOV5_MODELS or any(m.startswith("models.") for m, _ in names):
        return YOLOV5
    if any(m.startswith(("pytorch_lightning", "lightning")) for m, _ in names):
        return LIGHTNING
    if all(m.split(".")[0] in {p.split(".")[0] for p in _WEIGHTS_ONLY_MODULES} for m, _ in names) and not any(
        m.startswith("torch.nn.modules") for m, _ in names
    ):
        return STATE_DICT
    return MODULE


def scan(path: Path) -> PickleScan | None:
    """The scan of a ``torch.save`` file; ``None`` when it is not one (legacy format, not a zip)."""
    data = pickle_bytes(path)
    if data is None:
        return None
    try:
        names = global_names(data)
    except Exception:  # pickletools raises ValueError and friends on corrupt input; the loader reports it
        return None
    return PickleScan(names, classify(names))
