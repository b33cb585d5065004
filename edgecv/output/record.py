"""``edgecv run --record PATH``: the stdout JSON lines, every frame included, into a file.

Not a registered sink: a recording is asked for per run, with its path, on the command line, and adds to
whatever ``output.sinks`` builds.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..labels import Labels
from .stdout import StdoutSink


def record_sink(path: Path, labels: Labels) -> StdoutSink:
    """A replay of the run that ``edgecv eval track --recorded`` can score (track ids included); every line
    names its camera, so one recording of several cameras scores each (``--camera``)."""
    try:
        stream = path.open("w", encoding="utf-8")
    except OSError as exc:
        raise InputError(
            f"cannot write the recording {path}: {exc.strerror}", "check --record's folder"
        ) from None
    return StdoutSink(labels, stream=stream, include_empty=True, owns_stream=True)
