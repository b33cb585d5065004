"""``edgecv run``: the main job."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from pathlib import Path

from ..detect.detector import Detector
from ..errors import EdgecvError
from ..output import StdoutSink
from ..pipeline.build import build_detector, build_sinks, build_sources, build_tracker_factory
from ..pipeline.loop import Pipeline
from ..pipeline.summary import summary_dict, summary_text
from ..pipeline.timing import StageTimes
from ..service.shutdown import close_all, exit_after
from ..service.watchdog import ServiceWatchdog
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
    parser.add_argument(
        "--record",
        metavar="PATH",
        help="also write every frame and event line (with track ids) to PATH, for 'edgecv eval track --recorded'",
    )


def record_sink(path: Path, detector: Detector, several_sources: bool) -> StdoutSink:
    """The stdout JSON lines, every frame included, into a file: a replay that eval track can score."""
    try:
        stream = path.open("w", encoding="utf-8")
    except OSError as exc:
        raise EdgecvError(
            f"cannot write the recording {path}: {exc.strerror}", "check --record's folder"
        ) from None
    return StdoutSink(
        detector.labels, stream=stream, include_empty=True, with_source=several_sources, owns_stream=True
    )


def main(args: argparse.Namespace) -> int:
    if args.max_frames is not None and args.max_frames < 1:
        raise EdgecvError(f"--max-frames must be at least 1, got {args.max_frames}")
    settings = settings_from(args)
    sources = build_sources(settings)  # a wrong path fails before the model takes seconds to load
    detector = build_detector(settings)
    timings = StageTimes()
    sinks = build_sinks(settings, detector, sources, timings)
    if args.record:
        sinks.append(record_sink(Path(args.record), detector, len(sources) > 1))
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

    def on_fatal(reason: str) -> None:
        # Called from the watchdog thread. The normal stop is tried first; an inference stuck inside
        # invoke() never returns to see it, so the process is ended anyway once the stop budget is spent.
        pipeline.stop(interrupted=False)
        exit_after(settings.service.stop_deadline_s + 1.0, f"watchdog: {reason}")

    # sd_notify (READY, WATCHDOG, STATUS, STOPPING) when run by systemd; health checks always.
    watchdog = ServiceWatchdog(pipeline, sources, settings.service, on_fatal=on_fatal)

    def on_signal(signum: int, _frame: object) -> None:
        if pipeline.stopping:
            raise KeyboardInterrupt  # a second Ctrl-C: stop waiting for the frame in flight
        log.info("received %s, finishing the frame in flight", signal.Signals(signum).name)
        pipeline.stop()
        watchdog.stop(f"stopping: {signal.Signals(signum).name}")

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    watchdog.start()
    try:
        result = pipeline.run()
    finally:
        watchdog.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        # Sinks (MQTT publishes offline and flushes) and sources close side by side, bounded as a whole.
        close_all(
            [(f"sink {type(s).__name__}", s.close) for s in sinks] + [(s.name, s.close) for s in sources],
            deadline=watchdog.stop_deadline,
        )
    extra: dict = {}
    for sink in sinks:
        extra.update(sink.summary())
    extra.update(watchdog.summary())
    summary = summary_dict(result, extra)
    print(summary_text(summary), file=sys.stderr)
    if args.summary_json:
        Path(args.summary_json).write_text(json.dumps(summary, indent=2) + "\n")
    if watchdog.failure is not None:
        raise EdgecvError(
            f"watchdog: {watchdog.failure}", "systemd restarts the service (Restart=on-failure)"
        )
    if result.frames == 0 and result.errors:
        raise EdgecvError(result.errors[0])
    return 0
