"""Class names: plain label files, TF label maps with ``???`` gaps, ``id name`` files, pbtxt label maps."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from .errors import ModelError

PLACEHOLDER = "???"
_ID_LINE = re.compile(r"^\s*(\d+)\s*[:\s]\s*(.+?)\s*$")
_PBTXT_ITEM = re.compile(r"item\s*\{(.*?)\}", re.S)


class Labels:
    """Maps a model's class index to a name; indices without a name read ``class_<id>``."""

    def __init__(self, names: Iterable[str | None] = ()) -> None:
        self.names: list[str | None] = [None if n in (None, "", PLACEHOLDER) else n for n in names]
        # An object array lets a whole detections array be named with one take().
        self._lookup = np.array([*self.names, None], dtype=object)

    @classmethod
    def from_mapping(cls, mapping: Mapping[int, str]) -> Labels:
        if not mapping:
            return cls()
        names: list[str | None] = [None] * (max(mapping) + 1)
        for class_id, name in mapping.items():
            names[int(class_id)] = name
        return cls(names)

    def __len__(self) -> int:
        return len(self.names)

    def __bool__(self) -> bool:
        return any(self.names)

    def name(self, class_id: int) -> str:
        name = self.names[class_id] if 0 <= class_id < len(self.names) else None
        return name or f"class_{class_id}"

    def names_for(self, class_ids: np.ndarray) -> list[str]:
        if not len(class_ids):
            return []
        picked = self._lookup[np.clip(class_ids, -1, len(self.names))]
        missing = picked == None  # noqa: E711 - elementwise comparison on an object array
        if missing.any():
            picked[missing] = [f"class_{int(i)}" for i in class_ids[missing]]
        return picked.tolist()

    def id_of(self, name: str) -> int | None:
        try:
            return self.names.index(name)
        except ValueError:
            return None


def load_labels(path: str | Path) -> Labels:
    """Read a label file in any of the formats in common use.

    * one name per line (line *k* is class *k*);
    * TF Object Detection label maps whose first line is ``???`` (the background class the post-process op
      drops): line *k + 1* is class *k*, later ``???`` lines are gaps;
    * ``<id> <name>`` or ``<id>: <name>`` per line (Coral's label files);
    * ``label_map.pbtxt`` (``item { id: 1 name: "..." display_name: "..." }``, ids 1-based).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModelError(
            f"label file not found: {path}", "set model.labels or --labels to an existing file"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"cannot read label file {path}: {exc}") from None
    if path.suffix == ".pbtxt" or "item {" in text or "item{" in text:
        return _parse_pbtxt(text, path)
    lines = [line.strip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise ModelError(f"label file {path} is empty", "give one class name per line")
    matches = [_ID_LINE.match(line) for line in lines if line]
    numbered = [m for m in matches if m is not None]
    if len(numbered) == len(matches) and not all(line.isdigit() for line in lines if line):
        return Labels.from_mapping({int(m.group(1)): m.group(2) for m in numbered})
    if lines[0] == PLACEHOLDER:
        lines = lines[1:]
    return Labels(lines)


def _parse_pbtxt(text: str, path: Path) -> Labels:
    mapping: dict[int, str] = {}
    for body in _PBTXT_ITEM.findall(text):
        id_match = re.search(r"\bid\s*:\s*(\d+)", body)
        name_match = re.search(r"display_name\s*:\s*[\"'](.*?)[\"']", body) or re.search(
            r"\bname\s*:\s*[\"'](.*?)[\"']", body
        )
        if id_match and name_match:
            # pbtxt ids count the background as 0; the post-process op's class k is id k + 1.
            mapping[int(id_match.group(1)) - 1] = name_match.group(1)
    if not mapping:
        raise ModelError(f"label map {path} has no 'item {{ id: ... name: ... }}' entries")
    return Labels.from_mapping(mapping)
