"""``MqttSink``: every camera's frames, track events and scene events → its topics, over the process's one
connection. Runs on the pipeline's post thread and never blocks on the network:
:class:`~edgecv.mqtt.publisher.Publisher` queues while the broker is away."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ..config.mqtt import MqttConfig
from ..detections import Detections
from ..frame import Frame
from ..labels import Labels
from ..output.base import SinkBase
from ..scene.events import SceneEvent
from ..track.events import TrackEvent
from .channel import Channel, Timings, dumps
from .coalesce import SCENE_MIN_INTERVAL_S, Coalescer
from .commands import CameraControl, Commands, InvalidCommand, Rejected
from .discovery import Discovery
from .image import AnnotatedJpeg, ImageEncoder, ImageSchedule, Render
from .outbox import Message, MessageKind
from .payloads import MessageIds, error_message
from .publisher import Publisher
from .rules import SceneRules
from .scene import SceneChannel
from .topics import Topics
from .totals import TotalsFile

if TYPE_CHECKING:
    from ..config import Settings

log = logging.getLogger(__name__)

# Of the stop budget, what closing keeps for itself after the flush: the spool's last compaction and fsync
# (tens of milliseconds on an SD card), the DISCONNECT, and the counters.
FINISH_RESERVE_S = 0.3


class CameraCounters(Protocol):
    """What the sink reads of a camera of the run (:class:`edgecv.pipeline.camera.Camera` speaks it)."""

    name: str

    @property
    def timings(self) -> Timings: ...

    @property
    def dropped_frames(self) -> int: ...


def _dropped(camera: CameraCounters | None, total: Callable[[], int] | None) -> Callable[[], int]:
    """A camera's dropped-frame count, read when stats go out."""
    if camera is not None:
        return lambda: camera.dropped_frames
    return total or (lambda: 0)


