"""``edgecv run``: the main job. Parses the flags and builds the settings; the run itself is
:class:`edgecv.service.runner.Runner`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from functools import partial
from pathlib import Path

from ..config import CONFIG_ENV
from ..errors import ConfigError, InputError
from ..pipeline.build import require_model, source_configured
from ..pipeline.summary import summary_text
from ..service.runner import Runner
from .common import add_config_flag, add_detect_flags, add_model_flags, settings_from

HELP = "Run the pipeline (with no arguments: the bundled demo clip and model; a source needs --model)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_flag(parser)
    add_model_flags(parser)
    add_detect_flags(parser)
    parser.add_argument(
        "--source", metavar="S", help="camera index, /dev/videoN, stream URL, file, folder or glob"
    )
    parser.add_argument("--max-frames", type=int, metavar="N", help="stop after N frames")
    parser.add_argument("--summary-json", metavar="PATH", help="write the run summary as JSON to PATH")
    parser.add_argument(
        "--record",
        metavar="PATH",
        help="also write every frame and event line (with track ids) to PATH, for 'edgecv eval track --recorded'",
    )


def main(args: argparse.Namespace) -> int:
    if args.max_frames is not None and args.max_frames < 1:
        raise ConfigError(f"--max-frames must be at least 1, got {args.max_frames}")
    settings = settings_from(args)
    if source_configured(settings):
        require_model(settings, "edgecv run with a source")
    summary_json = Path(args.summary_json) if args.summary_json else None
    if summary_json is not None and not summary_json.parent.is_dir():
        # Found now, not after a long run whose summary would then be lost.
        raise InputError(
            f"--summary-json: no folder {summary_json.parent}", "create it, or give another path"
        )
    record = Path(args.record) if args.record else None
    report = Runner(
        settings,
        max_frames=args.max_frames,
        record=record,
        reload=partial(settings_from, args),
        config_file=args.config or os.environ.get(CONFIG_ENV) or "",
    ).run()
    print(summary_text(report.summary), file=sys.stderr)
    if summary_json is not None:
        try:
            summary_json.write_text(json.dumps(report.summary, indent=2) + "\n")
        except OSError as exc:
            raise InputError(f"cannot write --summary-json {summary_json}: {exc.strerror}") from None
    report.raise_for_failure()
    return 0
