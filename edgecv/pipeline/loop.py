"""The run loop on three kinds of thread, so that inference never waits for anything else.

* one **capture** thread per camera reads a frame and preprocesses it into one of that camera's input
  buffers, while the interpreter works on another;
* the **inference** thread (the caller's) is the only one touching the interpreter: it takes the next
  camera's prepared buffer (round-robin, see :mod:`edgecv.pipeline.schedule`), copies it in, invokes, copies
  the outputs out and moves on. LiteRT releases the GIL inside ``invoke()``, so the other threads run
  meanwhile;
* one **post** thread decodes, suppresses, tracks and hands results to the sinks.

Several cameras share the one interpreter (a Coral can be opened by one process only): each has its own
capture thread, buffers, detection parameters, tracker, counters and stage timings
(:class:`~edgecv.pipeline.camera.Camera`). A live camera offers only its newest prepared frame; a file
camera queues every frame, so a run over files gives each camera the detections of a one-camera run.

With motion gating (``motion.enabled``) the capture thread measures motion on a small grey copy of each frame
before preprocessing it; a frame on which nothing moves (and no track does) is not preprocessed nor inferred
but queued as *skipped* in the same per-camera queue, so it keeps its place among the camera's frames, and the
post thread lets the tracker hold its tracks on it (:meth:`~edgecv.track.tracker.ByteTracker.hold`).
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ..capture.base import FrameSource, FrameTimeout
from ..capture.stats import SourceStats
from ..detect.detector import Detector
from ..detect.preprocess import Transform
from ..detections import Detections
from ..errors import SourceError
from ..frame import Frame
from ..output.base import Sink, WantsCandidates, WritesSceneEvents
from ..scene.events import SceneEvent
from ..scene.motion import FrameGate
from ..track.events import TrackEvent
from .camera import Camera, CameraSummary, FrameTracker
from .heartbeats import Heartbeats
from .schedule import DONE, RoundRobin
from .timing import StageTimes

__all__ = ["Camera", "FrameTracker", "Pipeline", "RunResult"]

log = logging.getLogger(__name__)

# A file camera queues one frame while the interpreter has the other; a live camera also prepares its
# next frame while one waits for its turn, so that the waiting one can be replaced by a newer one.
FILE_BUFFERS = 2
LIVE_BUFFERS = 3
POLL_S = 0.2  # how often blocked threads look at the stop flag
CANDIDATE_CONF = 0.05  # WantsCandidates: the threshold of the second decode, below every useful one
CANDIDATES_MAX = 10  # ... and how many of the best candidates under the camera's threshold it hands over
SWITCH_INTERVAL_S = 0.0002
_NO_DETECTIONS = Detections.empty()


@dataclass
class _Job:
    frame: Frame
    tensor: np.ndarray
    transform: Transform
    free: queue.Queue[np.ndarray]


@dataclass
class _Skip:
    """A frame the detector skips, queued in its place among the camera's frames."""

    frame: Frame
    tensor: np.ndarray  # an unused input buffer, held so that skipped frames too are bounded by the buffers
    free: queue.Queue[np.ndarray]
    hold: bool  # skipped because nothing moved: the tracker holds its tracks (not when detection is off)


@dataclass
class _End:
    """A camera's capture is over (its source ended, failed or the run is stopping): queued behind its
    last frame, so the post thread closes its tracks after that frame."""


@dataclass
class _Result:
    camera: int
    frame: Frame
    outputs: list[np.ndarray]
    transform: Transform


@dataclass
class _Skipped:
    camera: int
    frame: Frame
    hold: bool


@dataclass
class _Closed:
    camera: int


@dataclass
class RunResult:
    frames: int
    duration_s: float
    stages_ms: dict[str, dict[str, float]]
    sources: dict[str, SourceStats]  # by source name
    errors: list[str] = field(default_factory=list)
    interrupted: bool = False
    # first to last frame out: the rate once the pipeline is full, without start-up and drain
    steady_s: float = 0.0
    cameras: dict[str, CameraSummary] = field(default_factory=dict)  # by camera name, in config order

    @property
    def fps(self) -> float:
        return self.frames / self.duration_s if self.duration_s > 0 else 0.0


