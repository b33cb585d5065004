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

With a ``reload`` (``edgecv run`` passes one), SIGHUP reloads the config in-process (see
:mod:`edgecv.service.reload`): live changes apply between frames; a changed model or source stops the
pipeline after the frame in flight, the changed parts are replaced, and step 4 runs again on a new pipeline
over the same sinks (the same MQTT connection) unless they had to be rebuilt too.
"""

from __future__ import annotations

import itertools
import logging
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any

from ..capture.base import FrameSource
from ..config import Settings
from ..detect.detector import Detector
from ..errors import EdgecvError
from ..mqtt.commands import Baseline, CameraControl, control_of
from ..output.base import ClosesBy, DescribesCameras, Sink, WatchesCameras
from ..output.record import record_sink
from ..pipeline.build import build_cameras, build_detector, build_sinks, build_sources, build_tracker
from ..pipeline.camera import Camera
from ..pipeline.loop import Pipeline, RunResult
from ..pipeline.summary import summary_dict
from ..pipeline.timing import StageTimes
from .reload import PublishesErrors, Reconfigures, Reloader, ReloadPlan, ReloadWorker
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


@dataclass
class RunState:
    """What a run holds now; a reload replaces parts of it. Written by the main thread (and, for
    ``settings`` after a live reload, the reload thread), read by the reload thread."""

    settings: Settings
    detector: Detector
    sources: list[FrameSource]
    cameras: list[Camera]
    controls: dict[str, CameraControl]
    sinks: list[Sink]
    pipeline: Pipeline | None = None
    stop_requested: bool = False  # SIGINT/SIGTERM arrived: no reload reopens anything after it
    results: list[RunResult] = field(default_factory=list)


class Runner:
    """Runs the pipeline ``settings`` describe; ``max_frames`` stops after that many, ``record`` also writes
    every frame and event line to a file; ``reload`` (the settings as they read now) turns SIGHUP into an
    in-process reload. Call :meth:`run` once, from the main thread (signal handlers)."""

    def __init__(
        self,
        settings: Settings,
        *,
        max_frames: int | None = None,
        record: Path | None = None,
        reload: Callable[[], Settings] | None = None,
        config_file: str | None = None,
    ) -> None:
        self.settings = settings
        self.max_frames = max_frames
        self.record = record
        self.reload = reload
        self.config_file = config_file or ""  # named in a refused reload's error message
        self._ids = itertools.count(1)  # track ids, unique over the run and its reloads
        self._timings = StageTimes()
        self._recording: Sink | None = None

    def run(self) -> RunReport:
        settings = self.settings
        sources = build_sources(settings)
        detector = build_detector(settings)
        cameras = build_cameras(settings, detector, sources, self._ids)
        controls = {c.name: control_of(c, detector.labels) for c in cameras}
        self._recording = record_sink(self.record, detector.labels) if self.record else None
        sinks = self._build_sinks(settings, detector, cameras, controls)
        state = RunState(settings, detector, sources, cameras, controls, sinks)
        pipeline = state.pipeline = self._pipeline(state)
        # sd_notify (READY, WATCHDOG, STATUS, STOPPING) when run by systemd; health checks always. Sinks
        # that report each camera's state (MQTT availability) hear it from the watchdog, which decides it.
        watchdog = ServiceWatchdog(
            pipeline,
            settings.service,
            on_fatal=self._on_fatal(state),
            on_camera=_camera_watchers(sinks),
            on_state=_state_watchers(sinks),
        )
        reloads = (
            ReloadWorker(
                Reloader(self.reload, partial(_publish_error, state, self.config_file)),
                state,
                watchdog.notifier,
            )
            if self.reload is not None
            else None
        )
        try:
            for source in sources:
                source.open()
            with _stop_on_signals(state, watchdog), _reload_on_sighup(reloads):
                watchdog.start()
                try:
                    while True:
                        state.results.append(pipeline.run())
                        plan = reloads.take_reopen() if reloads is not None else None
                        if plan is None or state.stop_requested or watchdog.failure is not None:
                            break
                        assert reloads is not None
                        rebuilt = self._reopen(state, plan, watchdog.stop_deadline)
                        pipeline = state.pipeline = self._pipeline(state)
                        watchdog.watch(
                            pipeline,
                            _camera_watchers(state.sinks) if rebuilt else None,
                            _state_watchers(state.sinks) if rebuilt else None,
                        )
                        reloads.reopened(plan)
                        if state.stop_requested:  # a signal while reopening: the new pipeline only drains
                            pipeline.stop()
                finally:
                    watchdog.stop()
                    if reloads is not None:
                        reloads.stop()
        finally:
            # Sinks (MQTT publishes offline and flushes) and sources close side by side, bounded as a whole;
            # also when the start failed half way, so that no sink is left connected.
            deadline = watchdog.stop_deadline
            closes = [(f"sink {type(s).__name__}", _closer(s, deadline)) for s in state.sinks] + [
                (s.name, s.close) for s in state.sources
            ]
            close_all(closes, deadline=deadline)
        extra: dict[str, Any] = {}
        for sink in state.sinks:
            extra.update(sink.summary())
        extra.update(watchdog.summary())
        return RunReport(
            _combined(state.results), summary_dict(_combined(state.results), extra), watchdog.failure
        )

    def _build_sinks(
        self,
        settings: Settings,
        detector: Detector,
        cameras: list[Camera],
        controls: dict[str, CameraControl],
    ) -> list[Sink]:
        sinks = build_sinks(settings, detector, cameras, self._timings, controls=controls)
        if self._recording is not None:
            sinks.append(self._recording)
        return sinks

    def _pipeline(self, state: RunState) -> Pipeline:
        done = sum(r.frames for r in state.results)
        left = None if self.max_frames is None else max(1, self.max_frames - done)
        return Pipeline(state.detector, state.cameras, state.sinks, max_frames=left, timings=self._timings)

    def _reopen(self, state: RunState, plan: ReloadPlan, deadline: float) -> bool:
        """Apply a reload that reopens the model or sources (main thread, the pipeline stopped); True when
        the cameras and sinks were rebuilt."""
        settings = plan.settings
        detector = plan.detector or state.detector
        if plan.rebuild:
            old = [s for s in state.sinks if s is not self._recording]
            close_all(
                [(f"sink {type(s).__name__}", _closer(s, deadline)) for s in old]
                + [(s.name, s.close) for s in state.sources],
                deadline=deadline,
            )
            sources = list(plan.sources.values())
            for source in sources:
                source.open()
            cameras = build_cameras(settings, detector, sources, self._ids)
            state.controls = {c.name: control_of(c, detector.labels) for c in cameras}
            state.sinks = self._build_sinks(settings, detector, cameras, state.controls)
            state.sources, state.cameras = sources, cameras
        else:
            sections = settings.camera_sections()
            where = (lambda name: f"cameras.{name}.") if settings.cameras else (lambda name: "")
            for i, camera in enumerate(state.cameras):
                replacement = plan.sources.get(camera.name)
                if replacement is not None:
                    camera.source.close()
                    replacement.open()
                    camera.source = state.sources[i] = replacement
                # Tracks ended with the stopped pipeline (an end event each); numbering goes on.
                camera.tracker = build_tracker(
                    sections[camera.name].tracker, detector, self._ids, where(camera.name)
                )
                camera.motion = sections[camera.name].motion
                state.controls[camera.name].reset(
                    Baseline(plan.params[camera.name], motion=camera.motion.enabled)
                )
                camera.ended, camera.error = False, None
            for sink in state.sinks:
                if isinstance(sink, Reconfigures):
                    sink.reconfigure(settings)
        state.detector, state.settings = detector, settings
        return plan.rebuild

    def _on_fatal(self, state: RunState) -> Callable[[str], None]:
        deadline_s = self.settings.service.stop_deadline_s

        def on_fatal(reason: str) -> None:
            # Called from the watchdog thread. The normal stop is tried first; an inference stuck inside
            # invoke() never returns to see it, so the process is ended anyway once the stop budget is spent.
            if state.pipeline is not None:
                state.pipeline.stop(interrupted=False)
            exit_after(deadline_s + 1.0, f"watchdog: {reason}")

        return on_fatal


def _camera_watchers(sinks: list[Sink]) -> list[Callable[[str, bool], None]]:
    return [sink.camera_state for sink in sinks if isinstance(sink, WatchesCameras)]


def _state_watchers(sinks: list[Sink]) -> list[Callable[[str, str, str | None], None]]:
    return [sink.camera_detail for sink in sinks if isinstance(sink, DescribesCameras)]


def _publish_error(state: RunState, config_file: str, reason: str) -> None:
    """A refused reload on the MQTT error topic, when MQTT is configured."""
    for sink in state.sinks:
        if isinstance(sink, PublishesErrors):
            sink.publish_error(None, "reload", config_file, reason)


def _combined(results: list[RunResult]) -> RunResult:
    """The pipelines of a run (one, and one more per reload that reopened something) as one result."""
    last = results[-1]
    if len(results) == 1:
        return last
    sources: dict = {}
    for result in results:
        sources.update(result.sources)
    return RunResult(
        frames=sum(r.frames for r in results),
        duration_s=sum(r.duration_s for r in results),
        stages_ms=last.stages_ms,  # the run's one StageTimes: already over every pipeline
        sources=sources,
        errors=[e for r in results for e in r.errors],
        interrupted=last.interrupted,
        steady_s=sum(r.steady_s for r in results),
        cameras=last.cameras,  # cameras keep their counters over reloads
    )


@contextmanager
def _reload_on_sighup(reloads: ReloadWorker | None) -> Iterator[None]:
    """SIGHUP asks the reload thread to reload the config (nothing else happens in the handler)."""
    if reloads is None:
        yield
        return
    reloads.start()

    def on_hup(_signum: int, _frame: FrameType | None) -> None:
        reloads.request()

    previous = signal.signal(signal.SIGHUP, on_hup)
    try:
        yield
    finally:
        signal.signal(signal.SIGHUP, previous)


def _closer(sink: Sink, deadline: float) -> Callable[[], None]:
    if isinstance(sink, ClosesBy):
        return partial(sink.close_by, deadline)
    return sink.close


@contextmanager
def _stop_on_signals(state: RunState, watchdog: ServiceWatchdog) -> Iterator[None]:
    """SIGINT/SIGTERM stop the pipeline after the frame in flight; a second one raises KeyboardInterrupt."""

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        pipeline = state.pipeline
        if state.stop_requested:
            raise KeyboardInterrupt  # a second Ctrl-C: stop waiting for the frame in flight
        state.stop_requested = True  # also stops a reload that is reopening between two pipelines
        name = signal.Signals(signum).name
        log.info("received %s, finishing the frame in flight", name)
        if pipeline is not None:
            pipeline.stop()
        watchdog.stop(f"stopping: {name}")

    previous = {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
