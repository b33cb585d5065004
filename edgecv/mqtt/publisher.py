"""Delivery that subscribers can rely on, on top of :class:`~edgecv.mqtt.client.MqttLink`.

* Events (QoS 1/2 messages with an id) are written to the :class:`~edgecv.mqtt.spool.Spool` when they are
  queued and deleted from it at their PUBACK. Online they also go straight to paho; offline the spool is
  their queue. After every (re)connect the spool is sent first, in order, with the original ids: what an
  earlier run left, then what waited during the outage. Nothing depends on flushing at exit.
* Everything else (detections, stats, and events when there is no spool) waits offline in the bounded
  :class:`Outbox` and is sent, in order, after the spool.
* Retained state (availability, counts, discovery, snapshots) is kept here and re-published after every
  connect: a broker that restarted without persistence, or lost our retained messages, is current again.
* Delivery is counted by PUBACK (paho's ``on_publish``), never by ``MQTTMessageInfo``: a QoS 1 message
  published while the link is down reports failure there but is kept and re-sent by paho.

Locking: ``_send_lock`` orders sends against the reconnect drain (an event is either in the spool before the
drain reads it, or sent after the drain, never both). ``_ack_lock`` guards the in-flight table and is never
held while calling paho: paho calls ``on_publish`` with its own message lock held, and ``publish()`` takes
that lock, so sharing one lock between the two paths would deadlock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import TypedDict

from ..config.mqtt import MqttConfig
from .client import MqttLink
from .outbox import Message, MessageKind, Outbox
from .payloads import OFFLINE, ONLINE
from .spool import MB, Spool, SpoolUnusable
from .spools import SpoolSet

log = logging.getLogger(__name__)

LINK_STOP_S = 0.5  # at exit, wait at most this long for paho's thread (it may be inside a connect attempt)
LINK_STOP_MARGIN_S = 0.1


class DeliverySummary(TypedDict):
    """The ``mqtt`` block of the run summary (``--summary-json``)."""

    published: int  # messages handed to the broker
    acked: int  # QoS 1/2 messages it acknowledged
    queued: int  # not acknowledged (at exit: in the spool for the next start, or lost)
    dropped: int  # given up because the offline queue or the spool was full
    reconnects: int
    connected: bool  # the link was up (at exit: at the end of the run, before our own disconnect)
    last_error: str | None  # the latest connection failure or drop, e.g. "connection refused"
    spooled: int  # events on disk (at exit: delivered by the next start)
    undelivered: int  # events lost: neither acknowledged nor spooled
    spool_errors: int  # failed spool writes (disk full, read-only, no permission)


class Publisher:
    """The process's one connection. ``availability_topic`` carries its last will (``offline`` when the
    broker loses us), ``online`` on every connect and ``offline`` at a clean close. ``spools`` maps each
    camera's topic base to its name: events published under it are kept in that camera's spool."""

    def __init__(
        self,
        config: MqttConfig,
        availability_topic: str,
        on_message: Callable[[str, bytes, bool], None] | None = None,
        spools: Mapping[str, str] | None = None,
    ) -> None:
        self.config = config
        self.availability_topic = availability_topic
        self.outbox = Outbox(config.queue.max_messages, config.queue.max_bytes)
        self._spool_open_errors = 0
        if spools is None:
            spools = {f"{config.prefix}/{config.device}/{config.camera}": config.camera}
        self.spool = self._open_spools(config, spools) if config.spool else None
        self.link = MqttLink(
            config,
            will_topic=availability_topic,
            will_payload=OFFLINE.encode(),
            on_connect=self._on_connect,
            on_disconnect=self._on_disconnect,
            on_ack=self._on_ack,
            on_message=on_message,
        )
        self._send_lock = threading.Lock()
        self._ack_lock = threading.Lock()
        self._online = False
        self._closing = False
        self._retained: dict[str, Message] = {}
        self._inflight: dict[int, Message] = {}  # QoS > 0 mid -> message, until its PUBACK
        self._handed: set[str] = set()  # spooled events in paho's hands (it re-sends them after a reconnect)
        self._early: set[int] = set()  # acks that overtook the publish() call that made them
        self._qos0: set[int] = set()
        self.on_connected: list[Callable[[], None]] = []  # extra hooks (discovery), on the network thread
        self.published = 0
        self.acked = 0
        self.dropped = 0  # messages given up: the outbox or the spool was full
        self._events_dropped = 0  # of which events
        self._outage_dropped = 0
        self._final: DeliverySummary | None = None  # the counters at the end of close()
        if self.spool is not None and len(self.spool):
            log.info(
                "mqtt: %d event(s) of an earlier run wait in %s; they are sent first",
                len(self.spool),
                self.spool.directory,
            )
        self.set_retained(availability_topic, ONLINE.encode())

    def _open_spools(self, config: MqttConfig, cameras: Mapping[str, str]) -> SpoolSet | None:
        """Each camera's spool; a camera whose spool cannot be used has its events in memory only."""
        opened: dict[str, Spool] = {}
        for base, camera in cameras.items():
            try:
                # spool_root itself is where versions before per-camera spools kept theirs: the first
                # camera takes those events over.
                opened[base] = Spool(
                    config.camera_spool_dir(camera),
                    int(config.spool_max_mb * MB),
                    legacy=config.spool_root,
                )
            except SpoolUnusable as exc:
                self._spool_open_errors += 1
                log.warning(
                    "mqtt: cannot use the spool %s: events of camera %s wait in memory only and are lost if "
                    "edgecv stops during a broker outage (set mqtt.spool_dir to a writable folder, or "
                    "mqtt.spool: false)",
                    exc,
                    camera,
                )
            except BaseException:
                for spool in opened.values():
                    spool.close()  # another process holds one: release those taken so far
                raise
        if not opened:
            return None
        return SpoolSet(opened, config.device_spool_dir)

    # -- counters ---------------------------------------------------------------------------------------

    @property
    def online(self) -> bool:
        return self._online

    @property
    def reconnects(self) -> int:
        return max(0, self.link.connects - 1)

    @property
    def queued(self) -> int:
        """Messages not yet acknowledged: waiting in the outbox or the spool, or in flight."""
        with self._ack_lock:
            backlog = len(self.spool) - len(self._handed) if self.spool is not None else 0
            return len(self.outbox) + len(self._inflight) + max(0, backlog)

    @property
    def spooled(self) -> int:
        """Events on disk now (at the end: kept for the next start)."""
        return len(self.spool) if self.spool is not None else 0

    @property
    def spool_errors(self) -> int:
        """Failed spool writes (and a spool that could not be opened)."""
        return self._spool_open_errors + (self.spool.errors if self.spool is not None else 0)

    def undelivered(self) -> int:
        """Events lost: given up when the outbox or spool was full, or waiting in memory only."""
        spool = self.spool
        with self._ack_lock:
            waiting = [*self.outbox.messages(), *self._inflight.values()]
        in_memory = [
            m for m in waiting if m.spool_id is not None and (spool is None or m.spool_id not in spool)
        ]
        return self._events_dropped + len(in_memory)

    def summary(self) -> DeliverySummary:
        if self._final is not None:
            return self._final.copy()
        return {
            "published": self.published,
            "acked": self.acked,
            "queued": self.queued,
            "dropped": self.dropped,
            "reconnects": self.reconnects,
            "connected": self.link.reachability.connected,
            "last_error": self.link.reachability.last_error,
            "spooled": self.spooled,
            "undelivered": self.undelivered(),
            "spool_errors": self.spool_errors,
        }

    # -- sending ----------------------------------------------------------------------------------------

    def start(self) -> None:
        self.link.start()

    def send(self, message: Message) -> None:
        spool = self.spool
        durable = spool is not None and message.spool_id is not None and message.qos > 0
        with self._send_lock:
            spooled = False
            if durable:
                assert spool is not None
                spooled, given_up = spool.add(message)  # write-ahead: on disk before it is sent
                if given_up:
                    self._given_up(given_up)
            if self._online:
                self._publish(message, spooled)
            elif not spooled:
                self._enqueue(message)
            # spooled while offline: the spool is its queue, sent from there after the reconnect

    def set_retained(self, topic: str, payload: bytes, qos: int = 1) -> None:
        """Publish retained state now (when online) and again after every reconnect."""
        message = Message(topic, payload, qos, True, MessageKind.EVENTS)
        with self._send_lock:
            self._retained[topic] = message
            if self._online:
                self._publish(message)

    def _publish(self, message: Message, spooled: bool = False) -> None:
        mid, kept = self.link.publish(message.topic, message.payload, message.qos, message.retain)
        if not kept:
            self._enqueue(message)  # QoS 0 caught by a disconnect that we have not heard of yet
            return
        self.published += 1
        with self._ack_lock:
            if message.qos == 0:
                if mid in self._early:
                    self._early.discard(mid)
                else:
                    self._qos0.add(mid)
            elif mid in self._early:
                self._early.discard(mid)
                self._acked(message)
            else:
                self._inflight[mid] = message
                if spooled and message.spool_id is not None:
                    self._handed.add(message.spool_id)

    def _enqueue(self, message: Message) -> None:
        for lost in self.outbox.put(message):
            self._count_dropped(1, events=lost.spool_id is not None)
            if self._outage_dropped == 1:
                log.warning(
                    "mqtt: offline queue full (%d messages / %d bytes): dropping the oldest detections first, "
                    "events last; the count is reported at reconnect and in stats",
                    self.outbox.max_messages,
                    self.outbox.max_bytes,
                )

    def _given_up(self, spool_ids: list[str]) -> None:
        """The spool was full and dropped these, its oldest (it warns itself)."""
        with self._ack_lock:
            self._handed.difference_update(spool_ids)  # any still in flight are ordinary messages now
        self._count_dropped(len(spool_ids), events=True)

    def _count_dropped(self, n: int, events: bool) -> None:
        self.dropped += n
        if events:
            self._events_dropped += n
        self._outage_dropped += n

    # -- paho hooks (network thread) --------------------------------------------------------------------

    def _on_connect(self) -> None:
        with self._send_lock:
            if self._outage_dropped:
                log.warning(
                    "mqtt: %d message(s) were dropped while the broker was unreachable", self._outage_dropped
                )
                self._outage_dropped = 0
            availability = self._retained.get(self.availability_topic)
            if availability is not None and not self._closing:
                self._publish(availability)
            for topic, message in list(self._retained.items()):
                if topic != self.availability_topic:
                    self._publish(message)
            if self.spool is not None:
                # Earlier runs' events and this outage's, oldest first; paho re-sends those it holds itself.
                for message in self.spool.pending():
                    if message.spool_id not in self._handed:
                        self._publish(message, spooled=True)
            for message in self.outbox.drain():
                self._publish(message)
            if availability is not None and self._closing:
                self._publish(availability)  # offline, last: after the zero counts
            self._online = True
        for hook in self.on_connected:
            hook()

    def _on_disconnect(self) -> None:
        self._online = False
        with self._ack_lock:
            self._qos0.clear()  # QoS 0 not yet written is gone with the socket; no ack will come

    def _on_ack(self, mid: int) -> None:
        with self._ack_lock:
            message = self._inflight.pop(mid, None)
            if message is not None:
                self._acked(message)
            elif mid in self._qos0:
                self._qos0.discard(mid)
            else:
                self._early.add(mid)

    def _acked(self, message: Message) -> None:
        self.acked += 1
        if message.spool_id is not None and self.spool is not None:
            self._handed.discard(message.spool_id)
            self.spool.ack(message.spool_id)

    # -- shutdown ---------------------------------------------------------------------------------------

    def close(self, flush_until: float, done_by: float) -> None:
        """Publish ``offline``, wait until ``flush_until`` (monotonic) for acknowledgements, then
        :meth:`finish` by ``done_by``. The wait goes on while offline: a reconnect within it still delivers
        (a start right after an outage has an earlier run's events to send before it exits)."""
        self._closing = True
        self.set_retained(self.availability_topic, OFFLINE.encode())
        pause = threading.Event()  # never set: its wait() is a sleep that a faked wall clock cannot break
        while time.monotonic() < flush_until and self.queued and self.link.fatal is None:
            pause.wait(0.005)
        self.finish(done_by)

    def finish(self, done_by: float) -> None:
        """Disconnect, make the spool consistent on disk (compacted, fsynced) and freeze the counters, then
        give paho's thread what is left until ``done_by`` to end. Local work only: it does not wait for the
        broker. Idempotent."""
        if self._final is not None:
            return
        connected = self.link.reachability.connected
        self.link.disconnect()
        if self.spool is not None:
            self.spool.close()
        final = self.summary()
        final["connected"] = connected  # at the end of the run, before our own goodbye
        self._final = final
        # Not up to done_by itself: whoever waits on us by then must find us finished.
        self.link.stop(max(0.0, min(LINK_STOP_S, done_by - LINK_STOP_MARGIN_S - time.monotonic())))
        left, spooled, lost = final["queued"], final["spooled"], final["undelivered"]
        if left:
            kept = f"; {spooled} event(s) stay in the spool for the next start" if spooled else ""
            log.warning(
                "mqtt: %d message(s) not acknowledged at exit%s%s",
                left,
                kept,
                f"; {lost} event(s) undelivered (lost)" if lost else "",
            )
