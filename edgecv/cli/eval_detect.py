"""``edgecv eval detect``: mAP, per-class AP and precision/recall of a model on labelled images."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import ConfigError
from ..evaluate.annotations import annotated_images, load_annotations
from ..evaluate.detection import evaluate, find_eval_images
from ..evaluate.plot import write_pr_plot
from ..pipeline.build import build_detector
from .common import add_config_flag, add_model_flags, settings_from

HELP = "Score a model on labelled images (COCO json or YOLO labels): mAP, per-class AP, P/R, PR plot."


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
    detector = build_detector(settings)
    images = find_eval_images(args.images)
    names = detector.labels.names
    truth = load_annotations(args.annotations, images, names)
    scored = annotated_images(images, truth, args.annotations)
    report = evaluate(detector, scored, truth, operating_conf)
    report["model"] = str(detector.model_path)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=1) + "\n")
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
