"""Line totals on disk, so that counts survive a restart until they are reset.

One JSON file per camera, ``<mqtt.spool_dir>/<device>/<camera>/line_totals.json`` (beside the camera's
spool, in the service's state directory by default): ``{"v": 1, "lines": {line: {"in": {label: n},
"out": {label: n}}}}``. It is replaced atomically (a temporary file, fsynced, renamed over it), so a crash or
a power cut leaves the old totals or the new ones, never half a file. A file that cannot be read as totals is
moved aside to ``line_totals.json.corrupt`` with a one-line warning and counting starts from zero; a disk that
cannot be written is a warning (once per streak) and the totals go on in memory.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from .payloads import LineTotals

log = logging.getLogger(__name__)

FILENAME = "line_totals.json"
CORRUPT_SUFFIX = ".corrupt"

Totals = dict[str, dict[str, dict[str, int]]]  # line -> "in" / "out" -> label -> n


class TotalsFileJson(BaseModel):
    """The file's format (validated on load: a file that is JSON but not totals is corrupt too)."""

    model_config = ConfigDict(extra="forbid")

    v: Literal[1]
    lines: dict[str, LineTotals]


class TotalsFile:
    """The totals of one camera in ``directory``. ``load`` and ``save`` may be called from any thread."""

    def __init__(self, directory: Path) -> None:
        self.path = Path(directory) / FILENAME
        self._lock = threading.Lock()  # one writer at a time: the temporary file is shared
        self._failing = False

    def load(self) -> Totals:
        """The totals kept on disk; empty when there are none, or when the file is unreadable or corrupt."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as exc:
            if isinstance(exc, UnicodeDecodeError):
                self._set_aside(f"not UTF-8 text ({exc.reason})")
            else:
                log.warning("mqtt: cannot read the line totals %s (%s): counting from zero", self.path, exc)
            return {}
        try:
            parsed = TotalsFileJson.model_validate_json(text)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"])
            self._set_aside(f"{error['msg']}{f' at {where}' if where else ''}")
            return {}
        return {name: {"in": dict(line.in_), "out": dict(line.out)} for name, line in parsed.lines.items()}

    def _set_aside(self, why: str) -> None:
        aside = self.path.with_name(self.path.name + CORRUPT_SUFFIX)
        try:
            os.replace(self.path, aside)
            kept = f"kept as {aside}"
        except OSError as exc:
            kept = f"could not move it aside: {exc.strerror}"
        log.warning("mqtt: line totals file %s is corrupt (%s): counting from zero, %s", self.path, why, kept)

    def save(self, totals: Totals) -> bool:
        """Replace the file with ``totals``; False (warned once per streak of failures) if it cannot."""
        data = json.dumps({"v": 1, "lines": totals}, separators=(",", ":"), sort_keys=True).encode()
        temporary = self.path.with_name(self.path.name + ".tmp")
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                try:
                    written = 0
                    while written < len(data):
                        written += os.write(fd, data[written:])
                    os.fsync(fd)
                finally:
                    os.close(fd)
                os.replace(temporary, self.path)
                _sync_directory(self.path.parent)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    temporary.unlink()
                if not self._failing:
                    log.warning(
                        "mqtt: cannot write the line totals %s (%s): they are kept in memory only and start "
                        "from zero after a restart",
                        self.path,
                        exc.strerror or exc,
                    )
                self._failing = True
                return False
            if self._failing:
                log.info("mqtt: line totals written to %s again", self.path)
            self._failing = False
            return True


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable (a power cut right after it must not bring the old file back)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
