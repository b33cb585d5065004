"""A captured frame: what sources hand the pipeline and the pipeline hands every sink, beside
:class:`~edgecv.detections.Detections`. Shared, so it lives outside the capture package: sinks never
import capture.

Two clocks per frame, because they answer different questions. ``ts`` is the wall clock: what a person or a
database reads in a payload, and it jumps when NTP corrects a Pi that booted without an RTC (hours, either
way). ``mono`` is ``time.monotonic()``: it never jumps, so everything that measures a *duration* (the
tracker's Kalman step and lost window, event rate limits, watchdogs, backoff) uses it and only it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Frame:
    """One image as captured: BGR uint8 ``H×W×3``, with its place in the stream.

    Live sources stamp ``ts`` and ``mono`` at capture, so a clock step shows in ``ts`` and nowhere else.
    File sources stamp both in media time (open time plus ``seq`` over the file's frame rate), so a clip
    is tracked by its own timing at any processing speed. A source that does not set ``mono`` gets the
    moment the frame was built, which for a source that builds frames as it captures them is the same.
    """

    image: np.ndarray
    seq: int  # per source, from 0, counting frames handed to the pipeline
    ts: float  # capture time, epoch seconds (wall clock: for payloads, never for durations)
    source_id: str = "0"  # the camera's name (a key of the cameras map, or mqtt.camera)
    mono: float = field(default_factory=time.monotonic)  # capture time on the monotonic clock, seconds
    # Motion gating (or the camera's detect switch) left the detector off for this frame: sinks see it with
    # no detections and print it only when asked (output.include_skipped).
    skipped: bool = False


# Two durations closer than this are the same: a file's stamps are sums of an inexact frame interval (1/25 s
# is no binary fraction), rounded differently at every magnitude of the start time. Without it, an update due
# after exactly min_interval_s would come a frame early or late depending on when the file was opened.
SAME_TIME_S = 1e-6


def stamp() -> tuple[float, float]:
    """``(ts, mono)`` now: the wall and monotonic clocks read together, for a frame captured now."""
    return time.time(), time.monotonic()
