"""Label files in the formats in common use (``edgecv.labels``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgecv.errors import LabelsError
from edgecv.labels import Labels, load_labels


def write(tmp_path: Path, text: str, name: str = "labels.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_plain_one_name_per_line(tmp_path: Path) -> None:
    labels = load_labels(write(tmp_path, "person\nbicycle\ncar\n\n"))
    assert labels.names == ["person", "bicycle", "car"]
    assert labels.name(2) == "car" and labels.name(3) == "class_3" and labels.name(-1) == "class_-1"
    assert labels.id_of("bicycle") == 1 and labels.id_of("truck") is None


def test_tf_label_map_first_placeholder_is_the_background(tmp_path: Path) -> None:
    labels = load_labels(write(tmp_path, "???\nperson\nbicycle\n???\nmotorcycle\n"))
    assert len(labels) == 4
    assert [labels.name(i) for i in range(5)] == ["person", "bicycle", "class_2", "motorcycle", "class_4"]
    assert labels.names_for(np.array([0, 2, 3, 7, 0], np.int32)) == [
        "person",
        "class_2",
        "motorcycle",
        "class_7",
        "person",
    ]
    assert labels.names_for(np.zeros(0, np.int32)) == []
    assert labels.id_of("???") is None


@pytest.mark.parametrize("separator", [" ", "  ", ": ", "\t"])
def test_id_name_lines(tmp_path: Path, separator: str) -> None:
    text = "\n".join(f"{i}{separator}{n}" for i, n in [(0, "person"), (1, "bicycle"), (3, "traffic light")])
    labels = load_labels(write(tmp_path, text))
    assert [labels.name(i) for i in range(4)] == ["person", "bicycle", "class_2", "traffic light"]


def test_names_that_are_numbers_stay_names(tmp_path: Path) -> None:
    labels = load_labels(write(tmp_path, "0\n1\n2\n"))
    assert labels.names == ["0", "1", "2"]


def test_pbtxt_label_map(tmp_path: Path) -> None:
    text = """
item {
  name: "/m/01g317"
  id: 1
  display_name: "person"
}
item { id: 3 name: "car" }
item {
  id: 2
  name: 'bicycle'
}
"""
    labels = load_labels(write(tmp_path, text, "label_map.pbtxt"))
    assert [labels.name(i) for i in range(3)] == ["person", "bicycle", "car"]


def test_label_file_errors(tmp_path: Path) -> None:
    with pytest.raises(LabelsError, match=r"label file not found: .*missing\.txt \(set model\.labels"):
        load_labels(tmp_path / "missing.txt")
    with pytest.raises(LabelsError, match="is empty"):
        load_labels(write(tmp_path, "\n\n"))
    with pytest.raises(LabelsError, match="no 'item"):
        load_labels(write(tmp_path, "item { }", "bad.pbtxt"))


def test_labels_from_mapping_and_emptiness() -> None:
    labels = Labels.from_mapping({0: "person", 2: "car"})
    assert labels.names == ["person", None, "car"] and bool(labels)
    assert not Labels() and not Labels(["???", ""])


def test_shared_ssd_label_map(shared_assets: Path) -> None:
    labels = load_labels(shared_assets / "models/ssd_mobilenet_v1_coco_quant/labelmap.txt")
    assert len(labels) == 90
    assert labels.name(0) == "person" and labels.name(2) == "car"
    assert labels.name(11) == "class_11"  # a '???' gap in the 91-id scheme
    assert labels.name(12) == "stop sign"
