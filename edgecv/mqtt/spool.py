"""Events kept on disk from the moment they are queued until the broker acknowledges them.

One spool per camera, in ``<mqtt.spool_dir>/<device>/<camera>/``, as two append-only files:
``events.jsonl`` (one record per event, written before it is sent: ``{"id", "topic", "qos", "payload"}``,
a format that earlier and later versions must go on reading) and ``acked.log`` (one id per acknowledgement,
or per event given up because the spool was full).

Durability window: every append is written to the kernel at once, so a killed process (``kill -9``, an
out-of-memory kill, a crash) loses nothing; the files are fsynced by a background thread at most once a
second (``SYNC_INTERVAL_S``), so a power cut loses at most the events of the last second. An fsync per event
would cost milliseconds on an SD card, on the thread that publishes. Compaction rewrites the spool with the
unacknowledged records only (fsync, atomic rename); a lock file keeps two processes off one spool.

A spool that cannot be written (disk full, read-only, no permission) never stops the pipeline: the failure
is logged once per streak and counted in ``errors``, and the event goes on in memory like an unspooled one.
A spool written by an earlier version directly in ``spool_dir`` (no per-camera folders) is taken over at
the first start: its events are sent first.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path

from ..errors import ConfigError
from .outbox import Message, MessageKind

log = logging.getLogger(__name__)

SPOOL = "events.jsonl"
ACKED = "acked.log"
LOCK = "spool.lock"
COMPACT_EVERY = 2048  # acknowledgements between compactions: keeps the files small on a long run
MB = 1024 * 1024
SYNC_INTERVAL_S = 1.0  # the power-loss window: appends reach the disk at most this long after they are made


class SpoolUnusable(Exception):
    """The spool directory cannot be created or written: run without a spool (the caller warns)."""


class _AppendFile:
    """An append-only file written with plain ``write()`` calls, no buffer in between: what :meth:`append`
    returned from is in the kernel (it survives ``kill -9``), and a write that fails half way (disk full) is
    cut back off, so no torn record is left to be completed by a later write."""

    def __init__(self, path: Path) -> None:
        self.fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self.size = os.fstat(self.fd).st_size

    def append(self, data: bytes) -> None:
        if self.fd is None:
            raise OSError(errno.EBADF, "the spool file is closed")
        written = 0
        try:
            while written < len(data):
                written += os.write(self.fd, data[written:])
        except OSError:
            if written:
                with contextlib.suppress(OSError):
                    os.ftruncate(self.fd, self.size)
            raise
        self.size += len(data)

    def truncate(self) -> None:
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            self.size = 0

    def dup(self) -> int | None:
        return os.dup(self.fd) if self.fd is not None else None

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _read_pending(directory: Path) -> OrderedDict[str, str]:
    """Unacknowledged records of the spool in ``directory``: id -> record line, oldest first."""
    acked: set[str] = set()
    with contextlib.suppress(FileNotFoundError), open(directory / ACKED, encoding="utf-8") as f:
        acked = {line.strip() for line in f if line.strip()}
    pending: OrderedDict[str, str] = OrderedDict()
    with contextlib.suppress(FileNotFoundError), open(directory / SPOOL, encoding="utf-8") as f:
        for line in f:
            try:
                record = json.loads(line)
                spool_id = record["id"]
            except (json.JSONDecodeError, KeyError, TypeError):
                continue  # a line torn by a power cut: the rest of the spool is still good
            if spool_id not in acked:
                pending[spool_id] = line if line.endswith("\n") else line + "\n"
    return pending


class Spool:
    """The spool of one camera in ``directory``; ``max_bytes`` bounds it (oldest events dropped first).

    ``legacy`` is the folder an earlier version kept its single spool in (``spool_dir`` itself); its events
    are taken over, ahead of this spool's own.
    """

    def __init__(self, directory: Path, max_bytes: int, legacy: Path | None = None) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.errors = 0  # writes that failed (disk full, read-only, ...)
        self.dropped = 0  # events given up because the spool was full
        self._failing = False  # in a streak of failed writes: warned once, quiet until a write succeeds
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._lock_file = open(self.directory / LOCK, "a")  # noqa: SIM115 - held for the spool's life
        except OSError as exc:
            raise SpoolUnusable(f"{self.directory}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock_file.close()
            raise ConfigError(
                f"the MQTT spool {self.directory} is in use by another edgecv process",
                "give each process its own mqtt.device/mqtt.camera (or mqtt.spool_dir)",
            ) from None
        self._lock = threading.Lock()
        self._closed = False
        self._dirty = False
        self._acks_since_compact = 0
        self._pending = _read_pending(self.directory)
        adopted = legacy is not None and self._adopt(legacy)
        self._bytes = sum(len(line) for line in self._pending.values())
        self._evict(log_acks=False)  # a smaller spool_max_mb than last time: compaction below drops them
        try:
            self._compact()
            self._spool = _AppendFile(self.directory / SPOOL)
            self._acked = _AppendFile(self.directory / ACKED)
        except OSError as exc:
            self._lock_file.close()
            raise SpoolUnusable(f"{self.directory}: {exc.strerror or exc}") from None
        if adopted:
            assert legacy is not None
            self._remove_legacy(legacy)
        self._sync_stop = threading.Event()
        self._syncer = threading.Thread(target=self._sync_loop, name="edgecv-spool-sync", daemon=True)
        self._syncer.start()

    # -- the earlier layout -----------------------------------------------------------------------------

    def _adopt(self, legacy: Path) -> bool:
        """Put the events of an earlier version's spool in ``legacy`` first in line; False when there is
        none (or it cannot be read, and so stays where it is)."""
        if not (legacy / SPOOL).is_file():
            return False
        try:
            old = _read_pending(legacy)
        except OSError as exc:
            log.warning("mqtt: cannot read the spool of an earlier version in %s: %s", legacy, exc.strerror)
            return False
        if old:
            log.info("mqtt: taking over %d unacknowledged event(s) from %s", len(old), legacy / SPOOL)
            old.update((k, v) for k, v in self._pending.items() if k not in old)
            self._pending = old
        return True

    @staticmethod
    def _remove_legacy(legacy: Path) -> None:
        # Only once its records are safe in the new spool (compacted and fsynced above).
        for name in (SPOOL, ACKED, LOCK):
            with contextlib.suppress(OSError):
                (legacy / name).unlink()

    # -- reading ----------------------------------------------------------------------------------------

    def pending(self) -> list[Message]:
        """Unacknowledged events from earlier runs and this one, oldest first."""
        with self._lock:
            records = [json.loads(line) for line in self._pending.values()]
        return [
            Message(r["topic"], r["payload"].encode(), r["qos"], False, MessageKind.EVENTS, r["id"])
            for r in records
        ]

    def __len__(self) -> int:
        return len(self._pending)

    def __contains__(self, spool_id: object) -> bool:
        return spool_id in self._pending

    # -- writing ----------------------------------------------------------------------------------------

    def add(self, message: Message) -> tuple[bool, list[str]]:
        """Keep an event (a message with a ``spool_id``) until :meth:`ack`.

        Returns ``(kept, dropped)``: ``kept`` is False when the write failed (the caller keeps the event in
        memory instead); ``dropped`` lists the ids of the oldest events given up to stay within
        ``max_bytes``.
        """
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
            if self._closed:
                return False, []
            try:
                self._spool.append(line.encode())
            except OSError as exc:
                self._write_failed(exc)
                return False, []
            self._wrote()
            self._pending[spool_id] = line
            self._bytes += len(line)
            return True, self._evict(log_acks=True)

    def ack(self, spool_id: str) -> None:
        """Acknowledged by the broker: no longer to be re-sent."""
        with self._lock:
            line = self._pending.pop(spool_id, None)
            if line is None or self._closed:
                return
            self._bytes -= len(line)
            self._log_ack(spool_id)
            self._acks_since_compact += 1
            if not self._pending:
                self._truncate()
            elif self._acks_since_compact >= COMPACT_EVERY:
                self._reopen_compacted()

    def _evict(self, log_acks: bool) -> list[str]:
        """Drop the oldest events while over ``max_bytes`` (lock held, or during ``__init__``)."""
        dropped = []
        while self._bytes > self.max_bytes and self._pending:
            spool_id, line = self._pending.popitem(last=False)
            self._bytes -= len(line)
            dropped.append(spool_id)
            if log_acks:
                self._log_ack(spool_id)
        if dropped:
            if self.dropped == 0:
                log.warning(
                    "mqtt: the spool %s is full (mqtt.spool_max_mb = %.3g): dropping the oldest events; they "
                    "are counted in dropped and undelivered",
                    self.directory,
                    self.max_bytes / MB,
                )
            self.dropped += len(dropped)
        return dropped

    def _log_ack(self, spool_id: str) -> None:
        try:
            self._acked.append(spool_id.encode() + b"\n")
        except OSError as exc:
            # The event would only be sent once more after a restart: at least once still holds.
            self._write_failed(exc)
        else:
            self._wrote()

    def _wrote(self) -> None:
        self._dirty = True
        if self._failing:
            self._failing = False
            log.warning("mqtt: the spool in %s is writable again", self.directory)

    def _write_failed(self, exc: OSError) -> None:
        self.errors += 1
        if not self._failing:
            self._failing = True
            log.warning(
                "mqtt: cannot write the spool in %s (%s): events go on in memory only, and are lost if "
                "edgecv stops before the broker has them; free the disk or fix mqtt.spool_dir",
                self.directory,
                exc.strerror or exc,
            )

    # -- compaction and fsync ---------------------------------------------------------------------------

    def _truncate(self) -> None:
        """Everything acknowledged: empty both files. Not fsynced: a power cut that undoes it only means
        events the broker already has are sent again, and subscribers drop them by id."""
        try:
            self._spool.truncate()
            self._acked.truncate()
        except OSError as exc:
            self._write_failed(exc)
        self._acks_since_compact = 0

    def _reopen_compacted(self) -> None:
        self._spool.close()
        self._acked.close()
        try:
            self._compact()
        except OSError as exc:
            self._write_failed(exc)  # the old files are still whole: acks in acked.log still apply
        try:
            self._spool = _AppendFile(self.directory / SPOOL)
            self._acked = _AppendFile(self.directory / ACKED)
        except OSError as exc:
            self._write_failed(exc)  # writes to the closed files fail and are counted until a restart

    def _compact(self) -> None:
        tmp = self.directory / (SPOOL + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.writelines(self._pending.values())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.directory / SPOOL)
        # The ack log only matters for records in the old spool; after the swap it is empty by definition.
        with open(self.directory / ACKED, "w", encoding="utf-8"):
            pass
        self._sync_directory()
        self._acks_since_compact = 0

    def _sync_directory(self) -> None:
        """Make the rename itself durable."""
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def sync(self) -> None:
        """fsync what was appended since the last sync. The files are duplicated under the lock and synced
        outside it, so a slow SD card never holds up :meth:`add`."""
        with self._lock:
            if not self._dirty or self._closed:
                return
            self._dirty = False
            fds = [fd for fd in (self._spool.dup(), self._acked.dup()) if fd is not None]
        try:
            for fd in fds:
                os.fsync(fd)
        except OSError as exc:
            with self._lock:
                self._write_failed(exc)
        finally:
            for fd in fds:
                os.close(fd)

    def _sync_loop(self) -> None:
        while not self._sync_stop.wait(SYNC_INTERVAL_S):
            self.sync()

    # -- end --------------------------------------------------------------------------------------------

    def close(self) -> int:
        """Compact, fsync and unlock; returns how many events stay for the next start. Idempotent; later
        :meth:`add` and :meth:`ack` calls do nothing."""
        self._sync_stop.set()
        with self._lock:
            if self._closed:
                return len(self._pending)
            self._closed = True
            self._spool.close()
            self._acked.close()
            try:
                self._compact()
            except OSError as exc:
                # The appended files are still whole: the next start reads them as they are.
                self._write_failed(exc)
            if self._pending:
                log.info(
                    "mqtt: %d unacknowledged event(s) kept in %s for the next start",
                    len(self._pending),
                    self.directory,
                )
            self._lock_file.close()
            return len(self._pending)
