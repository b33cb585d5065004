"""The run loop on three kinds of thread, so that inference never waits for anything else.

* one **capture** thread per source reads a frame and preprocesses it into one of that source's two input
  buffers, while the interpreter works on the other;
* the **inference** thread (the caller's) is the only one touching the interpreter: it copies a prepared
  buffer in, invokes, copies the outputs out and moves on. LiteRT releases the GIL inside ``invoke()``, so
  the other threads run meanwhile;
* one **post** thread decodes, suppresses and hands results to the sinks.

Several sources share the one interpreter (a Coral can be opened by one process only): each has its own
capture thread, buffers and frame counters; the inference thread serves them in arrival order.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ..capture.base import FrameSource, FrameTimeout
from ..capture.stats import SourceStats
from ..detect.detector import Detector
from ..detect.preprocess import Transform
from ..detections import Detections
from ..errors import SourceError
from ..frame import Frame
from ..output.base import Sink
from ..track.events import TrackEvent
from .heartbeats import Heartbeats
from .timing import StageTimes

log = logging.getLogger(__name__)

BUFFERS_PER_SOURCE = 2
POLL_S = 0.2  # how often blocked threads look at the stop flag
SWITCH_INTERVAL_S = 0.0002


class FrameTracker(Protocol):
    """What the post thread needs of a tracker (one per source: tracks never cross cameras)."""

    def update(
        self, detections: Detections, ts: float, mono: float | None = None
    ) -> tuple[Detections, list[TrackEvent]]:
        """Detections of one frame captured at wall time ``ts`` and monotonic time ``mono`` → the same with
        ``track_ids``, and events. Durations are measured on ``mono`` (see :class:`~edgecv.frame.Frame`)."""
        ...

    def finish(self, ts: float) -> list[TrackEvent]:
        """The source ended: events that close every open track."""
        ...


@dataclass
class _Job:
    frame: Frame
    tensor: np.ndarray
    transform: Transform
    free: queue.Queue[np.ndarray]


@dataclass
class _End:
    """A capture thread is done (its source ended, failed or the run is stopping)."""

    source_id: str


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

    @property
    def fps(self) -> float:
        return self.frames / self.duration_s if self.duration_s > 0 else 0.0


class Pipeline:
    """One run of ``detector`` over ``sources`` into ``sinks``.

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
        sources: list[FrameSource],
        sinks: list[Sink],
        *,
        max_frames: int | None = None,
        timings: StageTimes | None = None,
        tracker_factory: Callable[[], FrameTracker] | None = None,
    ) -> None:
        if not sources:
            raise ValueError("a pipeline needs at least one source")
        self.detector = detector
        self.sources = sources
        self.sinks = sinks
        self.max_frames = max_frames
        self.timings = timings or StageTimes()
        self._stop = threading.Event()
        self._ran = False
        self._jobs: queue.Queue[_Job | _End] = queue.Queue()
        self._results: queue.Queue[tuple[Frame, list[np.ndarray], Transform] | None] = queue.Queue(maxsize=4)
        self._errors: list[str] = []
        self._fatal: BaseException | None = None
        self.frames_out = 0
        self._interrupted = False
        self._tracker_factory = tracker_factory
        self._trackers: dict[str, FrameTracker] = {}
        self._last_frames: dict[str, Frame] = {}
        self.progress = Heartbeats()  # heartbeats for a watchdog; see edgecv.service.watchdog

    # -- control ----------------------------------------------------------------------------------------

    def stop(self, interrupted: bool = True) -> None:
        """Stop capturing; frames already captured are finished. Safe from signal handlers and threads."""
        self._interrupted = self._interrupted or interrupted
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    # -- threads ----------------------------------------------------------------------------------------

    def _capture(self, source: FrameSource) -> None:
        free: queue.Queue[np.ndarray] = queue.Queue()
        for _ in range(BUFFERS_PER_SOURCE):
            free.put(self.detector.preprocessor.new_buffer())
        try:
            while not self._stop.is_set():
                try:
                    buffer = free.get(timeout=POLL_S)
                except queue.Empty:
                    continue
                frame = self._read(source)
                if frame is None:
                    free.put(buffer)
                    break
                self.progress.frame = time.monotonic()
                with self.timings.time("preprocess"):
                    tensor, transform = self.detector.prepare(frame.image, buffer)
                self._jobs.put(_Job(frame, tensor, transform, free))
        except SourceError as exc:
            self._errors.append(f"source {source.name}: {exc}")
        except BaseException as exc:  # reported on the caller's thread, never swallowed
            self._fatal = self._fatal or exc
            self._stop.set()
        finally:
            self._jobs.put(_End(source.source_id))

    def _read(self, source: FrameSource) -> Frame | None:
        """Next frame, or None at the end of the source or when stopping."""
        start = time.perf_counter()
        try:
            while not self._stop.is_set():
                try:
                    return source.read(POLL_S)
                except FrameTimeout:
                    continue  # a live source between frames; its grabber handles real losses
            return None
        finally:
            self.timings.add("capture_wait", time.perf_counter() - start)

    def _post(self) -> None:
        try:
            while True:
                item = self._results.get()
                if item is None:
                    self._finish_tracks()
                    return
                frame, outputs, transform = item
                with self.timings.time("decode_nms"):
                    detections = self.detector.finish(outputs, transform)
                events: list[TrackEvent] = []
                if self._tracker_factory is not None:
                    tracker = self._trackers.get(frame.source_id)
                    if tracker is None:
                        tracker = self._trackers[frame.source_id] = self._tracker_factory()
                    with self.timings.time("track"):
                        detections, events = tracker.update(detections, frame.ts, frame.mono)
                with self.timings.time("output"):
                    for sink in self.sinks:
                        sink.write_frame(frame, detections)
                        if events:
                            sink.write_events(frame, events)
                self._last_frames[frame.source_id] = frame
                self.frames_out += 1
                self._last_out = time.perf_counter()
                if self.frames_out == 1:
                    self._first_out = self._last_out
        except BrokenPipeError:
            # The reader of our stdout went away (`edgecv run | head`): a normal way to end.
            log.debug("output closed by its reader; stopping")
            self._stop.set()
            self._drain_results()
        except BaseException as exc:
            self._fatal = self._fatal or exc
            self._stop.set()
            self._drain_results()

    def _finish_tracks(self) -> None:
        """Close every open track when its source ends, so subscribers see an ``end`` for each ``new``."""
        for source_id, tracker in self._trackers.items():
            frame = self._last_frames[source_id]
            events = tracker.finish(frame.ts)
            if events:
                for sink in self.sinks:
                    sink.write_events(frame, events)

    def _drain_results(self) -> None:
        while self._results.get() is not None:
            pass

    # -- the loop ---------------------------------------------------------------------------------------

    def run(self) -> RunResult:
        """Process until every source has ended, ``max_frames`` were inferred or :meth:`stop` was called.

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
            threading.Thread(target=self._capture, args=(source,), name=f"edgecv-capture-{i}", daemon=True)
            for i, source in enumerate(self.sources)
        ]
        for thread in captures:
            thread.start()
        active = len(captures)
        inferred = 0
        # The inference thread's loop is frame_wait + inference + handoff, timed back to back so the three
        # add up to its whole time: whatever is not "inference" is time the interpreter sat idle.
        mark = time.perf_counter()
        try:
            while active:
                try:
                    job = self._jobs.get(timeout=POLL_S)
                except queue.Empty:
                    continue
                if isinstance(job, _End):
                    active -= 1
                    continue
                if self.max_frames is not None and inferred >= self.max_frames:
                    job.free.put(job.tensor)  # captured before the stop took effect: not processed
                    continue
                self.progress.inference_started = time.monotonic()
                started = time.perf_counter()
                self.timings.add("frame_wait", started - mark)
                outputs = self.detector.infer(job.tensor)
                finished = time.perf_counter()
                self.timings.add("inference", finished - started)
                self.progress.inference_started = None
                job.free.put(job.tensor)
                self._results.put((job.frame, outputs, job.transform))
                mark = time.perf_counter()
                self.timings.add("handoff", mark - finished)
                inferred += 1
                if self.max_frames is not None and inferred >= self.max_frames:
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
        )
