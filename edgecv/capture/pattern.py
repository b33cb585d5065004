"""A test pattern: a white box sliding over grey, no camera or file needed.

``pattern://WxH?frames=N`` (defaults ``pattern://320x240?frames=100``), or ``source.type: pattern`` with no uri. Good for
trying a sink or the service wiring on a machine without media; also the worked example of a source type
that lives in one file (see "How to add a source type" in :mod:`edgecv.capture`).
"""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import numpy as np

from edgecv.capture.base import FrameSource, SourceBase
from edgecv.capture.stats import SourceStats
from edgecv.capture.uri import SOURCES, SourceSpec, SourceType
from edgecv.config.sections import SourceConfig
from edgecv.errors import SourceInputError
from edgecv.frame import Frame

SCHEME = "pattern"
DEFAULT = "pattern://320x240?frames=100"
_SIZE = re.compile(r"([1-9]\d*)x([1-9]\d*)")


class PatternSource(SourceBase):
    """``frames`` frames of ``width``×``height`` (again and again with ``loop``), stamped with the clock."""

    live = False

    def __init__(
        self, width: int, height: int, frames: int, *, loop: bool = False, source_id: str = "0"
    ) -> None:
        self.name = f"pattern {width}x{height}"
        self.source_id = source_id
        self.stats = SourceStats()
        self._size = (height, width)
        self._frames = frames
        self._loop = loop
        self._open = False

    def open(self) -> None:
        self._open = True

    def read(self, timeout: float = 0.0) -> Frame | None:
        if not self._open:
            raise self._not_open()
        seq = self.stats.frames
        if seq >= self._frames and not self._loop:
            return None
        height, width = self._size
        image = np.full((height, width, 3), 90, np.uint8)
        x = (seq * 4) % max(1, width - width // 4)
        image[height // 4 : height * 3 // 4, x : x + width // 4] = 255
        self.stats.frames += 1
        return Frame(image=image, seq=seq, ts=time.time(), source_id=self.source_id)

    def close(self) -> None:
        self._open = False


def claim_pattern(uri: str) -> SourceSpec | None:
    return _resolve(uri) if urlsplit(uri).scheme.lower() == SCHEME else None


def _resolve(uri: str) -> SourceSpec:
    parts = urlsplit(uri or DEFAULT)
    size = _SIZE.fullmatch(parts.netloc or "320x240")
    frames = parse_qs(parts.query).get("frames", ["100"])[-1]
    if parts.scheme.lower() != SCHEME or size is None or not frames.isdigit():
        raise SourceInputError(
            f"source.type is pattern but source.uri is '{uri}'", f"use a uri such as {DEFAULT}"
        )
    # The target packs what _build needs into the one field a spec has for it: "WxHxN".
    return SourceSpec(SCHEME, f"{size[0]}x{frames}", f"pattern {size[0]}")


def _build(spec: SourceSpec, config: SourceConfig, source_id: str) -> FrameSource:
    width, height, frames = (int(part) for part in str(spec.target).split("x"))
    return PatternSource(width, height, frames, loop=config.loop, source_id=source_id)


SOURCES.register(SCHEME, SourceType(_resolve, _build, claim_pattern))
