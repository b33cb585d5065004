"""The spools of a process's cameras behind the one interface the publisher uses.

One connection carries every camera's events, but each camera keeps its own spool in
``<mqtt.spool_dir>/<device>/<camera>/`` (the layout, and the files, an earlier run of the camera left): an
event goes to the spool of the camera whose topic it is published on, and an acknowledgement to the spool
that holds its id (ids are unique per process and across restarts).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from .outbox import Message
from .spool import Spool


def topic_base(topic: str) -> str:
    """``<prefix>/<device>/<camera>`` of a camera's topic (its leaf dropped)."""
    return topic.rsplit("/", 1)[0]


class SpoolSet:
    """``spools`` by topic base (:attr:`edgecv.mqtt.topics.Topics.base`). ``directory`` names them in logs."""

    def __init__(self, spools: Mapping[str, Spool], directory: Path) -> None:
        self._spools = dict(spools)
        self.directory = directory

    def add(self, message: Message) -> tuple[bool, list[str]]:
        """As :meth:`Spool.add`, in the spool of the message's camera; ``(False, [])`` (kept in memory by the
        caller) for a camera whose spool could not be opened."""
        spool = self._spools.get(topic_base(message.topic))
        if spool is None:
            return False, []
        return spool.add(message)

    def ack(self, spool_id: str) -> None:
        for spool in self._spools.values():
            if spool_id in spool:
                spool.ack(spool_id)
                return

    def pending(self) -> list[Message]:
        """Every camera's unacknowledged events, each camera's in order."""
        return [message for spool in self._spools.values() for message in spool.pending()]

    def __len__(self) -> int:
        return sum(len(spool) for spool in self._spools.values())

    def __contains__(self, spool_id: object) -> bool:
        return any(spool_id in spool for spool in self._spools.values())

    @property
    def errors(self) -> int:
        return sum(spool.errors for spool in self._spools.values())

    def close(self) -> int:
        """Close every spool; how many events stay for the next start."""
        return sum(spool.close() for spool in self._spools.values())
