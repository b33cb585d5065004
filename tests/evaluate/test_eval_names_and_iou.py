"""``edgecv eval detect``: annotations named unlike the model's labels are an error (or a warning when they
are few), never a silent mAP of 0.0000; ``--iou`` sets the detector's NMS threshold, and the report says so.

Before: categories the model does not name were scored as misses and the command printed ``mAP50-95 0.0000``
with rc 0; ``--iou`` was an unknown flag (argparse, exit 2).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from edgecv.evaluate.coco import coco_map

from ..cli.helpers import edgecv, error_line

IMAGES = 6  # the first photographs of the shared COCO set: seconds per run with YOLOv8n


@pytest.fixture
def coco_subset(tmp_path: Path, shared_assets: Path) -> tuple[Path, dict[str, Any]]:
    coco = shared_assets / "coco_val2017"
    folder = tmp_path / "images"
    folder.mkdir()
    for image in sorted((coco / "images").glob("*.jpg"))[:IMAGES]:
        shutil.copy(image, folder / image.name)
    return folder, json.loads((coco / "instances.json").read_text())


def instances_in(truth: dict[str, Any], folder: Path) -> dict[str, int]:
    """Annotated objects per category name in the images of ``folder``."""
    names = {c["id"]: c["name"] for c in truth["categories"]}
    ids = {i["id"] for i in truth["images"] if (folder / i["file_name"]).exists()}
    counts: dict[str, int] = {}
    for a in truth["annotations"]:
        if a["image_id"] in ids and not a.get("iscrowd", 0):
            counts[names[a["category_id"]]] = counts.get(names[a["category_id"]], 0) + 1
    return counts


def eval_detect(model: Path, folder: Path, annotations: Path, report: Path, *extra: str) -> Any:
    return edgecv(
        "eval", "detect", "--model", str(model), "--images", str(folder), "--annotations", str(annotations),
        "--report", str(report), "--json", *extra,
    )  # fmt: skip


def renamed(truth: dict[str, Any], names: dict[str, str], path: Path) -> Path:
    data = json.loads(json.dumps(truth))
    for category in data["categories"]:
        category["name"] = names.get(category["name"], category["name"])
    path.write_text(json.dumps(data))
    return path


def test_mostly_unknown_names_exit_2_listing_them(
    tmp_path: Path, yolov8n: Path, coco_subset: tuple[Path, dict[str, Any]]
) -> None:
    folder, truth = coco_subset
    counts = instances_in(truth, folder)
    # Everything a photo holds under a name of another scheme (a "human" is a "person" to the model).
    names = {name: f"{name}_v2" for name in counts}
    names["person"] = "human"
    annotations = renamed(truth, names, tmp_path / "instances.json")
    result = eval_detect(yolov8n, folder, annotations, tmp_path / "report.json")
    assert result.returncode == 2 and result.stdout == ""
    line = error_line(result)
    total = sum(counts.values())
    assert f"{total} of {total} annotated objects" in line
    assert f"'human' ({counts['person']})" in line and "person" in line  # theirs, and the model's label
    assert not (tmp_path / "report.json").exists()


def test_a_few_unknown_names_warn_and_are_reported(
    tmp_path: Path, yolov8n: Path, coco_subset: tuple[Path, dict[str, Any]]
) -> None:
    folder, truth = coco_subset
    counts = instances_in(truth, folder)
    rare = min(counts, key=lambda name: counts[name])
    assert 2 * counts[rare] < sum(counts.values())
    annotations = renamed(truth, {rare: "gizmo"}, tmp_path / "instances.json")
    result = eval_detect(yolov8n, folder, annotations, tmp_path / "report.json")
    assert result.returncode == 0, result.stderr
    warning = [line for line in result.stderr.splitlines() if "does not name" in line]
    assert len(warning) == 1 and f"'gizmo' ({counts[rare]})" in warning[0], result.stderr
    assert json.loads(result.stdout)["unmatched_annotations"] == {"gizmo": counts[rare]}


@pytest.mark.parametrize("iou", [0.3, 0.9])
def test_iou_is_the_detectors_nms_threshold(
    tmp_path: Path, yolov8n: Path, coco_subset: tuple[Path, dict[str, Any]], iou: float
) -> None:
    folder, truth = coco_subset
    annotations = tmp_path / "instances.json"
    annotations.write_text(json.dumps(truth))
    result = eval_detect(yolov8n, folder, annotations, tmp_path / "report.json", "--iou", str(iou))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["iou"] == iou and report["unmatched_annotations"] == {}
    # The same figure pycocotools gives for what `edgecv detect --iou` prints.
    images = sorted(folder.glob("*.jpg"))
    detect = edgecv(
        "detect", "--model", str(yolov8n), "--conf", "0.001", "--iou", str(iou), *map(str, images)
    )
    assert detect.returncode == 0, detect.stderr
    reference = coco_map([json.loads(line) for line in detect.stdout.splitlines()], annotations)
    assert report["map50_95"] == pytest.approx(reference["map50_95"], abs=1e-4)
    default = edgecv("detect", "--model", str(yolov8n), "--conf", "0.001", *map(str, images))
    assert detect.stdout != default.stdout  # 0.3 suppresses more than the default 0.45, 0.9 less
