"""``edgecv eval detect``: mAP, per-class AP and precision/recall of a model on labelled images."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from ..detect.detector import Detector
from ..errors import ConfigError, InputError
from ..evaluate.annotations import annotated_images, load_annotations, unmatched_categories
from ..evaluate.detection import evaluate, find_eval_images
from ..evaluate.plot import write_pr_plot
from ..pipeline.build import build_detector, require_model
from .common import add_config_flag, add_model_flags, settings_from

HELP = "Score a model on labelled images (COCO json or YOLO labels): mAP, per-class AP, P/R, PR plot."
log = logging.getLogger("edgecv.eval")
SHOWN_NAMES = 12  # unmatched category names listed in a message; the report holds them all


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_flags(parser)
    add_config_flag(parser)
    parser.add_argument("--images", required=True, type=Path, metavar="DIR", help="folder of images")
    parser.add_argument(
        "--annotations",
        required=True,
        type=Path,
        metavar="A",
        help="COCO instances.json or a folder of YOLO .txt labels",
    )
    parser.add_argument(
        "--conf", dest="map_conf", type=float, default=0.001, help="score threshold for mAP (default 0.001)"
    )
    parser.add_argument(
        "--iou",
        type=float,
        metavar="X",
        help="NMS IoU threshold of the detector (detect.iou, default 0.45); the mAP's own IoUs are COCO's",
    )
    parser.add_argument(
        "--operating-conf",
        type=float,
        metavar="X",
        help="threshold for precision/recall (default: detect.conf of the config, 0.25)",
    )
    parser.add_argument(
        "--report",
        type=Path,
        metavar="PATH",
        default=Path("edgecv-eval-detect.json"),
        help="JSON report path; the PR plot is written beside it as .png (default edgecv-eval-detect.json)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object on stdout")


def main(args: argparse.Namespace) -> int:
    if not 0 <= args.map_conf <= 1:
        raise ConfigError(f"--conf must be between 0 and 1, got {args.map_conf}")
    operating_conf = args.operating_conf
    settings = settings_from(args)
    if operating_conf is None:
        operating_conf = settings.detect.conf
    settings.detect.conf = args.map_conf
    require_model(settings, "edgecv eval detect")
    detector = build_detector(settings)
    images = find_eval_images(args.images)
    names = detector.labels.names
    truth = load_annotations(args.annotations, images, names)
    scored = annotated_images(images, truth, args.annotations)
    unmatched = _check_names(detector, truth, scored, args.annotations)
    report = evaluate(detector, scored, truth, operating_conf)
    report["model"] = str(detector.model_path)
    report["iou"] = settings.detect.iou
    report["unmatched_annotations"] = unmatched
    try:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(report, indent=1) + "\n")
    except OSError as exc:
        raise InputError(
            f"cannot write --report {args.report}: {exc.strerror}", "give a writable path"
        ) from None
    plot = args.report.with_suffix(".png")
    if "pr_curve" in report:
        title = f"{detector.model_path.name}: mAP50-95 {report['map50_95']:.3f}, mAP50 {report['map50']:.3f}"
        write_pr_plot(plot, report["pr_curve"], title, (report["precision"], report["recall"]))
    if args.json:
        print(json.dumps({k: v for k, v in report.items() if k != "pr_curve"}))
    else:
        print(
            f"mAP50-95 {report['map50_95']:.4f}  mAP50 {report['map50']:.4f}  "
            f"P {report['precision']:.3f}  R {report['recall']:.3f} at conf {operating_conf:g}  "
            f"({report['images']} images)"
        )
        for name, row in sorted(report["per_class"].items(), key=lambda kv: -kv[1]["ap50_95"]):
            print(f"  {name:<20} AP50-95 {row['ap50_95']:.3f}  AP50 {row['ap50']:.3f}  n={row['instances']}")
        print(f"report: {args.report}  plot: {plot}", file=sys.stderr)
    return 0


def _check_names(
    detector: Detector, truth: dict[str, Any], images: list[Path], annotations: Path
) -> dict[str, int]:
    """Annotated objects the model cannot name (scored by name, they can only be missed): an error when they
    are more than half of all, a warning otherwise. Returns them per category name, for the report."""
    classes = detector.decoder.num_classes or len(detector.labels)
    if not classes:
        return {}  # a model that states no class count and has no labels: nothing to compare against
    model_names = [detector.labels.name(i) for i in range(classes)]
    unmatched, total = unmatched_categories(truth, images, model_names)
    if not unmatched:
        return unmatched
    missed = sum(unmatched.values())
    listed = ", ".join(f"{name!r} ({count})" for name, count in list(unmatched.items())[:SHOWN_NAMES])
    listed += ", ..." if len(unmatched) > SHOWN_NAMES else ""
    what = f"{missed} of {total} annotated objects in {annotations} are of classes the model does not name"
    if 2 * missed > total:
        known = ", ".join(model_names[:SHOWN_NAMES]) + (", ..." if len(model_names) > SHOWN_NAMES else "")
        raise ConfigError(
            f"{what}: {listed}; scoring would report them all as missed",
            f"the model's labels are: {known}. Name the categories as the model does, or give --labels "
            "with the model's classes under the annotations' names",
        )
    log.warning("%s (they count as missed): %s", what, listed)
    return unmatched