class Pipeline:
    """One run of ``detector`` over ``cameras`` into ``sinks``.

    ``cameras`` are :class:`Camera` objects, or plain sources: each becomes a camera named by its
    ``source_id``, with the detector's parameters and a tracker from ``tracker_factory`` (when given).

    Who owns what: the caller owns the sources and the sinks. It opens the sources before :meth:`run` and
    closes both afterwards (:class:`edgecv.service.runner.Runner` does, against the stop deadline); the
    pipeline only reads and writes them. The pipeline owns its threads and queues: :meth:`run` starts them
    and joins them before it returns. A pipeline runs once: a second :meth:`run` raises ``RuntimeError``
    (its counters, trackers and stop flag belong to the first); build a new one for the next run, over the
    same detector, sources and sinks if need be.
    """

    def __init__(
        self,
        detector: Detector,
        cameras: Sequence[Camera | FrameSource],
        sinks: list[Sink],
        *,
        max_frames: int | None = None,
        timings: StageTimes | None = None,
        tracker_factory: Callable[[], FrameTracker] | None = None,
    ) -> None:
        if not cameras:
            raise ValueError("a pipeline needs at least one camera")
        self.cameras = [
            c if isinstance(c, Camera) else Camera.of(c, tracker_factory() if tracker_factory else None)
            for c in cameras
        ]
        names = [c.name for c in self.cameras]
        if len(set(names)) != len(names):
            raise ValueError(f"camera names must be unique, got {names}")
        wrong = [c.name for c in self.cameras if c.source.source_id != c.name]
        if wrong:
            raise ValueError(f"sources must stamp their camera's name as source_id: {wrong}")
        self.detector = detector
        self.sources = [c.source for c in self.cameras]
        self.sinks = sinks
        self._scene_sinks = [sink for sink in sinks if isinstance(sink, WritesSceneEvents)]
        self.max_frames = max_frames
        self.timings = timings or StageTimes()
        self._stop = threading.Event()
        self._ran = False
        self._jobs: RoundRobin[_Job | _Skip | _End] = RoundRobin(len(self.cameras))
        self._results: queue.Queue[_Result | _Skipped | _Closed | None] = queue.Queue(maxsize=4)
        self._errors: list[str] = []
        self._fatal: BaseException | None = None
        self.frames_out = 0
        self._interrupted = False
        self._last_frames: dict[int, Frame] = {}
        self.progress = Heartbeats()  # heartbeats for a watchdog; see edgecv.service.watchdog
        self._debug_sinks = [s for s in sinks if isinstance(s, WantsCandidates)]

    # -- control ----------------------------------------------------------------------------------------

    def stop(self, interrupted: bool = True) -> None:
        """Stop capturing; frames already captured are finished. Safe from signal handlers and threads."""
        self._interrupted = self._interrupted or interrupted
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    # -- threads ----------------------------------------------------------------------------------------

    def _time(self, camera: Camera, stage: str, seconds: float) -> None:
        self.timings.add(stage, seconds)
        camera.timings.add(stage, seconds)

    def _capture(self, index: int) -> None:
        camera = self.cameras[index]
        source = camera.source
        live = camera.live
        free: queue.Queue[np.ndarray] = queue.Queue()
        for _ in range(LIVE_BUFFERS if live else FILE_BUFFERS):
            free.put(self.detector.preprocessor.new_buffer())
        gate = FrameGate(camera.motion, camera.name if len(self.cameras) > 1 else "")
        try:
            while not self._stop.is_set():
                try:
                    buffer = free.get(timeout=POLL_S)
                except queue.Empty:
                    continue
                frame = self._read(camera)
                if frame is None:
                    free.put(buffer)
                    break
                camera.last_frame = self.progress.frame = time.monotonic()
                job: _Job | _Skip | None = self._gated(camera, gate, frame, buffer, free)
                if job is None:
                    start = time.perf_counter()
                    tensor, transform = self.detector.prepare(frame.image, buffer)
                    self._time(camera, "preprocess", time.perf_counter() - start)
                    job = _Job(frame, tensor, transform, free)
                replaced = self._jobs.put(index, job, newest_only=live)
                if isinstance(replaced, (_Job, _Skip)):
                    free.put(replaced.tensor)
                    camera.replaced += 1
        except SourceError as exc:
            camera.error = (
                f"camera {camera.name}: {exc}" if len(self.cameras) > 1 else f"source {source.name}: {exc}"
            )
            self._errors.append(camera.error)
        except BaseException as exc:  # reported on the caller's thread, never swallowed
            self._fatal = self._fatal or exc
            self._stop.set()
        finally:
            camera.ended = True
            self._jobs.put(index, _End())
            self._jobs.end(index)

    def _gated(
        self, camera: Camera, gate: FrameGate, frame: Frame, buffer: np.ndarray, free: queue.Queue[np.ndarray]
    ) -> _Skip | None:
        """A skipped frame's job when the detector should skip ``frame``; None when it needs detecting."""
        if not camera.detect_enabled:
            return _Skip(replace(frame, skipped=True), buffer, free, hold=False)
        if gate.config is not camera.motion:  # a reload handed the camera a new motion section
            gate.configure(camera.motion)
        start = time.perf_counter()
        detect = gate.decide(
            frame.image, frame.mono, enabled=camera.motion_enabled, tracks_moving=camera.tracks_moving
        )
        if camera.motion_enabled:
            self._time(camera, "motion", time.perf_counter() - start)
        return None if detect else _Skip(replace(frame, skipped=True), buffer, free, hold=True)

    def _read(self, camera: Camera) -> Frame | None:
        """Next frame, or None at the end of the source or when stopping."""
        start = time.perf_counter()
        try:
            while not self._stop.is_set():
                try:
                    return camera.source.read(POLL_S)
                except FrameTimeout:
                    continue  # a live source between frames; its grabber handles real losses
            return None
        finally:
            self._time(camera, "capture_wait", time.perf_counter() - start)

    def _post(self) -> None:
        try:
            while True:
                item = self._results.get()
                if item is None:
                    return
                if isinstance(item, _Closed):
                    self._finish_tracks(item.camera)
                    continue
                if isinstance(item, _Skipped):
                    self._skipped(item)
                    continue
                camera = self.cameras[item.camera]
                frame = item.frame
                start = time.perf_counter()
                if camera.params is None:
                    detections = self.detector.finish(item.outputs, item.transform)
                else:
                    detections = self.detector.finish(item.outputs, item.transform, camera.params)
                mark = time.perf_counter()
                self._time(camera, "decode_nms", mark - start)
                events: list[TrackEvent] = []
                scene_events: list[SceneEvent] = []
                scene = camera.scene if camera.scene is not None and camera.scene.active else None
                if scene is not None:  # masks and size filters: what they drop is never tracked
                    detections = scene.filter(detections, frame)
                    scene_s, mark = time.perf_counter() - mark, time.perf_counter()
                if camera.tracker is not None:
                    detections, events = camera.tracker.update(detections, frame.ts, frame.mono)
                    # Only the motion gate reads it: no work per frame for a camera that never gates.
                    camera.tracks_moving = camera.motion_enabled and camera.tracker.needs_detection()
                    self._time(camera, "track", time.perf_counter() - mark)
                    mark = time.perf_counter()
                if scene is not None:
                    origins = camera.tracker.origins if camera.tracker is not None else None
                    detections, scene_events = scene.update(detections, frame.ts, frame.mono, origins)
                    scene_events += scene.end_tracks(events, frame.ts)
                    mark, scene_s = time.perf_counter(), scene_s + time.perf_counter() - mark
                    self._time(camera, "scene", scene_s)
                for debug in self._debug_sinks:
                    if debug.wants_candidates(camera.name):
                        debug.write_candidates(frame, self._candidates(item, camera))
                self._output(item.camera, frame, detections, events, scene_events, mark)
        except BrokenPipeError:
            # The reader of our stdout went away (`edgecv run | head`): a normal way to end.
            log.debug("output closed by its reader; stopping")
            self._stop.set()
            self._drain_results()
        except BaseException as exc:
            self._fatal = self._fatal or exc
            self._stop.set()
            self._drain_results()

    def _skipped(self, item: _Skipped) -> None:
        """A frame the detector skipped: its tracks held (when nothing moved; lost ones may end), then to the
        sinks with no detections (each sink decides whether to show it: ``output.include_skipped``)."""
        camera, frame = self.cameras[item.camera], item.frame
        tracker = camera.tracker if item.hold else None
        events = tracker.hold(frame.mono) if tracker is not None else []
        scene = camera.scene
        scene_events: list[SceneEvent] = []
        if scene is not None and tracker is not None and scene.follows_tracks:
            # The held tracks stand where the last detection saw them: their zone timers run on (loiter on
            # time); the frame's lines keep printing no detections (the documented skipped-frame contract).
            start = time.perf_counter()
            scene_events = scene.hold(tracker.held(), frame.ts, frame.mono, tracker.origins)
            self._time(camera, "scene", time.perf_counter() - start)
        if events and scene is not None:
            # A lost track that ends here also ends its zone stays, as it would on an inferred frame.
            scene_events += scene.end_tracks(events, frame.ts)
        camera.skipped_frames += 1
        self._output(item.camera, frame, _NO_DETECTIONS, events, scene_events, time.perf_counter())

    def _output(
        self,
        index: int,
        frame: Frame,
        detections: Detections,
        events: list[TrackEvent],
        scene_events: list[SceneEvent],
        mark: float,
    ) -> None:
        """Hands a frame, its detections and events to the sinks (inferred and skipped frames alike), timing
        the output stage from ``mark`` and counting the frame out of camera ``index``."""
        camera = self.cameras[index]
        for sink in self.sinks:
            sink.write_frame(frame, detections)
            if events:
                sink.write_events(frame, events)
        for scene_sink in self._scene_sinks if scene_events else ():
            scene_sink.write_scene_events(frame, scene_events)
        self._last_out = time.perf_counter()
        self._time(camera, "output", self._last_out - mark)
        self._last_frames[index] = frame
        camera.frames += 1
        self.frames_out += 1
        if self.frames_out == 1:
            self._first_out = self._last_out

    def _candidates(self, item: _Result, camera: Camera) -> Detections:
        """The best detections of a frame under the camera's threshold, from a second, low-threshold decode."""
        params = camera.params or self.detector.params
        low = self.detector.finish(item.outputs, item.transform, replace(params, conf=CANDIDATE_CONF))
        low = low[low.scores < params.conf]
        return low[np.argsort(-low.scores, kind="stable")[:CANDIDATES_MAX]]

    def _finish_tracks(self, index: int) -> None:
        """Close every open track of a camera whose capture ended, so subscribers see an ``end`` for each
        ``new``; the other cameras run on."""
        tracker = self.cameras[index].tracker
        frame = self._last_frames.get(index)
        if tracker is None or frame is None:
            return
        events = tracker.finish(frame.ts)
        scene = self.cameras[index].scene
        scene_events = scene.finish(frame.ts) if scene is not None else []
        if events:
            for sink in self.sinks:
                sink.write_events(frame, events)
        if scene_events:
            for scene_sink in self._scene_sinks:
                scene_sink.write_scene_events(frame, scene_events)

    def _drain_results(self) -> None:
        while self._results.get() is not None:
            pass

    # -- the loop ---------------------------------------------------------------------------------------

    def run(self) -> RunResult:
        """Process until every source has ended, ``max_frames`` were processed (inferred or skipped) or
        :meth:`stop` was called.

        Raises what a capture or post thread raised (other than a source's own :class:`SourceError`, which
        ends that source and is listed in ``RunResult.errors``).
        """
        if self._ran:
            raise RuntimeError("this Pipeline has already run; a pipeline runs once, build a new one")
        self._ran = True
        # When invoke() returns, the inference thread must win the GIL back from whichever Python thread
        # holds it; by default that can take the whole 5 ms switch interval, half an SSD MobileNet inference.
        previous_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(previous_interval, SWITCH_INTERVAL_S))
        try:
            return self._run()
        finally:
            sys.setswitchinterval(previous_interval)

    def _run(self) -> RunResult:
        start = time.perf_counter()
        self._last_out = self._first_out = start
        self.progress.started = time.monotonic()
        post = threading.Thread(target=self._post, name="edgecv-post", daemon=True)
        post.start()
        captures = [
            threading.Thread(target=self._capture, args=(i,), name=f"edgecv-capture-{c.name}", daemon=True)
            for i, c in enumerate(self.cameras)
        ]
        for thread in captures:
            thread.start()
        handled = 0
        # The inference thread's loop is frame_wait + inference + handoff, timed back to back so the three
        # add up to its whole time: whatever is not "inference" is time the interpreter sat idle.
        mark = time.perf_counter()
        try:
            while True:
                taken = self._jobs.take(POLL_S)
                if taken is DONE:
                    break
                if not isinstance(taken, tuple):
                    continue  # nothing within POLL_S: look at the stop flag, wait again
                index, job = taken
                if isinstance(job, _End):
                    self._results.put(_Closed(index))
                    continue
                if self.max_frames is not None and handled >= self.max_frames:
                    job.free.put(job.tensor)  # captured before the stop took effect: not processed
                    continue
                if isinstance(job, _Skip):  # straight on to the post thread, in the camera's order
                    job.free.put(job.tensor)
                    self._results.put(_Skipped(index, job.frame, job.hold))
                    handled += 1  # max_frames counts frames through the run, skipped ones too
                    if self.max_frames is not None and handled >= self.max_frames:
                        self.stop(interrupted=False)
                    continue
                camera = self.cameras[index]
                self.progress.inference_started = time.monotonic()
                started = time.perf_counter()
                self.timings.add("frame_wait", started - mark)
                outputs = self.detector.infer(job.tensor)
                finished = time.perf_counter()
                self._time(camera, "inference", finished - started)
                self.progress.inference_started = None
                job.free.put(job.tensor)
                self._results.put(_Result(index, job.frame, outputs, job.transform))
                mark = time.perf_counter()
                self.timings.add("handoff", mark - finished)
                handled += 1
                if self.max_frames is not None and handled >= self.max_frames:
                    self.stop(interrupted=False)
        finally:
            self._stop.set()
            self._results.put(None)
            post.join()
            for thread in captures:
                thread.join(timeout=5)
        if self._fatal is not None:
            raise self._fatal
        duration = (self._last_out if self.frames_out else time.perf_counter()) - start
        return RunResult(
            frames=self.frames_out,
            steady_s=self._last_out - self._first_out,
            duration_s=duration,
            stages_ms=self.timings.summary_ms(),
            sources={s.name: s.stats for s in self.sources},
            errors=list(self._errors),
            interrupted=self._interrupted,
            cameras={c.name: c.summary(duration) for c in self.cameras},
        )
