"""Events kept on disk until the broker acknowledges them, so they survive a restart of the process.

Two append-only files: ``events.jsonl`` (one record per event, written before it is sent:
``{"id", "topic", "qos", "payload"}``, a format that earlier and later versions must go on reading) and
``acked.log`` (one id per acknowledgement). Appends are flushed, not fsynced: a killed process loses nothing
(the data is in the kernel's page cache); a power cut may lose the last second, and an fsync per event would
cost milliseconds on an SD card. Compaction rewrites the spool with the unacknowledged records only (atomic
rename) and is fsynced. A lock file keeps two processes off one spool.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import threading
from pathlib import Path

from ..errors import ConfigError
from .outbox import Message, MessageKind

log = logging.getLogger(__name__)

SPOOL = "events.jsonl"
ACKED = "acked.log"
LOCK = "spool.lock"
COMPACT_EVERY = 2048  # acknowledgements between compactions: keeps the files small on a long run


class Spool:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._lock_file = open(self.directory / LOCK, "a")  # noqa: SIM115 - held for the spool's life
        except OSError as exc:
            raise ConfigError(f"mqtt.spool_dir {self.directory} is not usable: {exc}") from None
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ConfigError(
                f"mqtt.spool_dir {self.directory} is in use by another edgecv process",
                "give each instance its own spool_dir",
            ) from None
        self._lock = threading.Lock()
        self._pending: dict[str, str] = {}  # id -> record line, in spool order
        self._acks_since_compact = 0
        self._load()
        self._compact()
        self._spool = open(self.directory / SPOOL, "a", encoding="utf-8")  # noqa: SIM115
        self._acked = open(self.directory / ACKED, "a", encoding="utf-8")  # noqa: SIM115

    def _load(self) -> None:
        acked: set[str] = set()
        with contextlib.suppress(FileNotFoundError), open(self.directory / ACKED, encoding="utf-8") as f:
            acked = {line.strip() for line in f if line.strip()}
        with contextlib.suppress(FileNotFoundError), open(self.directory / SPOOL, encoding="utf-8") as f:
            for line in f:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line torn by a power cut: the rest of the spool is still good
                if record.get("id") not in acked:
                    self._pending[record["id"]] = line if line.endswith("\n") else line + "\n"

    def pending(self) -> list[Message]:
        """Unacknowledged events from earlier runs (and this one), oldest first."""
        with self._lock:
            records = [json.loads(line) for line in self._pending.values()]
        return [
            Message(r["topic"], r["payload"].encode(), r["qos"], False, MessageKind.EVENTS, r["id"])
            for r in records
        ]

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, message: Message) -> None:
        """Keep an event (a message with a ``spool_id``) until :meth:`ack`."""
        spool_id = message.spool_id
        if spool_id is None:
            raise ValueError(f"only messages with a spool_id are spooled, not one for {message.topic}")
        record = {
            "id": spool_id,
            "topic": message.topic,
            "qos": message.qos,
            "payload": message.payload.decode(),
        }
        line = json.dumps(record) + "\n"
        with self._lock:
            self._pending[spool_id] = line
            self._spool.write(line)
            self._spool.flush()

    def ack(self, spool_id: str) -> None:
        """Acknowledged by the broker, or given up (dropped from a full queue): no longer to be re-sent."""
        with self._lock:
            if self._pending.pop(spool_id, None) is None:
                return
            self._acked.write(spool_id + "\n")
            self._acked.flush()
            self._acks_since_compact += 1
            if self._acks_since_compact >= COMPACT_EVERY or not self._pending:
                self._reopen_compacted()

    def _reopen_compacted(self) -> None:
        self._spool.close()
        self._acked.close()
        self._compact()
        self._spool = open(self.directory / SPOOL, "a", encoding="utf-8")  # noqa: SIM115
        self._acked = open(self.directory / ACKED, "a", encoding="utf-8")  # noqa: SIM115

    def _compact(self) -> None:
        tmp = self.directory / (SPOOL + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.writelines(self._pending.values())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.directory / SPOOL)
        # The ack log only matters for records in the old spool; after the swap it is empty by definition.
        with open(self.directory / ACKED, "w", encoding="utf-8") as f:
            f.flush()
        self._acks_since_compact = 0

    def close(self) -> None:
        with self._lock:
            self._spool.close()
            self._acked.close()
            self._compact()
            if self._pending:
                log.info(
                    "%d unacknowledged event(s) kept in %s for the next run",
                    len(self._pending),
                    self.directory,
                )
            self._lock_file.close()
