"""What waits for the broker while it is unreachable: bounded by count and bytes, dropped by priority.

When full, the oldest per-frame detections go first (the next frame supersedes them anyway), then stats,
and events last: they are what a subscriber cannot reconstruct.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
from enum import IntEnum


class MessageKind(IntEnum):
    """What a message is; its value is its drop order when the queue is full (lowest goes first).

    Retained state (availability, counts, snapshots, discovery) travels as ``EVENTS``: dropped last, in
    publish order with the events.
    """

    DETECTIONS = 0
    STATS = 1
    EVENTS = 2


@dataclass
class Message:
    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    kind: MessageKind = MessageKind.DETECTIONS
    spool_id: str | None = None  # the JSON id, for events kept in the spool


class Outbox:
    """FIFO over all priorities (delivery keeps publish order); eviction picks by priority, oldest first."""

    def __init__(self, max_messages: int, max_bytes: int) -> None:
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self._items: OrderedDict[int, Message] = OrderedDict()
        self._by_kind: dict[MessageKind, deque[int]] = {kind: deque() for kind in MessageKind}
        self._next = 0
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def put(self, message: Message) -> list[Message]:
        """Queue ``message``; returns what had to be dropped to stay in bounds (possibly ``message``)."""
        key = self._next
        self._next += 1
        self._items[key] = message
        self._by_kind[message.kind].append(key)
        self.bytes += len(message.payload)
        dropped = []
        while len(self._items) > self.max_messages or self.bytes > self.max_bytes:
            dropped.append(self._evict())
        return dropped

    def _evict(self) -> Message:
        for kind in MessageKind:  # in value order: the drop order
            keys = self._by_kind[kind]
            if keys:
                message = self._items.pop(keys.popleft())
                self.bytes -= len(message.payload)
                return message
        raise AssertionError("evicting from an empty outbox")  # bounds are >= 1 message

    def messages(self) -> list[Message]:
        """What is queued, oldest first, left in place."""
        return list(self._items.values())

    def drain(self) -> list[Message]:
        """Everything queued, oldest first; the outbox is empty afterwards."""
        messages = list(self._items.values())
        self._items.clear()
        for keys in self._by_kind.values():
            keys.clear()
        self.bytes = 0
        return messages
