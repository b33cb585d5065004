"""The service's own health check: is the loop making progress, and if not, is it still worth waiting?

``ServiceWatchdog`` is a thread that reads the run loop's heartbeats (:class:`~edgecv.pipeline.heartbeats.Heartbeats`)
and the live sources' loss times, and turns them into the three things systemd hears from us:

* ``READY=1`` once the loop runs (a camera absent at boot still counts: its grabber is retrying, and
  ``STATUS=`` says so; failing the start would only make systemd restart a process that was doing the
  right thing);
* ``WATCHDOG=1`` pings while frames flow, or while a stall is younger than ``recovery_deadline_s``;
* ``STATUS=`` with the state and FPS.

It also keeps :data:`~edgecv.clock.CLOCK` fresh from its own thread (is the wall clock synchronised? a
file test, and at most once a minute a ``chronyc`` call), so that the MQTT stats read a kept answer.

Two things are beyond in-process repair and are *fatal*: an inference running past
``inference_deadline_s`` (a stuck ``invoke()`` cannot be interrupted) and a stall past
``recovery_deadline_s``. Then pings stop and ``on_fatal`` is called once; the CLI's handler stops the
pipeline and exits non-zero, and systemd's ``Restart=on-failure`` starts a fresh process. Reopening a lost
source with backoff is not done here: the source's grabber thread already does it, and closing a device from
another thread while a read is stuck in its driver crashes some drivers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..clock import CLOCK, ClockWatch
from ..config.service import ServiceConfig
from ..pipeline.camera import Camera
from ..pipeline.heartbeats import Heartbeats
from .notify import Notifier

log = logging.getLogger(__name__)

TICK_S = 0.2  # how often the state is assessed; pings and status go out on their own periods


@dataclass(frozen=True)
class CameraState:
    """One camera as the watchdog sees it: ``kind`` is running, starting, waiting (never opened yet,
    retrying), reconnecting (lost, retrying), stalled (no frame for ``service.stall_s``), ended or failed."""

    camera: Camera
    kind: str
    detail: str | None

    def describe(self) -> str:
        """``front running 10.0 fps``, ``garage reconnecting (lost 12 s ago)``."""
        if not self.detail:
            return f"{self.camera.name} {self.kind}"
        if self.kind == "running":
            return f"{self.camera.name} running {self.detail}"
        return f"{self.camera.name} {self.kind} ({self.detail})"


class Watched(Protocol):
    """What the watchdog reads of a pipeline."""

    progress: Heartbeats
    frames_out: int

    @property
    def cameras(self) -> Sequence[Camera]: ...


class ServiceWatchdog:
    """``on_camera`` are called (from the watchdog's thread) with a camera's name and whether its frames
    flow, once per camera when the loop starts and again on every change: the one place that decides it,
    so MQTT availability and ``STATUS=`` never disagree."""

    def __init__(
        self,
        pipeline: Watched,
        config: ServiceConfig,
        notifier: Notifier | None = None,
        on_fatal: Callable[[str], None] | None = None,
        clock: ClockWatch = CLOCK,
        on_camera: Sequence[Callable[[str, bool], None]] = (),
        on_state: Sequence[Callable[[str, str, str | None], None]] = (),
    ) -> None:
        self._pipeline = pipeline
        self._clock = clock
        self._cameras = list(pipeline.cameras)
        self._config = config
        self.notifier = notifier or Notifier()
        self._on_fatal = on_fatal
        self._on_camera = list(on_camera)
        self._flowing: dict[str, bool] = {}
        # on_state hear each camera's kind and detail (CameraState) whenever they change (the web's /healthz).
        self._on_state = list(on_state)
        self._states: dict[str, tuple[str, str | None]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.failure: str | None = None  # why the service gave up, once it has
        self.state = "starting"
        self.ready = False
        self.stalls = 0  # times the loop went stall_s without a frame
        self.stalled_s = 0.0  # total seconds spent stalled (closed stalls)
        self._stall_start: float | None = None
        self._fps: float | None = None
        self._camera_fps: dict[str, float] = {}
        self._fps_mark: tuple[float, int, dict[str, int]] | None = None
        self._stopped_at: float | None = None

    # -- control ----------------------------------------------------------------------------------------

    def watch(
        self,
        pipeline: Watched,
        on_camera: Sequence[Callable[[str, bool], None]] | None = None,
        on_state: Sequence[Callable[[str, str, str | None], None]] | None = None,
    ) -> None:
        """Watch a new pipeline from now on (a reload reopened the model or sources in-process); its cameras'
        states are told again, to ``on_camera`` and ``on_state`` when the sinks were rebuilt."""
        self._pipeline = pipeline
        self._cameras = list(pipeline.cameras)
        if on_camera is not None:
            self._on_camera = list(on_camera)
        if on_state is not None:
            self._on_state = list(on_state)
        self._states = {}
        self._flowing = {}
        self._fps_mark = None
        self._camera_fps = {}

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="edgecv-watchdog", daemon=True)
        self._thread.start()

    def stop(self, status: str = "stopping") -> None:
        """Tell systemd we are stopping (``STOPPING=1``) and end the thread; idempotent, signal-safe."""
        if not self._stop.is_set():
            self._stopped_at = time.monotonic()
            self._stop.set()
            self.notifier.stopping(status)

    @property
    def stop_deadline(self) -> float:
        """Monotonic time by which the stop must be done: ``stop_deadline_s`` after it was asked for."""
        start = self._stopped_at if self._stopped_at is not None else time.monotonic()
        return start + self._config.stop_deadline_s

    def join(self, timeout: float = 1.0) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def summary(self) -> dict[str, Any]:
        """The ``service`` block of the run summary."""
        return {
            "service": {
                "state": self.state,
                "stalls": self.stalls,
                "stalled_s": round(self.stalled_s, 2),
                "failure": self.failure,
                "clock_synced": self._clock.synced,
            }
        }

    # -- the thread -------------------------------------------------------------------------------------

    def _run(self) -> None:
        ping_every = self.notifier.watchdog_interval_s
        last_ping = last_status = float("-inf")
        last_state = ""
        self._clock.state()  # the first answer (and its warning) at start, not a minute in
        while not self._stop.wait(TICK_S):
            self._clock.state()  # only checks again once the kept answer is old
            now = time.monotonic()
            state, fatal = self.assess(now)
            if self.failure is not None:
                continue  # gave up: no pings, nothing more to say
            if fatal is not None:
                self._fail(fatal)
                continue
            if not self.ready and self._pipeline.progress.started is not None:
                self.ready = True
                self.notifier.ready(state)
                log.info("service ready: %s", state)
                last_status, last_state = now, state
            if ping_every is not None and now - last_ping >= ping_every:
                self.notifier.watchdog()
                last_ping = now
            kind = state.split(":", 1)[0]
            if kind != last_state.split(":", 1)[0] or now - last_status >= self._config.status_interval_s:
                if kind != last_state.split(":", 1)[0] and self.ready:
                    log.info("state: %s", state)
                self.notifier.status(state)
                last_status, last_state = now, state

    def assess(self, now: float) -> tuple[str, str | None]:
        """``(state text, fatal reason or None)`` at monotonic time ``now``; updates stall counters."""
        progress = self._pipeline.progress
        config = self._config
        inference = progress.inference_age(now)
        if inference > config.inference_deadline_s:
            return self._set("failed"), (
                f"inference has been running for {inference:.1f} s (service.inference_deadline_s = "
                f"{config.inference_deadline_s:g}): the interpreter or accelerator is hung"
            )
        if progress.started is None:
            return self._set("starting: loading"), None
        last = progress.frame if progress.frame is not None else progress.started
        idle = now - last
        stalled = idle > config.stall_s
        if stalled and self._stall_start is None:
            self._stall_start = last
            self.stalls += 1
            log.warning("no frame for %.1f s; waiting for the source to recover", idle)
        elif not stalled and self._stall_start is not None:
            took = now - self._stall_start
            self.stalled_s += took
            self._stall_start = None
            log.info("frames flow again after %.1f s", took)
        # Every camera stalled past the deadline (the last frame of any of them is that old): give up.
        if stalled and config.recovery_deadline_s is not None and idle > config.recovery_deadline_s:
            return self._set("failed"), (
                f"no frame for {idle:.0f} s (service.recovery_deadline_s = {config.recovery_deadline_s:g}): "
                "giving up so that systemd restarts edgecv"
            )
        self._rate(now)
        states = [self._camera_state(camera, now) for camera in self._cameras]
        self._report_flowing(states)
        if len(self._cameras) == 1:
            return self._set(self._one_camera(states[0], now, idle, stalled)), None
        return self._set(self._several(states, idle, stalled)), None

    def _camera_state(self, camera: Camera, now: float) -> CameraState:
        """One camera's state now (its source's loss time read once: a grabber may clear it meanwhile)."""
        lost_at = camera.source.lost_since
        idle = camera.idle_s(now)
        if camera.ended:
            return CameraState(camera, "failed" if camera.error else "ended", None)
        if lost_at is not None:
            if camera.last_frame is None:
                return CameraState(camera, "waiting", f"unavailable for {now - lost_at:.0f} s, retrying")
            return CameraState(camera, "reconnecting", f"lost {now - lost_at:.0f} s ago")
        if idle is None:
            return CameraState(camera, "starting", None)
        if idle > self._config.stall_s:
            return CameraState(camera, "stalled", f"no frame for {idle:.0f} s")
        fps = self._camera_fps.get(camera.name)
        return CameraState(camera, "running", f"{fps:.1f} fps" if fps is not None else None)

    def _one_camera(self, state: CameraState, now: float, idle: float, stalled: bool) -> str:
        """The one camera's state in the words ``STATUS=`` has always used for it."""
        name = state.camera.source.name
        if state.kind == "waiting":
            return f"waiting: for {name}, {state.detail}"
        if state.kind == "reconnecting":
            return f"reconnecting: {name}, {state.detail}"
        if stalled:
            return f"stalled: no frame for {idle:.0f} s"
        return f"running: {self._totals()}"

    def _several(self, states: list[CameraState], idle: float, stalled: bool) -> str:
        """The process's state, then each camera's: ``running: 20.1 fps, 1200 frames; front running 10.0
        fps, garage reconnecting (lost 12 s ago)``. Running while any camera's frames flow."""
        kinds = {state.kind for state in states}
        if "running" in kinds:
            head = f"running: {self._totals()}"
        elif stalled:
            head = f"stalled: no frame for {idle:.0f} s"
        elif kinds <= {"waiting", "starting"} and self._pipeline.progress.frame is None:
            head = "waiting: no camera has sent a frame yet"
        elif "reconnecting" in kinds or "waiting" in kinds:
            head = "reconnecting: no camera is sending frames"
        else:
            head = f"running: {self._totals()}"
        return f"{head}; {', '.join(state.describe() for state in states)}"

    def _totals(self) -> str:
        rate = f"{self._fps:.1f} fps, " if self._fps is not None else ""
        return f"{rate}{self._pipeline.frames_out} frames"

    def _report_flowing(self, states: list[CameraState]) -> None:
        for state in states:
            name, flowing = state.camera.name, state.kind == "running"
            if self._on_state and self._states.get(name) != (state.kind, state.detail):
                self._states[name] = (state.kind, state.detail)
                for tell in self._on_state:
                    tell(name, state.kind, state.detail)
            if self._flowing.get(name) == flowing:
                continue
            if name in self._flowing and len(self._cameras) > 1:
                log.info("camera %s: %s", name, "frames flow" if flowing else state.kind)
            self._flowing[name] = flowing
            for callback in self._on_camera:
                try:
                    callback(name, flowing)
                except Exception:  # a sink's bug must not silence the watchdog
                    log.exception("reporting camera %s's state failed", name)

    def _rate(self, now: float) -> None:
        """FPS over the last couple of seconds, of the run and of each camera (unset until measured): steady
        to read, recent enough to mean now."""
        frames = self._pipeline.frames_out
        per_camera = {camera.name: camera.frames for camera in self._cameras}
        if self._fps_mark is None:
            self._fps_mark = (now, frames, per_camera)
        elif now - self._fps_mark[0] >= min(self._config.status_interval_s, 2.0):
            mark_time, mark_frames, mark_cameras = self._fps_mark
            elapsed = now - mark_time
            self._fps = (frames - mark_frames) / elapsed
            self._camera_fps = {
                name: (count - mark_cameras.get(name, 0)) / elapsed for name, count in per_camera.items()
            }
            self._fps_mark = (now, frames, per_camera)

    def _set(self, state: str) -> str:
        self.state = state.split(":", 1)[0]
        return state

    def _fail(self, reason: str) -> None:
        self.failure = reason
        log.error("watchdog: %s", reason)
        self.notifier.status(f"failed: {reason}")
        if self._on_fatal is not None:
            self._on_fatal(reason)
