"""Reload on SIGHUP: re-read the config file and the environment (with the original command-line flags),
validate all of it, then change what changed, in-process, same PID.

What is checked before anything changes: the settings themselves, a model (loaded, when its section
changed), every camera's class names against the model's labels (``detect.classes``, ``detect.class_iou``,
``tracker.class_gates``) and every changed source (built, not yet opened). An invalid config is logged in
one line, published on the MQTT error topic (when MQTT is configured) and the old config keeps running.

What changes live, between two frames, without reopening sources or the model (:meth:`Reloader.apply_live`):

* ``detect`` of each camera: new immutable detection parameters, swapped in one attribute store;
* ``tracker`` of each camera: handed to the live tracker, which takes it before its next frame and keeps its
  tracks and their ids (:meth:`edgecv.track.tracker.ByteTracker.reconfigure`);
* the MQTT rates (``detections_max_rate``, ``detections_include_empty``, ``stats_interval_s``,
  ``image_interval_s``, ``snapshot``, QoS) and any other setting a sink takes through ``reconfigure``
  (:class:`Reconfigures`: the web sink's stream settings);
* ``zones``, ``lines``, ``masks`` and ``detect.filters`` of each camera, through the camera's
  ``configure_scene`` (:class:`ConfiguresScene`), keeping the counts of rules that keep their name (with
  MQTT, new or changed zones and lines also rebuild the sink: their topics and sensors are made at connect);
* ``motion`` of each camera: its capture thread places the gate again at its next frame (masks, size,
  a fresh background; that frame is detected);
* values set by MQTT commands return to the (reloaded) config, and their state topics say so.

What is reopened in-process (:class:`ReloadPlan` ``reopen``): a changed ``model`` (loaded again, on the
new settings), a changed camera ``source`` (that camera's source closed and the new one opened), tracking
switched on or off; the pipeline stops after the frame in flight (tracks end with ``end`` events, as at the
end of a source), the changed parts are replaced and the run goes on. A changed ``cameras`` map, ``output``
section, MQTT connection (broker, identity, credentials, TLS, labels, discovery, commands, spool) or a
model whose labels differ also rebuilds the sinks: the MQTT connection is closed and opened again. Other
sections (``service``) take effect at the next start, and the log says so.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ..capture.base import FrameSource
from ..config import Settings
from ..config.mqtt import MqttConfig
from ..config.scene import SceneConfig
from ..detect.detector import Detector, DetectParams
from ..errors import ConfigError, EdgecvError
from ..mqtt.commands import Baseline, CameraControl
from ..pipeline.build import (
    build_detector,
    build_sources,
    detect_params,
    require_model,
    source_configured,
    tracker_settings,
)
from ..pipeline.camera import Camera
from ..scene.rules import check_classes, needs_tracks
from ..track.tracker import ByteTracker

log = logging.getLogger("edgecv.reload")

# MQTT settings the sink takes live; a change to any other rebuilds the sinks (a new connection).
MQTT_LIVE = frozenset(
    {
        "detections_max_rate",
        "detections_include_empty",
        "stats_interval_s",
        "image_interval_s",
        "snapshot",
        "qos_events",
        "qos_detections",
        "flush_timeout_s",
    }
)
# Sections read only at start; a reload logs that their change waits for the next start.
AT_START = ("service",)


@runtime_checkable
class PublishesErrors(Protocol):
    """A sink with an error channel (MQTT's ``<prefix>/<device>/error``)."""

    def publish_error(self, camera: str | None, key: str, payload: str, reason: str) -> None: ...


@runtime_checkable
class ConfiguresScene(Protocol):
    """A camera that takes new scene rules live (zones, lines, masks, filters), keeping the counts of rules
    that keep their name; ``ValueError`` (and nothing changes) for rules it cannot take."""

    def configure_scene(self, config: SceneConfig) -> None: ...


@runtime_checkable
class Reconfigures(Protocol):
    """A sink that takes reloaded settings live (MQTT rates, the web view's stream settings)."""

    def reconfigure(self, settings: Settings) -> None: ...


@dataclass(frozen=True)
class ReloadPlan:
    """A validated reload: the new settings and what has to be reopened to apply them."""

    settings: Settings
    params: dict[str, DetectParams]  # every camera's new detection parameters
    detector: Detector | None = None  # the new model, when its section changed
    sources: dict[str, FrameSource] = field(default_factory=dict)  # changed cameras' new sources
    rebuild: bool = False  # cameras, sinks and their connections built again
    retrack: bool = False  # tracking switched on or off somewhere: trackers built again
    changed: tuple[str, ...] = ()  # what changed, for the log

    @property
    def reopen(self) -> bool:
        return self.detector is not None or bool(self.sources) or self.rebuild or self.retrack


def _mqtt_rebuild(old: MqttConfig, new: MqttConfig) -> bool:
    # SecretStr compares by its value: a changed password is a new connection too.
    return bool(old.model_dump(exclude=set(MQTT_LIVE)) != new.model_dump(exclude=set(MQTT_LIVE)))


def changed_sections(old: Settings, new: Settings) -> tuple[str, ...]:
    """Top-level keys whose value differs (``cameras.<name>.<section>`` for a camera's own)."""
    out = [
        key for key in Settings.model_fields if key != "cameras" and getattr(old, key) != getattr(new, key)
    ]
    old_sections, new_sections = old.camera_sections(), new.camera_sections()
    if list(old_sections) != list(new_sections):
        out.append("cameras")
    elif old.cameras or new.cameras:
        for name, section in new_sections.items():
            for key in type(section).model_fields:
                if getattr(section, key) != getattr(old_sections[name], key):
                    out.append(f"cameras.{name}.{key}")
    return tuple(dict.fromkeys(out))


def prepare(old: Settings, new: Settings, detector: Detector) -> ReloadPlan:
    """Validate ``new`` against the running ``old`` and plan the reload; raises :class:`EdgecvError` (nothing
    changed) when ``new`` cannot run."""
    if source_configured(new):
        require_model(new, "a reload with a source")
    changed = changed_sections(old, new)
    new_detector = build_detector(new) if new.model != old.model else None
    model = new_detector or detector
    old_sections, new_sections = old.camera_sections(), new.camera_sections()
    where = lambda name: f"cameras.{name}." if new.cameras else ""  # noqa: E731
    params = {}
    retrack = False
    for name, section in new_sections.items():
        params[name] = detect_params(section.detect, model, where(name))
        if section.tracker.enabled:
            tracker_settings(section.tracker, model, where(name))  # unknown gate classes fail here
        scene = section.scene()
        try:  # what the camera's configure_scene would refuse, refused before anything changes
            check_classes(scene, model.labels)
            if needs_tracks(scene) and not section.tracker.enabled:
                raise ValueError("tracker.enabled is false, but zones and lines follow confirmed tracks")
        except ValueError as exc:
            raise ConfigError(where(name) + str(exc), "see the README's scene rules") from None
        before = old_sections.get(name)
        if before is not None and before.tracker.enabled != section.tracker.enabled:
            retrack = True
    # The MQTT sink publishes each zone and line on its own retained topic with its own Home Assistant
    # sensors, created at connect: new or renamed rules need a new sink.
    rules_moved = new.mqtt.host is not None and any(
        (s.zones, s.lines) != (old_sections[n].zones, old_sections[n].lines)
        for n, s in new_sections.items()
        if n in old_sections
    )
    rebuild = (
        rules_moved
        or list(old_sections) != list(new_sections)
        or old.output != new.output
        or _mqtt_rebuild(old.mqtt, new.mqtt)
        or (new_detector is not None and new_detector.labels.names != detector.labels.names)
    )
    if rebuild:
        sources = {s.source_id: s for s in build_sources(new)}
    else:
        moved = {n for n, s in new_sections.items() if s.source != old_sections[n].source}
        sources = {s.source_id: s for s in build_sources(new, only=moved)} if moved else {}
    return ReloadPlan(new, params, new_detector, sources, rebuild, retrack, changed)


class Reloader:
    """Applies validated reloads to the run's cameras and sinks. ``load()`` reads the settings again (the
    file, the environment, the original flags); ``publish_error(reason)`` reports a refused reload."""

    def __init__(
        self,
        load: Callable[[], Settings],
        publish_error: Callable[[str], None],
    ) -> None:
        self.load = load
        self.publish_error = publish_error

    def check(self, settings: Settings, detector: Detector) -> ReloadPlan | None:
        """The plan for the settings as they now read, or ``None`` (logged and published) when invalid."""
        try:
            new = self.load()
            return prepare(settings, new, detector)
        except EdgecvError as exc:
            reason = exc.message + (f" ({exc.hint})" if exc.hint else "")
        except Exception as exc:  # a reload must never take the run down
            reason = f"{type(exc).__name__}: {exc}"
        reason = " ".join(reason.split())  # one line
        log.error("reload refused, the previous config keeps running: %s", reason)
        self.publish_error(reason)
        return None

    @staticmethod
    def apply_live(
        plan: ReloadPlan,
        cameras: list[Camera],
        controls: Mapping[str, CameraControl],
        sinks: list[Any],
        detector: Detector,
    ) -> None:
        """What changes without stopping: detection parameters (values set by commands return to the
        config), trackers' settings, and sinks that reconfigure. Called from the reload thread; each change
        is one attribute store or a hand-over the post thread takes between frames."""
        sections = plan.settings.camera_sections()
        for camera in cameras:
            section = sections.get(camera.name)
            if section is None:
                continue
            if isinstance(camera, ConfiguresScene):
                camera.configure_scene(section.scene())  # zones, lines, masks: from the next frame
            camera.motion = section.motion  # its capture thread re-places the gate at the next frame
            control = controls.get(camera.name)
            baseline = Baseline(plan.params[camera.name], motion=section.motion.enabled)
            if control is not None:
                control.reset(baseline)
            else:
                camera.params = baseline.params
                camera.detect_enabled, camera.motion_enabled = True, section.motion.enabled
            if isinstance(camera.tracker, ByteTracker) and section.tracker.enabled:
                camera.tracker.reconfigure(*tracker_settings(section.tracker, detector))
        for sink in sinks:
            if isinstance(sink, Reconfigures):
                sink.reconfigure(plan.settings)
        late = [key for key in plan.changed if key in AT_START]
        if late:
            log.warning("reload: %s take effect at the next start", ", ".join(late))


class RunHolder(Protocol):
    """What the reload thread reads of the run (:class:`edgecv.service.runner.RunState`)."""

    settings: Settings
    detector: Detector
    cameras: list[Camera]
    controls: dict[str, CameraControl]
    sinks: list[Any]
    stop_requested: bool

    @property
    def pipeline(self) -> Stoppable | None: ...


class Stoppable(Protocol):
    def stop(self, interrupted: bool = True) -> None: ...


class Notifies(Protocol):
    def reloading(self, status: str = ...) -> None: ...

    def ready(self, status: str) -> None: ...


class ReloadWorker:
    """The reload thread: SIGHUP's handler only calls :meth:`request`; the reading, the checks (a model
    may take seconds to load) and the live changes happen here, off the signal handler and the pipeline's
    threads. A reload that must reopen something stops the pipeline and hands the plan to the main thread
    (:meth:`take_reopen`), which calls :meth:`reopened` when the new pipeline runs.

    sd_notify: ``RELOADING=1`` with ``MONOTONIC_USEC`` when a reload begins, ``READY=1`` when it is done,
    refused or applied.
    """

    def __init__(self, reloader: Reloader, run: RunHolder, notifier: Notifies) -> None:
        self.reloader = reloader
        self.run = run
        self.notifier = notifier
        self._requested = threading.Event()
        self._stop = threading.Event()
        self._reopened = threading.Event()
        self._plan: ReloadPlan | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="edgecv-reload", daemon=True)
        self.reloads = 0  # applied
        self.refused = 0

    def start(self) -> None:
        self._thread.start()

    def request(self) -> None:
        """From the SIGHUP handler: only sets a flag (a handler must not block or take locks)."""
        self._requested.set()

    def stop(self) -> None:
        self._stop.set()
        self._reopened.set()
        self._thread.join(2.0)

    def take_reopen(self) -> ReloadPlan | None:
        """The main thread, after the pipeline returned: the reload that stopped it, if one did."""
        with self._lock:
            plan, self._plan = self._plan, None
        return plan

    def reopened(self, plan: ReloadPlan) -> None:
        """The main thread: the new pipeline is about to run with ``plan`` applied."""
        self.reloads += 1
        log.info("reloaded (reopened in-process): %s", _what(plan))
        self.notifier.ready(f"reloaded: {_what(plan)}")
        self._reopened.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            if not self._requested.wait(0.2):
                continue
            self._requested.clear()
            if self._stop.is_set() or self.run.stop_requested:
                return
            self._reload()

    def _reload(self) -> None:
        log.info("SIGHUP: reloading the config")
        self.notifier.reloading()
        run = self.run
        plan = self.reloader.check(run.settings, run.detector)
        if plan is None:
            self.refused += 1
            self.notifier.ready("reload refused: the previous config keeps running")
            return
        if not plan.reopen:
            try:
                Reloader.apply_live(plan, run.cameras, run.controls, run.sinks, run.detector)
            except ValueError as exc:  # scene rules a camera refused (it changed nothing itself)
                self.refused += 1
                reason = " ".join(str(exc).split())
                log.error("reload partly refused, the previous scene rules keep running: %s", reason)
                self.reloader.publish_error(reason)
                self.notifier.ready("reload refused: the previous scene rules keep running")
                return
            run.settings = plan.settings
            self.reloads += 1
            log.info("reloaded (live): %s", _what(plan))
            self.notifier.ready(f"reloaded: {_what(plan)}")
            return
        self._reopened.clear()
        with self._lock:
            self._plan = plan
        log.info("reload reopens %s: stopping after the frame in flight", _what(plan))
        pipeline = run.pipeline
        if pipeline is not None:
            pipeline.stop(interrupted=False)
        self._reopened.wait()  # one reload at a time: a SIGHUP meanwhile is served after this one


def _what(plan: ReloadPlan) -> str:
    return ", ".join(plan.changed) if plan.changed else "nothing changed"
