"""COCO mAP of ``edgecv detect``-style results, scored with pycocotools.

Detections are matched to COCO categories by *name* (the model's label against the ground truth's
categories), so models whose class indices follow another scheme (SSD's 90-id map, YOLO's 80 ids) are
scored alike. A label that names no category is dropped and counted in ``unmatched_labels``.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..boxes import xyxy_to_xywh
from ..errors import EdgecvError, InputError


def normalise_label(name: str) -> str:
    """How labels and category names are compared: case, underscores and spacing do not matter."""
    return " ".join(name.lower().replace("_", " ").split())


def _quiet(quiet: bool) -> contextlib.AbstractContextManager:
    # pycocotools prints progress and tables on stdout, which belongs to our JSON output.
    return contextlib.redirect_stdout(io.StringIO()) if quiet else contextlib.nullcontext()


def coco_evaluate(
    results: Iterable[Mapping[str, Any]], instances: str | Path | Mapping[str, Any], *, quiet: bool = True
) -> tuple[dict[str, Any], Any]:
    """Score per-image results against COCO ground truth (an ``instances.json`` path or its dict).

    ``results`` holds one dict per image, as ``edgecv detect`` prints them: ``{"image": path,
    "detections": [{"label", "class_id", "score", "box": [x1, y1, x2, y2]}]}``; images are found in the
    ground truth by file name. Returns the summary (``map50_95``, ``map50``, ``images`` scored,
    ``detections`` matched to a category, ``unmatched_labels``) and the evaluated ``COCOeval`` (``None``
    when nothing could be scored), whose per-class precision arrays the detect evaluator reads.
    Only the images present in ``results`` are evaluated.
    """
    try:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError:
        raise EdgecvError(  # the machine lacks a package: exit 1, like a missing runtime
            "COCO scoring needs pycocotools", "pip install 'edgecv[dev]' or pycocotools"
        ) from None

    with _quiet(quiet):
        if isinstance(instances, Mapping):
            truth = COCO()
            truth.dataset = copy.deepcopy(dict(instances))
            truth.createIndex()
        else:
            truth = COCO(str(instances))
    image_ids = {Path(img["file_name"]).name: img["id"] for img in truth.dataset["images"]}
    category_ids = {normalise_label(cat["name"]): cat["id"] for cat in truth.dataset["categories"]}

    scored_images: list[int] = []
    rows: list[dict[str, Any]] = []
    unmatched: set[str] = set()
    for result in results:
        name = Path(str(result["image"])).name
        if name not in image_ids:
            source = "the annotations" if isinstance(instances, Mapping) else str(instances)
            raise InputError(f"image {name} is not in {source}", "score only images of that data set")
        image_id = image_ids[name]
        scored_images.append(image_id)
        detections = result["detections"]
        corners = np.array([det["box"] for det in detections], np.float64).reshape(-1, 4)
        for det, bbox in zip(detections, xyxy_to_xywh(corners).tolist(), strict=True):
            category = category_ids.get(normalise_label(str(det["label"])))
            if category is None:
                unmatched.add(str(det["label"]))
                continue
            rows.append(
                {
                    "image_id": image_id,
                    "category_id": category,
                    "bbox": bbox,
                    "score": float(det["score"]),
                }
            )
    summary: dict[str, Any] = {
        "map50_95": 0.0,
        "map50": 0.0,
        "images": len(scored_images),
        "detections": len(rows),
        "unmatched_labels": sorted(unmatched),
    }
    if not rows:
        return summary, None
    with _quiet(quiet):
        predictions = truth.loadRes(json.loads(json.dumps(rows)))
        evaluator = COCOeval(truth, predictions, "bbox")
        evaluator.params.imgIds = sorted(set(scored_images))
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    summary["map50_95"] = float(evaluator.stats[0])
    summary["map50"] = float(evaluator.stats[1])
    return summary, evaluator


def coco_map(
    results: Iterable[Mapping[str, Any]], instances: str | Path | Mapping[str, Any], *, quiet: bool = True
) -> dict[str, Any]:
    """The summary of :func:`coco_evaluate` alone."""
    return coco_evaluate(results, instances, quiet=quiet)[0]
