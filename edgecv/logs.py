"""Logging to stderr, as text for people or JSON lines for collectors (journald, Loki)."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from typing import TextIO


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry)


class StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of each record, not the one at set-up.

    Test harnesses and embedding programs swap ``sys.stderr``; a handler holding the old object would
    write into a closed file.
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


class RedactingFormatter(logging.Formatter):
    """Passes each finished line (message, arguments and traceback alike) through ``redact``."""

    def __init__(self, inner: logging.Formatter, redact: Callable[[str], str]) -> None:
        super().__init__()
        self._inner = inner
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self._redact(self._inner.format(record))


def setup_logging(level: str = "INFO", fmt: str = "text", redact: Callable[[str], str] | None = None) -> None:
    """``redact`` masks secrets (the config's secret values, URL passwords) in every line written."""
    handler = StderrHandler()
    formatter: logging.Formatter
    if fmt == "json":
        formatter = JsonFormatter()
    else:
        formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
        formatter.converter = time.localtime
    handler.setFormatter(RedactingFormatter(formatter, redact) if redact else formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
