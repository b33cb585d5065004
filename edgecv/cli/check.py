"""``edgecv check``: what a model is and how edgecv will read it."""

from __future__ import annotations

import argparse

from ..pipeline.build import build_detector
from .common import add_config_flag, add_model_flags, settings_from

HELP = "Inspect a model: inputs, outputs, detected family and layout."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_flags(parser)
    add_config_flag(parser)


def main(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    detector = build_detector(settings)
    info = detector.describe()
    width = max(len(k) for k in info)
    for key, value in info.items():
        values = value if isinstance(value, list) else [value]
        for i, item in enumerate(values):
            print(f"{key if i == 0 else '':<{width}}  {item}")
    return 0