class MqttSink(SinkBase):
    """Publishes each camera under ``<prefix>/<device>/<camera>/`` over one connection, client id
    ``edgecv-<device>``, whose last will is ``<prefix>/<device>/availability`` (see docs/mqtt.md).

    ``cameras`` are the run's cameras; without them the sink has one camera, ``mqtt.camera``, whose stats
    read ``timings`` (anything with ``summary_ms()``) and ``dropped_frames`` (a callable), both optional.

    ``controls`` (by camera name) are what ``set/`` commands steer, with ``mqtt.commands`` (see
    :mod:`edgecv.mqtt.commands`); ``render`` draws a frame's detections into the JPEG of the ``image``
    topic (see :mod:`edgecv.mqtt.image`); without it there is no image topic.

    ``scenes`` are the cameras' zones and lines by camera name (:func:`edgecv.mqtt.rules.scene_rules`): their
    retained topics and Home Assistant sensors exist from the start.
    """

    def __init__(
        self,
        config: MqttConfig,
        labels: Labels,
        *,
        cameras: Sequence[CameraCounters] = (),
        timings: Timings | None = None,
        dropped_frames: Callable[[], int] | None = None,
        decimals: int = 1,
        controls: Mapping[str, CameraControl] | None = None,
        render: Render | None = None,
        scenes: Mapping[str, SceneRules] | None = None,
    ) -> None:
        self.config = config
        self.labels = labels
        self.ids = MessageIds()
        names = [camera.name for camera in cameras] or [config.camera]
        topics = [Topics(config.prefix, config.device, name) for name in names]
        scenes = dict(scenes or {})
        unknown = sorted(set(scenes) - set(names))
        if unknown:
            raise ValueError(
                f"scene rules for camera(s) {', '.join(unknown)}, which this sink does not publish"
            )
        self.commands = (
            Commands(
                topics,
                dict(controls),
                publish_state=self._publish_state,
                reject=self._publish_rejected,
                buttons={"snapshot": self.snapshot, "reset_counts": self._reset_counts},
            )
            if config.commands and controls
            else None
        )
        self.discovery = (
            Discovery(
                config.discovery_prefix,
                topics,
                config.labels,
                commands=self.commands is not None,
                image=render is not None,
                scenes=scenes,
            )
            if config.discovery_prefix
            else None
        )
        self.publisher = Publisher(
            config,
            topics[0].device_availability,
            on_message=self._on_message,
            spools={t.base: t.camera for t in topics},
        )
        started = time.monotonic()
        self.channels: dict[str, Channel] = {}
        for i, t in enumerate(topics):
            camera = cameras[i] if cameras else None
            self.channels[t.camera] = Channel(
                config,
                t,
                labels,
                self.ids,
                self.publisher,
                decimals=decimals,
                dropped_frames=_dropped(camera, dropped_frames),
                timings=camera.timings if camera is not None else timings,
                started=started,
            )
        self._schedules = {name: ImageSchedule(config.image_interval_s) for name in self.channels}
        self._latest: dict[str, Detections] = {}  # each camera's detections of its latest frame (post thread)
        self._render = render
        self._cleared: set[str] = set()  # set/ topics whose retained message we cleared (network thread)
        self.images = ImageEncoder(render, self._publish_image) if render is not None else None
        self.coalescer = Coalescer(SCENE_MIN_INTERVAL_S, name="edgecv-mqtt-scene")
        self.scenes: dict[str, SceneChannel] = {
            t.camera: SceneChannel(
                config,
                t,
                scenes.get(t.camera, SceneRules()),
                labels,
                self.ids,
                self.publisher,
                self.coalescer,
                TotalsFile(config.camera_spool_dir(t.camera)),
            )
            for t in topics
        }
        if self.discovery is not None:
            for topic, payload in self.discovery.configs.items():
                self.publisher.set_retained(topic, payload)
            self.publisher.on_connected.append(self._subscribe_discovery)
        self.publisher.on_connected.append(self._subscribe_counts)
        if self.commands is not None:
            self.commands.publish_all_states()
            self.publisher.on_connected.append(self._subscribe_commands)
        self.publisher.start()

    @property
    def topics(self) -> Topics:
        """The first camera's topics (the only camera's, in a one-camera run)."""
        return next(iter(self.channels.values())).topics

    def _camera(self, frame: Frame) -> str:
        if len(self.channels) == 1:
            return next(iter(self.channels))
        if frame.source_id not in self.channels:
            raise ValueError(
                f"a frame of camera {frame.source_id!r}, which this sink does not publish "
                f"({', '.join(self.channels)})"
            )
        return frame.source_id

    def _channel(self, frame: Frame) -> Channel:
        return self.channels[self._camera(frame)]

    # -- frames and events ------------------------------------------------------------------------------

    def write_frame(self, frame: Frame, detections: Detections) -> None:
        fatal = self.publisher.link.fatal
        if fatal is not None:
            raise fatal  # ends the run with one line: credentials do not fix themselves
        channel = self._channel(frame)
        channel.write_frame(frame, detections)
        if self.images is not None:
            camera = channel.topics.camera
            self._latest[camera] = detections
            if self._schedules[camera].due(detections, (), time.monotonic()):
                self.images.submit(camera, frame.image, detections)

    def write_events(self, frame: Frame, events: list[TrackEvent]) -> None:
        channel = self._channel(frame)
        channel.write_events(frame, events)
        if self.images is not None:
            camera = channel.topics.camera
            latest = self._latest.get(camera)
            if latest is not None and self._schedules[camera].due(latest, events, time.monotonic()):
                self.images.submit(camera, frame.image, latest)

    def write_scene_events(self, frame: Frame, events: Sequence[SceneEvent]) -> None:
        """Scene events on the camera's events topic; zone occupancy and line totals on their retained
        topics (:mod:`edgecv.mqtt.scene`)."""
        if events:
            self.scenes[self._camera(frame)].write_scene_events(frame, events)

    def reset_counts(self, camera: str) -> None:
        """Zero ``camera``'s line totals, in its totals file and on its retained ``lines/<line>`` topics.
        Thread-safe (the runtime control's ``set/reset_counts`` calls it from the network thread)."""
        scene = self.scenes.get(camera)
        if scene is None:
            raise ValueError(f"no camera {camera!r} in this run (cameras: {', '.join(self.scenes)})")
        scene.reset_counts()

    def publish_stats(self) -> None:
        for channel in self.channels.values():
            channel.publish_stats()

    def camera_state(self, camera: str, flowing: bool) -> None:
        """Told by the service watchdog: the camera's availability follows whether its frames flow."""
        channel = self.channels.get(camera)
        if channel is not None:
            channel.set_available(flowing)

    # -- control (mqtt.commands), the image topic, errors ------------------------------------------------

    def snapshot(self, camera: str) -> None:
        """``set/snapshot``: the image topic gets the camera's next frame (any thread)."""
        if self.images is None:
            raise InvalidCommand("this run publishes no image (the image topic needs OpenCV's drawing)")
        self._schedules[camera].request()

    def _reset_counts(self, camera: str) -> None:
        """``set/reset_counts``: the camera's line totals back to zero (:meth:`reset_counts`)."""
        try:
            self.reset_counts(camera)
        except ValueError as exc:
            raise InvalidCommand(str(exc)) from None

    def _publish_state(self, topic: str, value: str) -> None:
        self.publisher.set_retained(topic, value.encode())

    def _publish_image(self, camera: str, jpeg: bytes) -> None:
        # QoS 0 like snapshots: the next image supersedes a lost one, and a retained copy is re-published
        # after every reconnect.
        self.publisher.set_retained(self.channels[camera].topics.image, jpeg, qos=0)

    def _publish_rejected(self, rejected: Rejected) -> None:
        self.publish_error(rejected.camera, rejected.key, rejected.payload, rejected.reason)

    def publish_error(self, camera: str | None, key: str, payload: str, reason: str) -> None:
        """One message on ``<prefix>/<device>/error`` (QoS 1, not retained): a refused command or reload."""
        body = error_message(self.ids, time.time(), camera, key, payload, reason)
        self.publisher.send(Message(self.topics.error, dumps(body), 1, False, MessageKind.EVENTS))

    def reconfigure(self, settings: Settings) -> None:
        """A reload: the MQTT rates (``detections_max_rate``, ``detections_include_empty``,
        ``stats_interval_s``, ``image_interval_s``, ``snapshot``, QoS) and the scenes the image draws apply
        from the next frame; the command state topics are published again (a reload returns values set by
        commands to the config). What would need a new connection is the reload's to decide
        (:mod:`edgecv.service.reload` rebuilds the sink)."""
        config = settings.mqtt
        self.config = config
        for channel in self.channels.values():
            channel.reconfigure(config)
        for schedule in self._schedules.values():
            schedule.interval_s = config.image_interval_s
        if isinstance(self._render, AnnotatedJpeg):
            self._render.reconfigure(
                {name: section.scene() for name, section in settings.camera_sections().items()},
                config.snapshot.width,
                config.snapshot.quality,
            )
        if self.commands is not None:
            self.commands.publish_all_states()

    def _subscribe_commands(self) -> None:
        assert self.commands is not None
        for topic in self.commands.subscriptions:
            self.publisher.link.subscribe(topic, qos=1)

    # -- what the broker kept from earlier runs ---------------------------------------------------------

    def _subscribe_discovery(self) -> None:
        assert self.discovery is not None
        for topic in self.discovery.subscriptions:
            self.publisher.link.subscribe(topic)

    def _subscribe_counts(self) -> None:
        # Our own retained counts as the broker kept them: those of labels this run does not publish are
        # cleared. They arrive right after the subscription; what comes later are echoes of our own (not
        # retained, so ignored).
        for channel in self.channels.values():
            self.publisher.link.subscribe(channel.topics.counts_filter)
            for topic in channel.topics.scene_filters:
                self.publisher.link.subscribe(topic)

    def _on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        if self.commands is not None and self.commands.owns(topic):
            if retained and payload:
                log.info("mqtt: clearing the retained command %s (commands are never retained)", topic)
                self._cleared.add(topic)
                self.publisher.link.publish(topic, b"", 1, True)
            elif not payload and topic in self._cleared:
                # The broker passes our own clearing on to us, as an empty message: not a command.
                self._cleared.discard(topic)
                return
            if payload or not retained:
                self.commands.handle(topic, payload, retained)
            return
        if self.discovery is not None and self.discovery.stale(topic, payload, retained):
            log.info("mqtt: removing Home Assistant entity %s (label no longer configured)", topic)
        elif any(c.stale_count(topic, payload, retained) for c in self.channels.values()):
            log.info("mqtt: clearing the retained count %s (label no longer configured)", topic)
        elif any(s.stale(topic, payload, retained) for s in self.scenes.values()):
            log.info("mqtt: clearing the retained %s (zone or line no longer configured)", topic)
        else:
            return
        # Not kept as retained state: an empty retained message is a one-off deletion.
        self.publisher.link.publish(topic, b"", 1, True)

    # -- end --------------------------------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.publisher.summary())
        if self.publisher.link.client_id_conflict:
            out["client_id_conflict"] = True
        return {"mqtt": out}

    def close(self) -> None:
        self.close_by(None)

    def close_by(self, deadline: float | None) -> None:
        """Publish the latest zone and line topics, keep the line totals on disk and empty every zone, zero
        every camera's counts and mark it ``offline``, publish the process's ``offline``, wait for
        acknowledgements up to ``mqtt.flush_timeout_s`` but no later than ``FINISH_RESERVE_S`` before
        ``deadline`` (monotonic: the run's stop deadline), then leave the spools consistent on disk for the
        next start."""
        flush_until = time.monotonic() + self.config.flush_timeout_s
        if deadline is not None:
            flush_until = min(flush_until, deadline - FINISH_RESERVE_S)
        if self.images is not None:
            self.images.close()
        self.coalescer.close()
        for scene in self.scenes.values():
            scene.close()
        for channel in self.channels.values():
            # Nothing is in view once we are gone: a retained count must not stay at its last value.
            channel.publish_counts(Counter(), time.time())
            channel.set_available(False)
        self.publisher.close(
            flush_until, done_by=flush_until + FINISH_RESERVE_S if deadline is None else deadline
        )
