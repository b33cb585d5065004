"""``edgecv eval detect``: a model over labelled images, scored as COCO scores it, plus what COCO leaves out.

The detections are produced exactly as ``edgecv detect`` prints them (same preprocessing, same rounding),
so the figures equal what pycocotools reports for that command's output.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..contracts import detections_json
from ..detect.detector import Detector
from ..errors import ConfigError
from ..images import IMAGE_SUFFIXES_TEXT, list_images
from .coco import coco_evaluate

log = logging.getLogger(__name__)


def find_eval_images(folder: Path) -> list[Path]:
    """The images of ``--images`` (directly in ``folder``), sorted; an error a person can act on if none."""
    if not folder.is_dir():
        raise ConfigError(f"images folder not found: {folder}", "--images takes a folder of JPEG/PNG files")
    images = list_images(folder)
    if not images:
        raise ConfigError(f"no images in {folder}", f"expected files ending in {IMAGE_SUFFIXES_TEXT}")
    return images


class ProgressBar:
    """A one-line progress bar on stderr when it is a terminal; silent in logs and CI."""

    def __init__(self, total: int, label: str) -> None:
        self.total, self.label, self.done = total, label, 0
        self.enabled = sys.stderr.isatty()

    def step(self) -> None:
        self.done += 1
        if self.enabled:
            filled = int(30 * self.done / self.total)
            bar = "#" * filled + "." * (30 - filled)
            end = "\n" if self.done == self.total else ""
            print(f"\r{self.label} [{bar}] {self.done}/{self.total}", end=end, file=sys.stderr, flush=True)


def run_detector(detector: Detector, images: Sequence[Path], decimals: int = 2) -> list[dict[str, Any]]:
    results = []
    progress = ProgressBar(len(images), "detect")
    for path in images:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        progress.step()
        if image is None:
            log.warning("skipping %s: not a readable image", path)
            continue
        found = detector.detect(image)
        results.append({"image": str(path), "detections": detections_json(found, detector.labels, decimals)})
    return results


def operating_point(evaluator: Any, conf: float) -> tuple[float, float, int, int, int]:
    """Precision and recall at IoU 0.5 of the detections scoring at least ``conf`` (all sizes, 100 per image).

    Read from pycocotools' own per-image matching, so a detection counts as a hit exactly when COCO's
    matcher paired it with a ground-truth box; crowd and ignored boxes count neither way.
    """
    max_det = evaluator.params.maxDets[-1]
    tp = fp = n_truth = 0
    for entry in evaluator.evalImgs:
        if entry is None or entry["aRng"] != evaluator.params.areaRng[0] or entry["maxDet"] != max_det:
            continue
        scores = np.asarray(entry["dtScores"])
        matched = np.asarray(entry["dtMatches"])[0] > 0 if scores.size else np.zeros(0, bool)
        ignored = np.asarray(entry["dtIgnore"])[0].astype(bool) if scores.size else np.zeros(0, bool)
        kept = (scores >= conf) & ~ignored
        tp += int(np.count_nonzero(kept & matched))
        fp += int(np.count_nonzero(kept & ~matched))
        n_truth += int(np.count_nonzero(~np.asarray(entry["gtIgnore"]).astype(bool)))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / n_truth if n_truth else 0.0
    return precision, recall, tp, fp, n_truth


def per_class_ap(evaluator: Any) -> dict[str, dict[str, float]]:
    precision = evaluator.eval["precision"]  # [iou, recall, class, area, max_det]
    names = {c["id"]: c["name"] for c in evaluator.cocoGt.dataset["categories"]}
    gt_counts: dict[int, int] = {}
    for ann in evaluator.cocoGt.dataset["annotations"]:
        gt_counts[ann["category_id"]] = gt_counts.get(ann["category_id"], 0) + 1
    out = {}
    for k, category_id in enumerate(evaluator.params.catIds):
        if not gt_counts.get(category_id):
            continue  # AP is undefined for a class with no ground truth
        table = precision[:, :, k, 0, -1]
        valid = table > -1
        out[names[category_id]] = {
            "ap50_95": float(table[valid].mean()) if valid.any() else 0.0,
            "ap50": float(table[0][valid[0]].mean()) if valid[0].any() else 0.0,
            "instances": gt_counts[category_id],
        }
    return out


def _pooled_matches(evaluator: Any, iou_index: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Scores and hit flags of every detection over all images and classes, as COCO matched them."""
    max_det = evaluator.params.maxDets[-1]
    scores, hits, n_truth = [], [], 0
    for entry in evaluator.evalImgs:
        if entry is None or entry["aRng"] != evaluator.params.areaRng[0] or entry["maxDet"] != max_det:
            continue
        n_truth += int(np.count_nonzero(~np.asarray(entry["gtIgnore"]).astype(bool)))
        if not len(entry["dtScores"]):
            continue
        keep = ~np.asarray(entry["dtIgnore"])[iou_index].astype(bool)
        scores.append(np.asarray(entry["dtScores"])[keep])
        hits.append(np.asarray(entry["dtMatches"])[iou_index][keep] > 0)
    if not scores:
        return np.zeros(0), np.zeros(0, bool), n_truth
    return np.concatenate(scores), np.concatenate(hits), n_truth


def pr_curve(evaluator: Any, points: int = 201) -> dict[str, list[float]]:
    """Precision against recall over all detections pooled (the curve the operating point lies on).

    One curve at IoU 0.5 and one at 0.75; each ends at the highest recall the detections reach.
    """
    curve: dict[str, list[float]] = {}
    for key, iou in (("iou_50", 0.5), ("iou_75", 0.75)):
        iou_index = int(np.argmin(np.abs(evaluator.params.iouThrs - iou)))
        scores, hits, n_truth = _pooled_matches(evaluator, iou_index)
        order = np.argsort(-scores, kind="stable")
        tp = np.cumsum(hits[order])
        fp = np.cumsum(~hits[order])
        recall = tp / max(n_truth, 1)
        precision = tp / np.maximum(tp + fp, 1)
        # Interpolated precision (the best precision at this recall or beyond), as COCO and VOC plot it.
        precision = np.maximum.accumulate(precision[::-1])[::-1]
        if len(recall) > points:
            pick = np.linspace(0, len(recall) - 1, points).round().astype(int)
            recall, precision = recall[pick], precision[pick]
        curve[f"recall_{key}"] = [round(float(r), 4) for r in recall]
        curve[f"precision_{key}"] = [round(float(p), 4) for p in precision]
    return curve


def evaluate(
    detector: Detector, images: Sequence[Path], truth: dict[str, Any], operating_conf: float
) -> dict[str, Any]:
    results = run_detector(detector, images)
    summary, evaluator = coco_evaluate(results, truth)
    report: dict[str, Any] = {
        "map50_95": summary["map50_95"],
        "map50": summary["map50"],
        "per_class": {},
        "precision": 0.0,
        "recall": 0.0,
        "operating_conf": operating_conf,
        "images": summary["images"],
        "unmatched_labels": summary["unmatched_labels"],
    }
    if evaluator is not None:
        precision, recall, tp, fp, n_truth = operating_point(evaluator, operating_conf)
        report.update(
            per_class=per_class_ap(evaluator),
            precision=precision,
            recall=recall,
            true_positives=tp,
            false_positives=fp,
            ground_truth=n_truth,
            pr_curve=pr_curve(evaluator),
        )
    return report
