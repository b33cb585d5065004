"""``edgecv run``: the main job."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from pathlib import Path

from ..errors import EdgecvError
from ..pipeline.build import build_detector, build_sinks, build_sources, build_tracker_factory
from ..pipeline.loop import Pipeline
from ..pipeline.summary import summary_dict, summary_text
from ..pipeline.timing import StageTimes
from .common import add_config_flag, add_detect_flags, add_model_flags, settings_from

HELP = "Run the pipeline (with no arguments: the bundled demo clip and model)."
log = logging.getLogger("edgecv.run")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_flag(parser)
    add_model_flags(parser)
    add_detect_flags(parser)
    parser.add_argument(
        "--source", metavar="S", help="camera index, /dev/videoN, stream URL, file, folder or glob"
    )
    parser.add_argument("--max-frames", type=int, metavar="N", help="stop after N frames")
    parser.add_argument("--summary-json", metavar="PATH", help="write the run summary as JSON to PATH")


def main(args: argparse.Namespace) -> int:
    if args.max_frames is not None and args.max_frames < 1:
        raise EdgecvError(f"--max-frames must be at least 1, got {args.max_frames}")
    settings = settings_from(args)
    sources = build_sources(settings)  # a wrong path fails before the model takes seconds to load
    detector = build_detector(settings)
    timings = StageTimes()
    sinks = build_sinks(settings, detector, sources, timings)
    for source in sources:
        source.open()
    pipeline = Pipeline(
        detector,
        sources,
        sinks,
        max_frames=args.max_frames,
        timings=timings,
        tracker_factory=build_tracker_factory(settings, detector),
    )

    def on_signal(signum: int, _frame: object) -> None:
        if pipeline.stopping:
            raise KeyboardInterrupt  # a second Ctrl-C: stop waiting for the frame in flight
        log.info("received %s, finishing the frame in flight", signal.Signals(signum).name)
        pipeline.stop()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        result = pipeline.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for source in sources:
            source.close()
        for sink in sinks:
            sink.close()
    extra: dict = {}
    for sink in sinks:
        extra.update(sink.summary())
    summary = summary_dict(result, extra)
    print(summary_text(summary), file=sys.stderr)
    if args.summary_json:
        Path(args.summary_json).write_text(json.dumps(summary, indent=2) + "\n")
    if result.frames == 0 and result.errors:
        raise EdgecvError(result.errors[0])
    return 0
