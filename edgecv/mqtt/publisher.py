"""Delivery that subscribers can rely on, on top of :class:`~edgecv.mqtt.client.MqttLink`.

* Online, a message goes straight to paho; offline it waits in the bounded :class:`Outbox`, and is sent, in
  order, right after the reconnect, behind the retained state.
* Retained state (availability, counts, discovery, snapshots) is kept here and re-published after every
  connect: a broker that restarted without persistence, or lost our retained messages, is current again.
* Delivery is counted by PUBACK (paho's ``on_publish``), never by ``MQTTMessageInfo``: a QoS 1 message
  published while the link is down reports failure there but is kept and re-sent by paho.
* With a spool, events are on disk from the moment they are sent until their PUBACK.

Locking: ``_send_lock`` orders sends against the reconnect drain. ``_ack_lock`` guards the in-flight
table and is never held while calling paho: paho calls ``on_publish`` with its own message lock held, and
``publish()`` takes that lock, so sharing one lock between the two paths would deadlock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ..config.mqtt import MqttConfig
from .client import MqttLink
from .outbox import Message, MessageKind, Outbox
from .payloads import OFFLINE, ONLINE
from .spool import Spool

log = logging.getLogger(__name__)


class Publisher:
    def __init__(
        self,
        config: MqttConfig,
        availability_topic: str,
        on_message: Callable[[str, bytes, bool], None] | None = None,
    ) -> None:
        self.config = config
        self.availability_topic = availability_topic
        self.outbox = Outbox(config.queue.max_messages, config.queue.max_bytes)
        self.spool = Spool(Path(config.spool_dir)) if config.spool_dir is not None else None
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
        self._early: set[int] = set()  # acks that overtook the publish() call that made them
        self._qos0: set[int] = set()
        self.on_connected: list = []  # extra hooks (discovery), called on the network thread
        self.published = 0
        self.acked = 0
        self.dropped = 0
        self._outage_dropped = 0
        if self.spool is not None:
            for message in self.spool.pending():
                # Events of an earlier run: first in line once the broker is reachable.
                self._enqueue(message)
        self.set_retained(availability_topic, ONLINE.encode())

    # -- counters ---------------------------------------------------------------------------------------

    @property
    def online(self) -> bool:
        return self._online

    @property
    def reconnects(self) -> int:
        return max(0, self.link.connects - 1)

    @property
    def queued(self) -> int:
        with self._ack_lock:
            return len(self.outbox) + len(self._inflight)

    def summary(self) -> dict[str, int]:
        return {
            "published": self.published,
            "acked": self.acked,
            "queued": self.queued,
            "dropped": self.dropped,
            "reconnects": self.reconnects,
        }

    # -- sending ----------------------------------------------------------------------------------------

    def start(self) -> None:
        self.link.start()

    def send(self, message: Message) -> None:
        if message.spool_id is not None and self.spool is not None:
            self.spool.add(message)
        with self._send_lock:
            if self._online:
                self._publish(message)
            else:
                self._enqueue(message)

    def set_retained(self, topic: str, payload: bytes, qos: int = 1) -> None:
        """Publish retained state now (when online) and again after every reconnect."""
        message = Message(topic, payload, qos, True, MessageKind.EVENTS)
        with self._send_lock:
            self._retained[topic] = message
            if self._online:
                self._publish(message)

    def _publish(self, message: Message) -> None:
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

    def _enqueue(self, message: Message) -> None:
        for lost in self.outbox.put(message):
            self.dropped += 1
            self._outage_dropped += 1
            if self._outage_dropped == 1:
                log.warning(
                    "mqtt: offline queue full (%d messages / %d bytes): dropping the oldest detections first, "
                    "events last; the count is reported at reconnect and in stats",
                    self.outbox.max_messages,
                    self.outbox.max_bytes,
                )
            if lost.spool_id is not None and self.spool is not None:
                self.spool.ack(lost.spool_id)  # given up: the spool is bounded like the queue

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
            for message in self.outbox.drain():
                self._publish(message)
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
            self.spool.ack(message.spool_id)

    # -- shutdown ---------------------------------------------------------------------------------------

    def close(self, timeout_s: float) -> None:
        """Publish ``offline``, wait up to ``timeout_s`` for acknowledgements, disconnect, keep the rest."""
        deadline = time.monotonic() + timeout_s
        self._closing = True
        self.set_retained(self.availability_topic, OFFLINE.encode())
        # Also while offline: a reconnect within the deadline still delivers (a restart right after an
        # outage has its spooled events to send before it may exit).
        while time.monotonic() < deadline and self.queued and self.link.fatal is None:
            time.sleep(0.005)
        self.link.stop()
        left = self.queued
        if left:
            kept = f"; {len(self.spool)} event(s) stay in the spool for the next run" if self.spool else ""
            log.warning("mqtt: %d message(s) not acknowledged at exit%s", left, kept)
        if self.spool is not None:
            self.spool.close()
