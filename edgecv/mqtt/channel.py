"""One camera's topics, ``<prefix>/<device>/<camera>/...``, and what the MQTT sink keeps for it alone: its
counts, its detections rate limit, its snapshots, its stats counters and its availability.

The connection, the spool and Home Assistant discovery belong to the process (:mod:`edgecv.mqtt.sink`);
each camera publishes through them.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from ..clock import CLOCK
from ..config.mqtt import MqttConfig
from ..contracts import detections_json, event_json
from ..detections import Detections
from ..frame import Frame
from ..labels import Labels
from ..track.events import TrackEvent
from . import health
from .outbox import Message, MessageKind
from .payloads import (
    OFFLINE,
    ONLINE,
    MessageIds,
    camera_stats,
    count_message,
    detections_message,
    event_message,
    link_state,
    stats_message,
)
from .publisher import Publisher
from .topics import ALL, Topics

SNAPSHOT_MIN_INTERVAL_S = 2.0  # a better frame of the same label replaces the snapshot at most this often


def dumps(obj: dict) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


class Timings(Protocol):
    def summary_ms(self) -> dict[str, dict[str, float]]: ...


class CameraPublishing:
    """What each per-camera publisher (:class:`Channel`, :class:`edgecv.mqtt.scene.SceneChannel`) publishes
    with: the config, the camera's topics, the labels, the message ids and the process's publisher; and the
    one way an event goes out on the camera's ``events`` topic (track and scene events share it)."""

    def __init__(
        self, config: MqttConfig, topics: Topics, labels: Labels, ids: MessageIds, publisher: Publisher
    ) -> None:
        self.config = config
        self.topics = topics
        self.labels = labels
        self.ids = ids
        self.publisher = publisher

    def send_event(self, body: dict[str, Any]) -> None:
        """Queue an event message (spooled while the broker is away, like every event)."""
        self.publisher.send(
            Message(
                self.topics.events, dumps(body), self.config.qos_events, False, MessageKind.EVENTS, body["id"]
            )
        )


