"""A plug-in source type written exactly as "How to add a source type" in :mod:`edgecv.capture` says, one file.

tests/test_plugins.py drops it into the ``edgecv.capture`` package path of a real ``edgecv run``:
``toy://N`` gives N frames of flat grey, then ends.
"""

from __future__ import annotations

import time

import numpy as np

from edgecv.capture.base import FrameSource, SourceBase
from edgecv.capture.stats import SourceStats
from edgecv.capture.uri import SOURCES, SourceSpec, SourceType
from edgecv.config.sections import SourceConfig
from edgecv.errors import SourceError
from edgecv.frame import Frame


class ToySource(SourceBase):
    live = False

    def __init__(self, frames: int, source_id: str) -> None:
        self.name = f"toy {frames}"
        self.source_id = source_id
        self.stats = SourceStats()
        self.frames = frames

    def open(self) -> None:
        return None

    def read(self, timeout: float = 0.0) -> Frame | None:
        if self.stats.frames >= self.frames:
            return None
        seq = self.stats.frames
        self.stats.frames += 1
        return Frame(np.full((48, 64, 3), 128, np.uint8), seq=seq, ts=time.time(), source_id=self.source_id)

    def close(self) -> None:
        return None


def resolve(uri: str) -> SourceSpec:
    count = uri.removeprefix("toy://")
    if not uri.startswith("toy://") or not count.isdigit():
        raise SourceError(f"source.type is toy but source.uri is {uri!r}", "use toy://N")
    return SourceSpec("toy", int(count), uri)


def claim(uri: str) -> SourceSpec | None:
    return resolve(uri) if uri.startswith("toy://") else None


def build(spec: SourceSpec, config: SourceConfig, source_id: str) -> FrameSource:
    return ToySource(int(spec.target), source_id)


SOURCES.register("toy", SourceType(resolve, build, claim))
