"""The options of a custom op inside a ``.tflite`` file, read from the file itself.

The interpreter does not expose them, and the ``tflite`` schema package is not installed on devices
(``tflite-runtime`` ships none), so this reads just enough of the two formats by hand: the model
flatbuffer (``Model.operator_codes``, ``Model.subgraphs[].operators[]``) and the flexbuffer map the op
keeps its options in. :func:`edgecv.detect.metadata.read_metadata` lists them; the SSD family reads
``num_classes`` of ``TFLite_Detection_PostProcess`` there.

A file this cannot follow gives nothing: the interpreter is the judge of a broken model, not this reader.
"""

from __future__ import annotations

import mmap
import struct
from pathlib import Path

from .runtime import TFLITE_IDENTIFIER

Scalar = int | float | bool | str | None

# tflite schema: field slots (a union takes two: its type, then its value)
_MODEL_OPERATOR_CODES = 1
_MODEL_SUBGRAPHS = 2
_OPCODE_CUSTOM_CODE = 1
_SUBGRAPH_OPERATORS = 3
_OPERATOR_OPCODE_INDEX = 0
_OPERATOR_CUSTOM_OPTIONS = 5

# flexbuffers value types (flexbuffers.h); the few an op's options use
_FBT_NULL, _FBT_INT, _FBT_UINT, _FBT_FLOAT = 0, 1, 2, 3
_FBT_KEY, _FBT_STRING = 4, 5
_FBT_INDIRECT_INT, _FBT_INDIRECT_UINT, _FBT_INDIRECT_FLOAT = 6, 7, 8
_FBT_MAP = 9
_FBT_BOOL = 26


def custom_ops(path: str | Path) -> dict[str, dict[str, Scalar]]:
    """Each custom op of the model at ``path`` (by name, the first of each) with its options as a dict.

    An op whose options are not a flexbuffer map (the Edge TPU's compiled graph is a binary blob) is listed
    with no options; a file this reader cannot follow gives ``{}``.
    """
    try:  # mapped, not read: only the op tables are touched, a few hundred bytes of a large file
        with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return _custom_ops(data)
    except (OSError, ValueError, IndexError, struct.error, UnicodeDecodeError):
        return {}


def _custom_ops(buf: mmap.mmap) -> dict[str, dict[str, Scalar]]:
    if buf[4:8] != TFLITE_IDENTIFIER:
        return {}
    model = _Table(buf, _u32(buf, 0))
    names: dict[int, str] = {}
    for index, code in enumerate(model.tables(_MODEL_OPERATOR_CODES)):
        custom = code.bytes(_OPCODE_CUSTOM_CODE)
        if custom:
            names[index] = custom.decode("utf-8", "replace")
    found: dict[str, dict[str, Scalar]] = {}
    if not names:
        return found
    for subgraph in model.tables(_MODEL_SUBGRAPHS):
        for operator in subgraph.tables(_SUBGRAPH_OPERATORS):
            name = names.get(operator.u32(_OPERATOR_OPCODE_INDEX))
            if name is None or name in found:
                continue
            options = operator.bytes(_OPERATOR_CUSTOM_OPTIONS)
            try:
                found[name] = _flexbuffer_map(options) if options else {}
            except (ValueError, IndexError, struct.error, UnicodeDecodeError):
                found[name] = {}
    return found


def _u32(buf: mmap.mmap, at: int) -> int:
    return int(struct.unpack_from("<I", buf, at)[0])


class _Table:
    """A flatbuffer table: a vtable of field offsets, fields addressed by their slot number."""

    def __init__(self, buf: mmap.mmap, at: int) -> None:
        self.buf, self.at = buf, at
        self.vtable = at - int(struct.unpack_from("<i", buf, at)[0])
        self.vtable_size = int(struct.unpack_from("<H", buf, self.vtable)[0])

    def _field(self, slot: int) -> int | None:
        entry = 4 + 2 * slot
        if entry >= self.vtable_size:
            return None
        offset = int(struct.unpack_from("<H", self.buf, self.vtable + entry)[0])
        return self.at + offset if offset else None

    def u32(self, slot: int) -> int:
        at = self._field(slot)
        return 0 if at is None else _u32(self.buf, at)

    def _vector(self, slot: int, element_size: int) -> tuple[int, int] | None:
        """(start of the elements, their count) of a vector or string field."""
        at = self._field(slot)
        if at is None:
            return None
        start = at + _u32(self.buf, at)
        count = _u32(self.buf, start)
        if start + 4 + count * element_size > len(
            self.buf
        ):  # a corrupt count must not become a billion-entry list
            raise ValueError("vector runs past the end of the file")
        return start + 4, count

    def bytes(self, slot: int) -> bytes | None:
        vector = self._vector(slot, 1)
        return None if vector is None else bytes(self.buf[vector[0] : vector[0] + vector[1]])

    def tables(self, slot: int) -> list[_Table]:
        vector = self._vector(slot, 4)
        if vector is None:
            return []
        start, count = vector
        return [_Table(self.buf, start + 4 * i + _u32(self.buf, start + 4 * i)) for i in range(count)]


def _flexbuffer_map(data: bytes) -> dict[str, Scalar]:
    """A flexbuffer whose root is a map of scalars and strings (what custom ops store) as a dict."""
    root_width = data[-1]
    packed = data[-2]
    root = len(data) - 2 - root_width
    if packed >> 2 != _FBT_MAP:
        raise ValueError("custom options are not a flexbuffer map")
    values = root - _uint(data, root, root_width)
    width = 1 << (packed & 3)
    size = _uint(data, values - width, width)
    keys_at = values - 3 * width
    keys = keys_at - _uint(data, keys_at, width)
    keys_width = _uint(data, values - 2 * width, width)
    types = values + size * width
    if types + size > len(data):
        raise ValueError("flexbuffer map runs past its end")
    out: dict[str, Scalar] = {}
    for i in range(size):
        key_at = keys + i * keys_width
        key = _cstring(data, key_at - _uint(data, key_at, keys_width))
        out[key] = _value(data, values + i * width, width, data[types + i])
    return out


def _value(data: bytes, at: int, width: int, packed: int) -> Scalar:
    kind, child_width = packed >> 2, 1 << (packed & 3)
    if kind == _FBT_NULL:
        return None
    if kind == _FBT_INT:
        return _int(data, at, width)
    if kind == _FBT_UINT:
        return _uint(data, at, width)
    if kind == _FBT_BOOL:
        return bool(_uint(data, at, width))
    if kind == _FBT_FLOAT:
        return _float(data, at, width)
    target = at - _uint(data, at, width)
    if kind == _FBT_INDIRECT_INT:
        return _int(data, target, child_width)
    if kind == _FBT_INDIRECT_UINT:
        return _uint(data, target, child_width)
    if kind == _FBT_INDIRECT_FLOAT:
        return _float(data, target, child_width)
    if kind == _FBT_KEY:
        return _cstring(data, target)
    if kind == _FBT_STRING:
        length = _uint(data, target - child_width, child_width)
        return data[target : target + length].decode("utf-8")
    return None  # vectors and nested maps: no op option edgecv reads is one


def _uint(data: bytes, at: int, width: int) -> int:
    return int.from_bytes(data[at : at + width], "little", signed=False)


def _int(data: bytes, at: int, width: int) -> int:
    return int.from_bytes(data[at : at + width], "little", signed=True)


def _float(data: bytes, at: int, width: int) -> float:
    return float(struct.unpack_from("<f" if width == 4 else "<d", data, at)[0])


def _cstring(data: bytes, at: int) -> str:
    return data[at : data.index(b"\0", at)].decode("utf-8")