class Channel(CameraPublishing):
    """Publishes one camera's frames, events, counts, stats and availability through ``publisher``.

    ``dropped_frames`` returns the camera's frames captured but never inferred, ``timings`` are its stage
    timings (both for the stats topic). Runs on the pipeline's post thread, except :meth:`set_available`
    (the watchdog's thread; the publisher's sends are thread-safe).
    """

    def __init__(
        self,
        config: MqttConfig,
        topics: Topics,
        labels: Labels,
        ids: MessageIds,
        publisher: Publisher,
        *,
        decimals: int,
        dropped_frames: Callable[[], int],
        timings: Timings | None,
        started: float,
    ) -> None:
        super().__init__(config, topics, labels, ids, publisher)
        self.decimals = decimals
        self.dropped_frames = dropped_frames
        self.timings = timings
        self._started = started
        self._device, self._camera = topics.device, topics.camera
        self._counts: dict[str, int] = {}
        self._total: int | None = None
        self._last_detections = 0.0
        self._min_gap = 1.0 / config.detections_max_rate if config.detections_max_rate else 0.0
        self.frames = 0
        self.skipped_frames = 0
        self._stats_at = started
        self._stats_frames = 0
        self._thermal = health.find_cpu_zone()
        self._snapshots: dict[str, tuple[float, float]] = {}  # label -> (score, monotonic time)
        # Not flowing until the watchdog says so: a retained "online" left by a run that crashed is
        # corrected at once.
        self.set_available(False)
        # Configured labels start at 0, so a dashboard shows them before the first sighting.
        self.publish_counts(Counter(), time.time())

    def reconfigure(self, config: MqttConfig) -> None:
        """A reload's rates (see :meth:`edgecv.mqtt.sink.MqttSink.reconfigure`), from the next frame on."""
        self._min_gap = 1.0 / config.detections_max_rate if config.detections_max_rate else 0.0
        self.config = config

    # -- frames -----------------------------------------------------------------------------------------

    def write_frame(self, frame: Frame, detections: Detections) -> None:
        self.frames += 1
        if frame.skipped:
            # The detector did not run on it: detections and counts stand as the last detection left them.
            self.skipped_frames += 1
        elif len(detections) or self.config.detections_include_empty:
            now = time.monotonic()
            if not self._min_gap or now - self._last_detections >= self._min_gap:
                self._last_detections = now
                body = detections_message(
                    self.ids, self._device, self._camera, frame.seq, frame.ts,
                    detections_json(detections, self.labels, self.decimals),
                )  # fmt: skip
                self.publisher.send(
                    Message(
                        self.topics.detections,
                        dumps(body),
                        self.config.qos_detections,
                        False,
                        MessageKind.DETECTIONS,
                    )
                )
        if not frame.skipped:
            self.publish_counts(self._count(detections), frame.ts)
        if time.monotonic() - self._stats_at >= self.config.stats_interval_s:
            self.publish_stats()

    def _count(self, detections: Detections) -> Counter:
        """Confirmed tracks per label; every detection when no tracker assigns ids."""
        class_ids = detections.class_ids
        if detections.track_ids is not None:
            class_ids = class_ids[detections.track_ids >= 0]
        if not len(class_ids):
            return Counter()
        ids, counts = np.unique(class_ids, return_counts=True)
        out: Counter = Counter()
        for class_id, n in zip(ids.tolist(), counts.tolist(), strict=True):
            out[self.labels.name(class_id)] += n
        return out

    def publish_counts(self, current: Counter, ts: float) -> None:
        """Retained, on change only: a count topic is state, not a stream."""
        for label in [*self.config.labels, *self._counts, *current]:
            n = current.get(label, 0)
            if self._counts.get(label) != n:
                self._counts[label] = n
                body = count_message(self.ids, self._device, self._camera, label, n, ts)
                self.publisher.set_retained(self.topics.count(label), dumps(body))
        total = sum(current.values())
        if self._total != total:
            self._total = total
            body = count_message(self.ids, self._device, self._camera, ALL, total, ts)
            self.publisher.set_retained(self.topics.count_all, dumps(body))

    def stale_count(self, topic: str, payload: bytes, retained: bool) -> bool:
        """A retained count of this camera for a label that is neither configured nor seen in this run."""
        if not (retained and payload and topic.startswith(self.topics.counts_prefix)):
            return False
        current = {self.topics.count_all, *(self.topics.count(label) for label in self.config.labels)}
        current.update(self.topics.count(label) for label in list(self._counts))
        return topic not in current

    # -- events -----------------------------------------------------------------------------------------

    def write_events(self, frame: Frame, events: list[TrackEvent]) -> None:
        for event in events:
            fields = event_json(event, self.labels, self.decimals)
            body = event_message(self.ids, self._device, self._camera, frame.seq, frame.ts, fields)
            self.send_event(body)
            if self.config.snapshot.enabled and event.kind in ("new", "update"):
                self._maybe_snapshot(frame, event, fields["label"])

    def _maybe_snapshot(self, frame: Frame, event: TrackEvent, label: str) -> None:
        """The best frame of a new track: its first confirmed frame, replaced when a later one scores higher."""
        previous = self._snapshots.get(label)
        now = time.monotonic()
        if event.kind == "update":
            if previous is None or event.score < event.top_score or event.score <= previous[0]:
                return
            if now - previous[1] < SNAPSHOT_MIN_INTERVAL_S:
                return
        from .snapshot import encode_jpeg  # OpenCV only when snapshots are on

        jpeg = encode_jpeg(
            frame.image, event.box if self.config.snapshot.crop else None, self.config.snapshot
        )
        if jpeg is not None:
            self._snapshots[label] = (float(event.score), now)
            self.publisher.set_retained(self.topics.snapshot(label), jpeg, qos=0)

    # -- stats and availability -------------------------------------------------------------------------

    def publish_stats(self) -> None:
        """The camera's own counters beside the process's (the connection and its queue are shared)."""
        now = time.monotonic()
        elapsed = max(now - self._stats_at, 1e-9)
        publisher = self.publisher
        body = stats_message(
            self.ids,
            self._device,
            self._camera,
            time.time(),
            **camera_stats(
                uptime_s=now - self._started,
                fps=(self.frames - self._stats_frames) / elapsed,
                frames=self.frames,
                dropped_frames=self.dropped_frames(),
                skipped_frames=self.skipped_frames,
                stages_ms=self.timings.summary_ms() if self.timings is not None else {},
            ),
            reconnects=publisher.reconnects,
            queue_depth=publisher.queued,
            published=publisher.published,
            acked=publisher.acked,
            dropped_messages=publisher.dropped,
            spooled=publisher.spooled,
            spool_errors=publisher.spool_errors,
            mqtt=link_state(publisher.link.reachability),
            cpu_temp_c=health.read_temp_c(self._thermal),
            clock_synced=CLOCK.synced,
        )
        self._stats_at, self._stats_frames = now, self.frames
        publisher.send(Message(self.topics.stats, dumps(body), 0, False, MessageKind.STATS))

    def set_available(self, flowing: bool) -> None:
        """``online`` while the camera's frames flow (retained, re-published after every reconnect)."""
        self.publisher.set_retained(self.topics.availability, (ONLINE if flowing else OFFLINE).encode())
