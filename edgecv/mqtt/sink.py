"""``MqttSink``: frames and track events → topics. Runs on the pipeline's post thread and never blocks on
the network: :class:`~edgecv.mqtt.publisher.Publisher` queues while the broker is away."""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from ..clock import CLOCK
from ..config.mqtt import MqttConfig
from ..contracts import detections_json, event_json
from ..detections import Detections
from ..frame import Frame
from ..labels import Labels
from ..output.base import SinkBase
from ..track.events import TrackEvent
from . import health
from .discovery import Discovery
from .outbox import Message, MessageKind
from .payloads import (
    MessageIds,
    count_message,
    detections_message,
    event_message,
    link_state,
    stats_message,
)
from .publisher import Publisher
from .topics import ALL, Topics

log = logging.getLogger(__name__)

SNAPSHOT_MIN_INTERVAL_S = 2.0  # a better frame of the same label replaces the snapshot at most this often
# Of the stop budget, what closing keeps for itself after the flush: the spool's last compaction and fsync
# (tens of milliseconds on an SD card), the DISCONNECT, and the counters.
FINISH_RESERVE_S = 0.3


def _dumps(obj: dict) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


class MqttSink(SinkBase):
    """Publishes under ``<prefix>/<device>/<camera>/`` (see docs/mqtt.md for the contract).

    ``timings`` is the pipeline's :class:`~edgecv.pipeline.timing.StageTimes` (anything with
    ``summary_ms()``) and ``dropped_frames`` a callable returning the sources' dropped-frame total; both
    feed the stats topic and may be left out.
    """

    def __init__(
        self,
        config: MqttConfig,
        labels: Labels,
        *,
        timings: Any = None,
        dropped_frames: Callable[[], int] | None = None,
        decimals: int = 1,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.labels = labels
        self.timings = timings
        self.dropped_frames = dropped_frames or (lambda: 0)
        self.decimals = decimals
        self.clock = clock
        self.topics = Topics(config.prefix, config.device, config.camera)
        self.ids = MessageIds()
        self.discovery = (
            Discovery(config.discovery_prefix, self.topics, config.labels)
            if config.discovery_prefix
            else None
        )
        self.publisher = Publisher(config, self.topics.availability, on_message=self._on_message)
        self._device, self._camera = config.device, config.camera
        self._counts: dict[str, int] = {}
        self._total: int | None = None
        self._last_detections = 0.0
        self._min_gap = 1.0 / config.detections_max_rate if config.detections_max_rate else 0.0
        self.frames = 0
        self._started = time.monotonic()
        self._stats_at = self._started
        self._stats_frames = 0
        self._thermal = health.find_cpu_zone()
        self._snapshots: dict[str, tuple[float, float]] = {}  # label -> (score, monotonic time)
        if self.discovery is not None:
            for topic, payload in self.discovery.configs.items():
                self.publisher.set_retained(topic, payload)
            self.publisher.on_connected.append(self._subscribe_discovery)
        self.publisher.on_connected.append(self._subscribe_counts)
        # Configured labels start at 0, so a dashboard shows them before the first sighting.
        self._publish_counts(Counter(), time.time())
        self.publisher.start()

    # -- frames -----------------------------------------------------------------------------------------

    def write_frame(self, frame: Frame, detections: Detections) -> None:
        fatal = self.publisher.link.fatal
        if fatal is not None:
            raise fatal  # ends the run with one line: credentials do not fix themselves
        self.frames += 1
        if len(detections) or self.config.detections_include_empty:
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
                        _dumps(body),
                        self.config.qos_detections,
                        False,
                        MessageKind.DETECTIONS,
                    )
                )
        self._publish_counts(self._count(detections), frame.ts)
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

    def _publish_counts(self, current: Counter, ts: float) -> None:
        """Retained, on change only: a count topic is state, not a stream."""
        for label in [*self.config.labels, *self._counts, *current]:
            n = current.get(label, 0)
            if self._counts.get(label) != n:
                self._counts[label] = n
                body = count_message(self.ids, self._device, self._camera, label, n, ts)
                self.publisher.set_retained(self.topics.count(label), _dumps(body))
        total = sum(current.values())
        if self._total != total:
            self._total = total
            body = count_message(self.ids, self._device, self._camera, ALL, total, ts)
            self.publisher.set_retained(self.topics.count_all, _dumps(body))

    # -- events -----------------------------------------------------------------------------------------

    def write_events(self, frame: Frame, events: list[TrackEvent]) -> None:
        for event in events:
            fields = event_json(event, self.labels, self.decimals)
            body = event_message(self.ids, self._device, self._camera, frame.seq, frame.ts, fields)
            self.publisher.send(
                Message(
                    self.topics.events,
                    _dumps(body),
                    self.config.qos_events,
                    False,
                    MessageKind.EVENTS,
                    body["id"],
                )
            )
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

    # -- stats ------------------------------------------------------------------------------------------

    def publish_stats(self) -> None:
        now = time.monotonic()
        elapsed = max(now - self._stats_at, 1e-9)
        body = stats_message(
            self.ids,
            self._device,
            self._camera,
            time.time(),
            uptime_s=round(now - self._started, 1),
            fps=round((self.frames - self._stats_frames) / elapsed, 2),
            frames=self.frames,
            dropped_frames=int(self.dropped_frames()),
            stages_ms=self.timings.summary_ms() if self.timings is not None else {},
            reconnects=self.publisher.reconnects,
            queue_depth=self.publisher.queued,
            published=self.publisher.published,
            acked=self.publisher.acked,
            dropped_messages=self.publisher.dropped,
            spooled=self.publisher.spooled,
            spool_errors=self.publisher.spool_errors,
            mqtt=link_state(self.publisher.link.reachability),
            cpu_temp_c=health.read_temp_c(self._thermal),
            clock_synced=CLOCK.synced,
        )
        self._stats_at, self._stats_frames = now, self.frames
        self.publisher.send(Message(self.topics.stats, _dumps(body), 0, False, MessageKind.STATS))

    # -- discovery --------------------------------------------------------------------------------------

    def _subscribe_discovery(self) -> None:
        assert self.discovery is not None
        for topic in self.discovery.subscriptions:
            self.publisher.link.subscribe(topic)

    def _subscribe_counts(self) -> None:
        # Our own retained counts as the broker kept them: those of labels this run does not publish are
        # cleared. They arrive right after the subscription; what comes later are echoes of our own (not
        # retained, so ignored).
        self.publisher.link.subscribe(self.topics.counts_filter)

    def _stale_count(self, topic: str, payload: bytes, retained: bool) -> bool:
        """A retained count of a label that is neither configured nor seen in this run."""
        if not (retained and payload and topic.startswith(self.topics.counts_prefix)):
            return False
        current = {self.topics.count_all, *(self.topics.count(label) for label in self.config.labels)}
        current.update(self.topics.count(label) for label in list(self._counts))
        return topic not in current

    def _on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        if self.discovery is not None and self.discovery.stale(topic, payload, retained):
            log.info("mqtt: removing Home Assistant entity %s (label no longer configured)", topic)
        elif self._stale_count(topic, payload, retained):
            log.info("mqtt: clearing the retained count %s (label no longer configured)", topic)
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
        """Zero the counts, publish ``offline``, wait for acknowledgements up to ``mqtt.flush_timeout_s`` but
        no later than ``FINISH_RESERVE_S`` before ``deadline`` (monotonic: the run's stop deadline), then
        leave the spool consistent on disk for the next start."""
        flush_until = time.monotonic() + self.config.flush_timeout_s
        if deadline is not None:
            flush_until = min(flush_until, deadline - FINISH_RESERVE_S)
        # Nothing is in view once we are gone: a retained count must not stay at its last value.
        self._publish_counts(Counter(), time.time())
        self.publisher.close(
            flush_until, done_by=flush_until + FINISH_RESERVE_S if deadline is None else deadline
        )
