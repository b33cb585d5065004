"""``edgecv check``: what a model is and how edgecv will read it; with a config, a self-test of every part."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..config import CONFIG_ENV
from ..pipeline.build import build_detector
from ..service import access
from ..service.checks import exit_code, run_checks, table
from ..service.credentials import CREDENTIALS_DIR
from .common import add_config_flag, add_model_flags, overrides_from, settings_from

HELP = (
    "With --model only: inspect a model (inputs, outputs, family, layout). Otherwise: validate the config, "
    "read a frame, run one inference and connect to the broker; print a pass/fail/skipped table "
    "(exit 0 only when every configured part passes; 2 when an input must be fixed, 1 for other failures)."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_flags(parser)
    add_config_flag(parser)
    parser.add_argument("--source", metavar="S", help="source to try instead of source.uri")


def main(args: argparse.Namespace) -> int:
    config = args.config or os.environ.get(CONFIG_ENV) or None
    if args.model and not config and not args.source:
        return _describe_model(args)
    if config and access.is_service_config(config) and "CREDENTIALS_DIRECTORY" not in os.environ:
        # Outside systemd, read the credentials where the units' LoadCredential= lines read them, so a
        # password moved out of the config still counts (and is tried against the broker).
        credentials = Path(config).absolute().parent / CREDENTIALS_DIR.name
        if credentials.is_dir():
            os.environ["CREDENTIALS_DIRECTORY"] = str(credentials)
    checks = run_checks(config, overrides_from(args))
    print(table(checks))
    return exit_code(checks)


def _describe_model(args: argparse.Namespace) -> int:
    """The model as edgecv reads it; labels that do not fit its classes are described, then an error (2)."""
    settings = settings_from(args)
    detector = build_detector(settings, check_labels=False)
    info = detector.describe()
    misfit = detector.labels_fit()
    if misfit is not None:
        info["labels"] = f"{info['labels']}: DO NOT FIT, {misfit.message}"
    width = max(len(k) for k in info)
    for key, value in info.items():
        values = value if isinstance(value, list) else [value]
        for i, item in enumerate(values):
            print(f"{key if i == 0 else '':<{width}}  {item}")
    if misfit is not None:
        raise misfit
    return 0
