"""Class names: plain label files, TF label maps with ``???`` gaps, ``id name`` files, pbtxt label maps."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from .errors import LabelsError

PLACEHOLDER = "???"
_ID_LINE = re.compile(r"^\s*(\d+)\s*[:\s]\s*(.+?)\s*$")
_PBTXT_ITEM = re.compile(r"item\s*\{(.*?)\}", re.S)


class Labels:
    """Maps a model's class index to a name; indices without a name read ``class_<id>``.

    ``origin`` says where the names came from ("label file labels.txt", "the model's metadata"), for
    messages about them.
    """

    def __init__(self, names: Iterable[str | None] = (), origin: str = "the labels") -> None:
        self.names: list[str | None] = [None if n in (None, "", PLACEHOLDER) else n for n in names]
        self.origin = origin
        # An object array lets a whole detections array be named with one take().
        self._lookup = np.array([*self.names, None], dtype=object)

    @classmethod
    def from_mapping(cls, mapping: Mapping[int, str], origin: str = "the labels") -> Labels:
        if not mapping:
            return cls(origin=origin)
        names: list[str | None] = [None] * (max(mapping) + 1)
        for class_id, name in mapping.items():
            names[int(class_id)] = name
        return cls(names, origin)

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

    @property
    def gaps(self) -> list[int]:
        """Class ids left unnamed below the last name: the ``???`` lines of a TF Object Detection label map."""
        return [i for i, name in enumerate(self.names) if name is None]


def fit_error(labels: Labels, classes: int | None, family: str, gapped_ids: bool) -> LabelsError | None:
    """Why ``labels`` cannot name the classes of a ``family`` model scoring ``classes`` classes; ``None`` if
    they fit (or there are no names, or the model does not say how many classes it has).

    Two ways a wrong label file used to pass silently: a count that differs (a 3-name file on an 80-class
    model prints ``class_62``; COCO's 80 names on SSD's 90 ids call a tv a ``couch``), and a label map of the
    other id scheme: TF Object Detection label maps leave ``???`` gaps where their ids skip (``gapped_ids``
    families, SSD), while YOLO-style lists name every class in order.
    """
    if not labels:
        return None
    count = len(labels)
    gaps = labels.gaps
    model = f"the model is a {family} head" + (f" with {classes} classes" if classes is not None else "")
    own_list = "one name per line, class 0 first" + (f", {classes} lines" if classes is not None else "")
    if gaps and not gapped_ids:
        shown = ", ".join(map(str, gaps[:5])) + (", ..." if len(gaps) > 5 else "")
        return LabelsError(
            f"{labels.origin} is an SSD label map with ??? gaps ({count} ids, {len(gaps)} unnamed: {shown}) "
            f"but {model} numbered without gaps",
            f"give the model's own class list: {own_list}",
        )
    if classes is None or count == classes:
        return None
    if gapped_ids and not gaps:
        hint = (
            f"this {family} model numbers its classes as a TF Object Detection label map does: use its map "
            f"({classes} ids, ??? at the unused ones; labelmap.txt starts with a ??? background line)"
        )
    else:
        hint = f"give the label file the model was trained with: {own_list}"
        if gapped_ids and count > classes:
            hint += "; a first 'background' line should read ???"
    return LabelsError(f"{labels.origin} has {count} names but the model has {classes} classes", hint)


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
        raise LabelsError(
            f"label file not found: {path}", "set model.labels or --labels to an existing file"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelsError(f"cannot read label file {path}: {exc}") from None
    origin = f"label file {path}"
    if path.suffix == ".pbtxt" or "item {" in text or "item{" in text:
        return _parse_pbtxt(text, path, origin)
    lines = [line.strip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise LabelsError(f"label file {path} is empty", "give one class name per line")
    matches = [_ID_LINE.match(line) for line in lines if line]
    numbered = [m for m in matches if m is not None]
    if len(numbered) == len(matches) and not all(line.isdigit() for line in lines if line):
        return Labels.from_mapping({int(m.group(1)): m.group(2) for m in numbered}, origin)
    if lines[0] == PLACEHOLDER:
        lines = lines[1:]
    return Labels(lines, origin)


def _parse_pbtxt(text: str, path: Path, origin: str) -> Labels:
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
        raise LabelsError(f"label map {path} has no 'item {{ id: ... name: ... }}' entries")
    return Labels.from_mapping(mapping, origin)
