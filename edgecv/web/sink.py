"""``WebSink``: what the web view keeps of the run (each camera's newest shot, event counts, camera states,
recent events) and the server it runs. Its pipeline-facing methods run on the post thread and only swap
references and count; everything else happens on the server's threads."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from .. import __version__
from ..clock import CLOCK
from ..config import Settings
from ..config.scene import SceneConfig
from ..config.web import WebConfig, is_loopback
from ..contracts import event_json
from ..detections import Detections
from ..errors import ConfigError
from ..frame import Frame
from ..labels import Labels
from ..mqtt import health
from ..mqtt.payloads import camera_stats
from ..output.base import Sink, SinkBase
from ..pipeline.camera import Camera
from ..pipeline.timing import StageTimes
from ..scene.events import SceneEvent, scene_event_json
from ..track.events import TrackEvent
from .app import WebApp
from .auth import Credentials, Gate
from .metrics import Metrics
from .newest import Newest
from .render import Renderer
from .server import WebServer

log = logging.getLogger(__name__)

RECENT_EVENTS = 50  # per camera, newest last: what the page lists
FOLD_EVERY = 512  # frames between folds of the inference histogram (well under StageTimes' window)
FPS_WINDOW_S = 5.0  # /api/stats' fps: frames over about the last this many seconds
COUNTED_TRACK_EVENTS = ("new", "end")  # edgecv_events_total counts these (update is every frame)


def check_exposure(config: WebConfig, credentials: Credentials) -> None:
    """Anything but loopback without auth would show every camera to the whole network: refuse."""
    if not is_loopback(config.bind) and not credentials.required:
        raise ConfigError(
            f"web.bind is {config.bind}, which is not loopback, and web.auth is not set: refusing to serve "
            "the cameras to the network without authentication",
            "set web.auth.token_file or web.auth.username + web.auth.password_file, or web.bind: 127.0.0.1",
        )


class WebSink(SinkBase):
    """Registered as the sink ``web``; built when ``web.enabled`` (see :mod:`edgecv.output.web`)."""

    def __init__(
        self,
        settings: Settings,
        labels: Labels,
        cameras: Sequence[Camera],
        timings: StageTimes | None = None,
    ) -> None:
        self.settings = settings
        self.config = settings.web
        self.labels = labels
        self.cameras = list(cameras)
        self.names = [camera.name for camera in self.cameras]
        self.started = time.monotonic()
        self.newest = Newest()
        self._scenes = self._scene_map(settings)
        self.renderer = Renderer(labels, lambda: self._scenes)
        self.flowing: dict[str, bool] = {}
        self.states: dict[str, tuple[str, str | None]] = {}
        self.recent: dict[str, deque[dict[str, Any]]] = {n: deque(maxlen=RECENT_EVENTS) for n in self.names}
        self._recent_lock = threading.Lock()
        self.metrics = Metrics(self.cameras, timings, self.flowing, self._mqtt_summary)
        self._others: list[Sink] = []
        self._frames_seen = 0
        self._fps_marks: dict[str, deque[tuple[float, int]]] = {
            n: deque([(self.started, 0)]) for n in self.names
        }
        self._fps_lock = threading.Lock()
        credentials = Credentials.load(self.config.auth)
        check_exposure(self.config, credentials)
        self.gate = Gate(credentials)
        self.app = WebApp(self)
        self.server = WebServer(self.app, self.config)
        self.server.start()
        log.info("web view on %s", self.server.url)

    @staticmethod
    def _scene_map(settings: Settings) -> dict[str, SceneConfig]:
        return {name: section.scene() for name, section in settings.camera_sections().items()}

    # -- the post thread --------------------------------------------------------------------------------

    def wants_candidates(self, camera: str) -> bool:
        return self.newest.wants_candidates(camera)

    def write_candidates(self, frame: Frame, candidates: Detections) -> None:
        self.newest.put_candidates(frame.source_id, candidates)

    def write_frame(self, frame: Frame, detections: Detections) -> None:
        self.newest.put(frame, detections)
        self._frames_seen += 1
        if self._frames_seen % FOLD_EVERY == 0 and self.metrics.inference is not None:
            self.metrics.inference.fold()

    def write_events(self, frame: Frame, events: list[TrackEvent]) -> None:
        camera = frame.source_id
        for event in events:
            if event.kind in COUNTED_TRACK_EVENTS:
                self.metrics.events[(camera, event.kind)] += 1
                with self._recent_lock:
                    self.recent[camera].append(
                        {"type": "event", "camera": camera, "seq": frame.seq, "ts": round(frame.ts, 6)}
                        | event_json(event, self.labels)
                    )

    def write_scene_events(self, frame: Frame, events: Sequence[SceneEvent]) -> None:
        camera = frame.source_id
        for event in events:
            self.metrics.events[(camera, event.kind)] += 1
            with self._recent_lock:
                self.recent[camera].append(scene_event_json(event, camera, self.labels))

    # -- the watchdog's thread --------------------------------------------------------------------------

    def camera_state(self, camera: str, flowing: bool) -> None:
        self.flowing[camera] = flowing

    def camera_detail(self, camera: str, kind: str, detail: str | None) -> None:
        self.states[camera] = (kind, detail)

    # -- the other sinks --------------------------------------------------------------------------------

    def see_sinks(self, sinks: Sequence[Sink]) -> None:
        self._others = [sink for sink in sinks if sink is not self]

    def _mqtt_summary(self) -> dict[str, Any] | None:
        for sink in self._others:
            summary = sink.summary().get("mqtt")
            if isinstance(summary, dict):
                return summary
        return None

    # -- what the server shows --------------------------------------------------------------------------

    def camera(self, name: str) -> Camera | None:
        return next((camera for camera in self.cameras if camera.name == name), None)

    def _fps(self, camera: Camera, now: float) -> float:
        """Frames per second over about the last FPS_WINDOW_S, from marks taken when stats are asked for
        (at most one a second): nothing per frame."""
        with self._fps_lock:
            marks = self._fps_marks[camera.name]
            if not marks or now - marks[-1][0] >= 1.0:
                marks.append((now, camera.frames))
            while len(marks) > 2 and now - marks[1][0] >= FPS_WINDOW_S:
                marks.popleft()
            (then, frames_then), (last, frames_last) = marks[0], (now, camera.frames)
        return (frames_last - frames_then) / (last - then) if last > then else 0.0

    def stats(self) -> dict[str, Any]:
        """``/api/stats``: each camera's stats payload (the MQTT stats topic's own fields), the MQTT sink's
        state and the process's."""
        now = time.monotonic()
        with self._recent_lock:  # a deque changed by the post thread while it is copied raises
            recent = {name: list(events) for name, events in self.recent.items()}
        cameras = {}
        for camera in self.cameras:
            kind, detail = self.states.get(camera.name, ("starting", None))
            cameras[camera.name] = {
                **camera_stats(
                    uptime_s=now - self.started,
                    fps=self._fps(camera, now),
                    frames=camera.frames,
                    dropped_frames=camera.dropped_frames,
                    skipped_frames=camera.skipped_frames,
                    stages_ms=camera.timings.summary_ms(),
                ),
                "state": kind,
                "detail": detail,
                "flowing": self.flowing.get(camera.name, False),
                "events": recent[camera.name][-20:],
            }
        mqtt = self._mqtt_summary()
        return {
            "cameras": cameras,
            "mqtt": {"enabled": mqtt is not None, **(mqtt or {})},
            "service": {
                "version": __version__,
                "pid": os.getpid(),
                "uptime_s": round(now - self.started, 1),
                "cpu_temp_c": health.read_temp_c(health.find_cpu_zone()),
                "clock_synced": CLOCK.synced,
                "stream_fps": self.config.stream_fps,
                "stream_width": self.config.stream_width,
            },
        }

    def health(self) -> tuple[bool, dict[str, Any]]:
        """``/healthz``: healthy while any camera's frames flow (the watchdog's word)."""
        cameras = {}
        for name in self.names:
            kind, detail = self.states.get(name, ("starting", None))
            flowing = self.flowing.get(name, False)
            reason = kind if detail is None else f"{kind}: {detail}"
            cameras[name] = {"flowing": flowing, "state": kind, "reason": reason}
        healthy = any(c["flowing"] for c in cameras.values())
        return healthy, {"status": "ok" if healthy else "unavailable", "cameras": cameras}

    # -- life -------------------------------------------------------------------------------------------

    def reconfigure(self, settings: Settings) -> None:
        """A reload's new settings (call from any thread): stream rate, width, auth and scene drawing apply
        at once; a new bind or port moves the listener (streams on the old one end; the page reconnects).
        Raises ConfigError, leaving everything as it was, when the new auth cannot be read, would expose the
        cameras, or the new address cannot be listened on."""
        config = settings.web
        credentials = Credentials.load(config.auth)
        check_exposure(config, credentials)
        old = self.config
        if not config.enabled:
            self.server.stop()  # web.enabled: false at a reload turns the view off; true again reopens it
            log.info("web view off (web.enabled: false)")
        elif not old.enabled or (config.bind, config.port) != (old.bind, old.port):
            self.server = self._move(config)
            log.info("web view on %s", self.server.url)
        self.settings, self.config = settings, config
        self._scenes = self._scene_map(settings)
        if credentials != self.gate.credentials:
            self.gate = Gate(credentials)

    def _move(self, config: WebConfig) -> WebServer:
        """A listener on the new address, the old one closed; the old one kept when the new one fails."""
        moved = WebServer(self.app, config)
        if self.server.stopping.is_set():  # off since an earlier reload: nothing to keep
            moved.start()
            return moved
        try:
            moved.start()  # beside the old one: viewers of the old address keep watching until it closes
        except ConfigError:
            if config.port != self.server.port:
                raise
            # The same port on another address may collide with the old listener: close it first, and
            # open it again if the new one still fails.
            self.server.stop()
            try:
                moved.start()
            except ConfigError:
                self.server = WebServer(self.app, self.config)
                self.server.start()
                raise
            return moved
        self.server.stop()
        return moved

    def summary(self) -> dict[str, Any]:
        return {"web": {"url": self.server.url, "jpeg_encodes": self.renderer.encoded}}

    def close(self) -> None:
        self.server.stopping.set()
        self.newest.wake()  # streams waiting for a frame look at `stopping` now
        self.server.stop()
        self.renderer.close()
