"""Ground truth in the two shapes people have it: COCO ``instances.json`` or YOLO label folders.

YOLO labels (``<image stem>.txt``, one ``class cx cy w h`` line per object, normalised to the image) are
turned into a COCO dict, so one scorer (:func:`edgecv.evaluate.coco.coco_map`, pycocotools) serves both.
Categories are named like the model's labels, because the scorer matches detections by label name.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..boxes import cxcywh_to_xywh
from ..errors import ConfigError
from .coco import normalise_label


def class_name(names: Sequence[str | None], class_id: int) -> str:
    """The name ``edgecv detect`` prints for a class: its label, else ``class_<id>``."""
    if 0 <= class_id < len(names) and names[class_id]:
        return str(names[class_id])
    return f"class_{class_id}"


def load_coco(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"cannot read COCO annotations {path}: {exc}", "give an instances.json file"
        ) from None
    if not isinstance(data, dict) or not {"images", "annotations", "categories"} <= data.keys():
        raise ConfigError(
            f"{path} is not COCO instances json (needs images, annotations, categories)",
            "give a COCO instances.json, or a folder of YOLO .txt labels",
        )
    return data


def yolo_to_coco(labels_dir: Path, images: Sequence[Path], names: Sequence[str | None]) -> dict[str, Any]:
    """COCO dict for ``images`` from ``labels_dir/<stem>.txt``; an image without a file has no objects."""
    if not labels_dir.is_dir():
        raise ConfigError(
            f"YOLO labels folder not found: {labels_dir}", "give a folder of <image stem>.txt files"
        )
    coco: dict[str, Any] = {"images": [], "annotations": [], "categories": []}
    seen_classes: set[int] = set(range(len(names)))
    for image_id, image_path in enumerate(images, start=1):
        height, width = _image_size(image_path)
        coco["images"].append(
            {"id": image_id, "file_name": image_path.name, "width": width, "height": height}
        )
        label_file = labels_dir / f"{image_path.stem}.txt"
        if not label_file.exists():
            continue
        class_ids, normalised = _read_yolo_labels(label_file)
        pixels = cxcywh_to_xywh(normalised * np.array([width, height, width, height], np.float64))
        for class_id, (x, y, box_w, box_h) in zip(class_ids, pixels.tolist(), strict=True):
            seen_classes.add(class_id)
            coco["annotations"].append(
                {
                    "id": len(coco["annotations"]) + 1,
                    "image_id": image_id,
                    "category_id": class_id + 1,  # pycocotools treats id 0 as "no category"
                    "bbox": [x, y, box_w, box_h],
                    "area": box_w * box_h,
                    "iscrowd": 0,
                }
            )
    coco["categories"] = [{"id": c + 1, "name": class_name(names, c)} for c in sorted(seen_classes)]
    return coco


def _read_yolo_labels(label_file: Path) -> tuple[list[int], np.ndarray]:
    """Class ids and normalised ``cxcywh`` boxes ``float64[K, 4]`` of one YOLO label file."""
    class_ids: list[int] = []
    boxes: list[list[float]] = []
    for line_number, line in enumerate(label_file.read_text().splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        try:
            class_id = int(fields[0])
            cx, cy, w, h = (float(v) for v in fields[1:5])
        except ValueError:
            raise ConfigError(
                f"{label_file}:{line_number}: expected 'class cx cy w h', found {line.strip()!r}",
                "YOLO labels are normalised centre/size boxes, one object per line",
            ) from None
        class_ids.append(class_id)
        boxes.append([cx, cy, w, h])
    return class_ids, np.array(boxes, np.float64).reshape(-1, 4)


def load_annotations(path: Path, images: Sequence[Path], names: Sequence[str | None]) -> dict[str, Any]:
    """A COCO json file or a YOLO labels folder → COCO dict."""
    if path.is_dir():
        return yolo_to_coco(path, images, names)
    if not path.exists():
        raise ConfigError(
            f"annotations not found: {path}", "give a COCO instances.json or a YOLO labels folder"
        )
    return load_coco(path)


def annotated_images(images: Sequence[Path], truth: dict[str, Any], annotations: Path) -> list[Path]:
    """The images the ground truth covers (by file name); none at all is an error worth stopping for."""
    known = {Path(image["file_name"]).name for image in truth["images"]}
    kept = [path for path in images if path.name in known]
    if not kept:
        raise ConfigError(
            f"none of the {len(images)} images is in {annotations}",
            "check that the annotations' file_name entries match the image files",
        )
    return kept


def unmatched_categories(
    truth: dict[str, Any], images: Sequence[Path], model_names: Sequence[str]
) -> tuple[dict[str, int], int]:
    """Annotated objects of ``images`` whose category the model cannot name, counted per category name,
    and the number of annotated objects in all (crowd regions, which COCO ignores, left out).

    Detections are scored by name (:mod:`edgecv.evaluate.coco`), so an annotation named ``human`` for a model
    that says ``person`` can never be matched: its objects all count as missed.
    """
    known = {normalise_label(name) for name in model_names}
    kept = {Path(path).name for path in images}
    image_ids = {image["id"] for image in truth["images"] if Path(image["file_name"]).name in kept}
    category_names = {category["id"]: str(category["name"]) for category in truth["categories"]}
    unmatched: dict[str, int] = {}
    total = 0
    for annotation in truth["annotations"]:
        if annotation.get("iscrowd", 0) or annotation["image_id"] not in image_ids:
            continue
        total += 1
        name = category_names.get(annotation["category_id"], f"category {annotation['category_id']}")
        if normalise_label(name) not in known:
            unmatched[name] = unmatched.get(name, 0) + 1
    return dict(sorted(unmatched.items(), key=lambda item: -item[1])), total


def _image_size(path: Path) -> tuple[int, int]:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ConfigError(f"cannot read image {path}", "remove it or replace it with a readable JPEG/PNG")
    return int(image.shape[0]), int(image.shape[1])
