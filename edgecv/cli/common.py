"""Flags shared by several subcommands and the mapping of flags onto config overrides."""

from __future__ import annotations

import argparse
from typing import Any

from ..config import Settings, load_settings
from ..config.secrets import Redactor
from ..logs import setup_logging


def add_config_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="YAML config file (also EDGECV_CONFIG)")


def add_model_flags(parser: argparse.ArgumentParser, *, required: bool = False, threads: bool = True) -> None:
    parser.add_argument("--model", metavar="M", required=required, help="the .tflite model (model.path)")
    parser.add_argument("--labels", metavar="L", help="label file (model.labels)")
    if threads:
        parser.add_argument("--threads", type=int, metavar="N", help="interpreter threads (model.threads)")


def add_detect_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--conf", type=float, metavar="X", help="minimum score (detect.conf, default 0.25)")
    parser.add_argument("--iou", type=float, metavar="X", help="NMS IoU threshold (detect.iou, default 0.45)")
    parser.add_argument(
        "--max-detections",
        type=int,
        metavar="N",
        help="boxes kept per image (detect.max_detections, default 300)",
    )


# flag attribute → (section, key)
FLAG_KEYS = {
    "model": ("model", "path"),
    "labels": ("model", "labels"),
    "threads": ("model", "threads"),
    "conf": ("detect", "conf"),
    "iou": ("detect", "iou"),
    "max_detections": ("detect", "max_detections"),
    "source": ("source", "uri"),
}


def overrides_from(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    overrides: dict[str, dict[str, Any]] = {}
    for attr, (section, key) in FLAG_KEYS.items():
        value = getattr(args, attr, None)
        if value is not None:
            overrides.setdefault(section, {})[key] = value
    return overrides


# dotted key → the flag that sets it, so a config error blames "--iou", not "the command line"
FLAG_NAMES = {f"{section}.{key}": "--" + attr.replace("_", "-") for attr, (section, key) in FLAG_KEYS.items()}


def settings_from(args: argparse.Namespace) -> Settings:
    settings = load_settings(getattr(args, "config", None), overrides_from(args), flags=FLAG_NAMES)
    setup_logging(settings.log.level, settings.log.format, Redactor.for_settings(settings))
    return settings
