"""Labels that do not fit the model are an error (exit 2 naming both counts), not wrong names.

Before: ``edgecv detect`` with YOLOv8n and the 3-line demo labels printed ``class_62`` and ``circle``; COCO's
80 names on SSD MobileNet (90 ids) called a tv a ``couch``. The shared SSD model with its own 91-line
labelmap (``???`` first, then gaps) is the right pairing and keeps working (also ``test_accuracy.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgecv.labels import Labels, fit_error, load_labels

from ..cli.helpers import edgecv, error_line

COCO_LABELS = "models/yolov8n_int8/coco_labels.txt"  # 80 names, YOLO order, no gaps
SSD_LABELMAP = "models/ssd_mobilenet_v1_coco_quant/labelmap.txt"  # 91 lines: ??? first, gaps further on


def write(tmp_path: Path, text: str, name: str = "labels.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- the rule -----------------------------------------------------------------------------------------------


def test_names_that_fit_pass() -> None:
    assert fit_error(Labels(["a", "b", "c"]), 3, "yolov8", gapped_ids=False) is None
    assert fit_error(Labels([]), 80, "yolov8", gapped_ids=False) is None  # no names: class_<id>, said so
    assert fit_error(Labels(["a", None, "c"]), 3, "ssd", gapped_ids=True) is None
    assert fit_error(Labels(["a"]), None, "yolov8", gapped_ids=False) is None  # the model does not say


@pytest.mark.parametrize(("names", "classes"), [(3, 80), (80, 3), (80, 90), (91, 90)])
def test_a_count_that_differs_names_both_counts(names: int, classes: int) -> None:
    labels = Labels([f"n{i}" for i in range(names)], origin="label file x.txt")
    error = fit_error(labels, classes, "yolov8", gapped_ids=False)
    assert error is not None and error.exit_code == 2
    assert error.message == f"label file x.txt has {names} names but the model has {classes} classes"


def test_a_label_map_with_gaps_on_a_model_without_them(tmp_path: Path) -> None:
    labels = load_labels(write(tmp_path, "???\nperson\n???\ncar\n"))
    error = fit_error(labels, 3, "yolov8", gapped_ids=False)
    assert error is not None
    assert "SSD label map with ??? gaps" in error.message and "3 ids" in error.message
    assert "yolov8 head with 3 classes" in error.message  # the same count, still the wrong file


def test_a_plain_list_on_an_ssd_model_points_at_the_label_map() -> None:
    error = fit_error(Labels([f"n{i}" for i in range(80)]), 90, "ssd", gapped_ids=True)
    assert error is not None and "80 names" in error.message and "90 classes" in error.message
    assert error.hint is not None and "??? background line" in error.hint


# -- the real command -------------------------------------------------------------------------------------


def test_demo_labels_on_yolov8n_exit_2(yolov8n: Path, repo_root: Path, shared_assets: Path) -> None:
    image = shared_assets / "coco_val2017" / "images" / "000000000139.jpg"
    labels = repo_root / "models" / "demo_labels.txt"
    result = edgecv("detect", "--model", str(yolov8n), "--labels", str(labels), str(image))
    assert result.returncode == 2 and result.stdout == ""
    line = error_line(result)
    assert "demo_labels.txt has 3 names but the model has 80 classes" in line


def test_coco_80_on_ssd_exit_2(ssd_mobilenet: Path, shared_assets: Path) -> None:
    image = shared_assets / "coco_val2017" / "images" / "000000000139.jpg"
    result = edgecv(
        "detect", "--model", str(ssd_mobilenet), "--labels", str(shared_assets / COCO_LABELS), str(image)
    )
    assert result.returncode == 2 and result.stdout == ""
    assert "has 80 names but the model has 90 classes" in error_line(result)


def test_ssd_label_map_on_yolov8n_exit_2(yolov8n: Path, shared_assets: Path) -> None:
    image = shared_assets / "coco_val2017" / "images" / "000000000139.jpg"
    result = edgecv(
        "detect", "--model", str(yolov8n), "--labels", str(shared_assets / SSD_LABELMAP), str(image)
    )
    assert result.returncode == 2 and result.stdout == ""
    line = error_line(result)
    assert "labelmap.txt is an SSD label map with ??? gaps (90 ids" in line and "80 classes" in line


def test_ssd_with_its_own_label_map_still_works(ssd_mobilenet: Path, shared_assets: Path) -> None:
    image = shared_assets / "coco_val2017" / "images" / "000000000139.jpg"  # a living room with a tv
    result = edgecv(
        "detect", "--model", str(ssd_mobilenet), "--labels", str(shared_assets / SSD_LABELMAP), str(image)
    )
    assert result.returncode == 0, result.stderr
    labels = {d["label"] for d in json.loads(result.stdout)["detections"]}
    assert "tv" in labels and not any(name.startswith("class_") for name in labels)


def test_check_model_flags_the_mismatch(yolov8n: Path, repo_root: Path) -> None:
    labels = repo_root / "models" / "demo_labels.txt"
    result = edgecv("check", "--model", str(yolov8n), "--labels", str(labels))
    assert result.returncode == 2
    assert "yolov8" in result.stdout  # the model is still described
    row = next(line for line in result.stdout.splitlines() if line.startswith("labels"))
    assert "DO NOT FIT" in row and "3 names but the model has 80 classes" in row
    assert "3 names but the model has 80 classes" in error_line(result)


def test_check_model_passes_a_fitting_pair(ssd_mobilenet: Path, shared_assets: Path) -> None:
    result = edgecv("check", "--model", str(ssd_mobilenet), "--labels", str(shared_assets / SSD_LABELMAP))
    assert result.returncode == 0, result.stderr
    assert "90 classes" in result.stdout and "DO NOT FIT" not in result.stdout
