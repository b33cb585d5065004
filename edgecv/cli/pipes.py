"""A reader that leaves early (``edgecv run | head``) is a normal end: exit 0, nothing more on stderr.

When the reader of a pipe goes, the next flush of our end raises ``BrokenPipeError`` and the unwritten bytes
stay in the stream's buffer. Catching the error is not enough: the interpreter flushes ``sys.stdout`` once
more at exit, fails again, prints ``Exception ignored ... BrokenPipeError`` and exits 120. Whether that
happens used to depend on timing (how much was buffered when the reader left), so it showed on slow
machines only. The cure, as the Python documentation gives it for SIGPIPE: point the descriptor at
``/dev/null``, after which every later flush succeeds and discards.
"""

from __future__ import annotations

import os
import select
import sys
from typing import TextIO


def reader_gone(fd: int) -> bool:
    """Whether ``fd`` is a pipe whose reader has closed it (poll reports an error on the write end)."""
    try:
        poller = select.poll()
        poller.register(fd, 0)  # POLLERR and POLLHUP are reported whatever the mask
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (OSError, ValueError):
        return False


def discard(fd: int) -> None:
    """From now on, what is written to ``fd`` goes to ``/dev/null``."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def discard_closed_outputs(broken: TextIO | None = None) -> None:
    """After a ``BrokenPipeError``: stop writing to ``broken`` (the stream that raised it, when known) and to
    stdout and stderr wherever their readers have left (``edgecv run 2>&1 | head`` closes both)."""
    for stream in (sys.stdout, sys.stderr):
        fd = _fileno(stream)
        if fd is not None and (stream is broken or reader_gone(fd)):
            discard(fd)


def flush_stdout() -> None:
    """Flush stdout while a broken pipe can still be handled here (not in the interpreter's exit flush)."""
    stream = sys.stdout
    if stream is None:
        return
    try:
        stream.flush()
    except BrokenPipeError:
        discard_closed_outputs(stream)
    except ValueError:
        pass  # closed already: nothing buffered to lose


def _fileno(stream: TextIO | None) -> int | None:
    try:
        return stream.fileno() if stream is not None else None
    except (OSError, ValueError, AttributeError):
        return None
