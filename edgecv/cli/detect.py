"""``edgecv detect``: images in, one JSON line per image out."""

from __future__ import annotations

import argparse
import glob
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2

from ..contracts import detections_json
from ..errors import InputError
from ..images import is_glob, list_images
from ..pipeline.build import build_detector, require_model
from .common import add_config_flag, add_detect_flags, add_model_flags, settings_from

HELP = "Detect objects in images; print one JSON line per image."
log = logging.getLogger("edgecv.detect")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_flags(parser)
    add_detect_flags(parser)
    add_config_flag(parser)
    parser.add_argument("paths", nargs="+", metavar="PATH", help="images, folders of images or glob patterns")


def expand(paths: list[str]) -> Iterator[str]:
    """Each path as given, a folder as its images, a glob (naming no existing path) as its sorted matches."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from (str(p) for p in list_images(path))
        elif not path.exists() and is_glob(raw):
            yield from sorted(glob.glob(raw))
        else:
            yield raw


def main(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    require_model(settings, "edgecv detect")
    detector = build_detector(settings)
    decimals = settings.output.decimals
    processed = 0
    for path in expand(args.paths):
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None:
            reason = "no such file" if not Path(path).exists() else "not a readable image"
            log.warning("skipping %s: %s", path, reason)
            continue
        detections = detector.detect(image)
        height, width = image.shape[:2]
        line = {
            "image": path,
            "width": width,
            "height": height,
            "detections": detections_json(detections, detector.labels, decimals),
        }
        sys.stdout.write(json.dumps(line, separators=(",", ":")) + "\n")
        processed += 1
    sys.stdout.flush()
    if not processed:
        raise InputError("no image could be processed", "check the paths: each must be a readable image file")
    return 0
