"""One ``edgecv run`` from start to finish: build, open, watch, run, stop, close, report.

The order matters and is kept here, once:

1. every camera's source is built first, so a wrong path fails before the model takes seconds to load;
   then the detector, the cameras (each with its detection parameters and tracker), the sinks
   ``output.sinks`` allows (plus ``--record``) and the pipeline;
2. sources are opened (a camera that cannot be opened fails the start, unless ``source.retry_open``, which
   every live camera of a ``cameras`` map has unless told otherwise: one absent camera must not keep the
   others from running);
3. SIGINT/SIGTERM handlers go in: the first signal finishes the frame in flight and stops, a second one
   raises ``KeyboardInterrupt`` (stop waiting for that frame); the watchdog starts (sd_notify, health);
4. the pipeline runs until its sources end, ``max_frames``, a signal or the watchdog stops it;
5. whatever happened, the watchdog stops, the old signal handlers come back, and every sink and source is
   closed side by side against one deadline (``service.stop_deadline_s`` after the stop was asked for). A
   sink with local work after its network wait (MQTT: flush, then its spool made consistent on disk) is
   handed that deadline (:class:`~edgecv.output.base.ClosesBy`) and ends its wait early enough to finish:
   it is never abandoned half way;
6. the sinks' and the watchdog's counters join the pipeline's result in the run summary.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any

from ..config import Settings
from ..errors import EdgecvError
from ..output.base import ClosesBy, DescribesCameras, Sink, WatchesCameras
from ..output.record import record_sink
from ..pipeline.build import build_cameras, build_detector, build_sinks, build_sources
from ..pipeline.loop import Pipeline, RunResult
from ..pipeline.summary import summary_dict
from ..pipeline.timing import StageTimes
from .shutdown import close_all, exit_after
from .watchdog import ServiceWatchdog

log = logging.getLogger("edgecv.run")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True)
class RunReport:
    """How a run went: the pipeline's result, the summary (``--summary-json``) and the watchdog's verdict."""

    result: RunResult
    summary: dict[str, Any]
    failure: str | None  # why the watchdog gave up; None when it did not

    def raise_for_failure(self) -> None:
        """``EdgecvError`` (exit 1) when the run failed: the watchdog gave up, or a source failed, before the
        first frame or mid-run (a camera that did not come back is a failure, not the end of a clip)."""
        if self.failure is not None:
            raise EdgecvError(
                f"watchdog: {self.failure}", "systemd restarts the service (Restart=on-failure)"
            )
        if self.result.errors:
            raise EdgecvError(self.result.errors[0])


class Runner:
    """Runs the pipeline ``settings`` describe; ``max_frames`` stops after that many, ``record`` also writes
    every frame and event line to a file. Call :meth:`run` once, from the main thread (signal handlers)."""

    def __init__(
        self, settings: Settings, *, max_frames: int | None = None, record: Path | None = None
    ) -> None:
        self.settings = settings
        self.max_frames = max_frames
        self.record = record

    def run(self) -> RunReport:
        settings = self.settings
        sources = build_sources(settings)
        detector = build_detector(settings)
        cameras = build_cameras(settings, detector, sources)
        recording = record_sink(self.record, detector.labels) if self.record else None
        timings = StageTimes()
        sinks = build_sinks(settings, detector, cameras, timings)
        if recording is not None:
            sinks.append(recording)
        pipeline = Pipeline(detector, cameras, sinks, max_frames=self.max_frames, timings=timings)
        # sd_notify (READY, WATCHDOG, STATUS, STOPPING) when run by systemd; health checks always. Sinks
        # that report each camera's state (MQTT availability) hear it from the watchdog, which decides it.
        watchdog = ServiceWatchdog(
            pipeline,
            settings.service,
            on_fatal=self._on_fatal(pipeline),
            on_camera=[sink.camera_state for sink in sinks if isinstance(sink, WatchesCameras)],
            on_state=[sink.camera_detail for sink in sinks if isinstance(sink, DescribesCameras)],
        )
        try:
            for source in sources:
                source.open()
            with _stop_on_signals(pipeline, watchdog):
                watchdog.start()
                try:
                    result = pipeline.run()
                finally:
                    watchdog.stop()
        finally:
            # Sinks (MQTT publishes offline and flushes) and sources close side by side, bounded as a whole;
            # also when the start failed half way, so that no sink is left connected.
            deadline = watchdog.stop_deadline
            closes = [(f"sink {type(s).__name__}", _closer(s, deadline)) for s in sinks] + [
                (s.name, s.close) for s in sources
            ]
            close_all(closes, deadline=deadline)
        extra: dict[str, Any] = {}
        for sink in sinks:
            extra.update(sink.summary())
        extra.update(watchdog.summary())
        return RunReport(result, summary_dict(result, extra), watchdog.failure)

    def _on_fatal(self, pipeline: Pipeline) -> Callable[[str], None]:
        deadline_s = self.settings.service.stop_deadline_s

        def on_fatal(reason: str) -> None:
            # Called from the watchdog thread. The normal stop is tried first; an inference stuck inside
            # invoke() never returns to see it, so the process is ended anyway once the stop budget is spent.
            pipeline.stop(interrupted=False)
            exit_after(deadline_s + 1.0, f"watchdog: {reason}")

        return on_fatal


def _closer(sink: Sink, deadline: float) -> Callable[[], None]:
    if isinstance(sink, ClosesBy):
        return partial(sink.close_by, deadline)
    return sink.close


@contextmanager
def _stop_on_signals(pipeline: Pipeline, watchdog: ServiceWatchdog) -> Iterator[None]:
    """SIGINT/SIGTERM stop the pipeline after the frame in flight; a second one raises KeyboardInterrupt."""

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if pipeline.stopping:
            raise KeyboardInterrupt  # a second Ctrl-C: stop waiting for the frame in flight
        name = signal.Signals(signum).name
        log.info("received %s, finishing the frame in flight", name)
        pipeline.stop()
        watchdog.stop(f"stopping: {name}")

    previous = {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
