"""A file's frames carry the recording's timing, not the speed they happen to be read at."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from edgecv.capture.video import VideoFileSource


def test_timestamps_follow_the_file_frame_rate(tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 4, (32, 24))
    for i in range(6):
        writer.write(np.full((24, 32, 3), i * 40, np.uint8))
    writer.release()
    with VideoFileSource(path, loop=True) as source:
        stamps = [source.read(0).ts for _ in range(9)]  # read as fast as possible, across one loop
    steps = np.diff(stamps)
    assert np.allclose(steps, 0.25, atol=1e-6), steps


def test_monotonic_stamps_follow_media_time_too(tmp_path: Path) -> None:
    # mono is what the tracker measures with: a file read at 500 fps must still look like 4 fps to it.
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 4, (32, 24))
    for i in range(6):
        writer.write(np.full((24, 32, 3), i * 40, np.uint8))
    writer.release()
    with VideoFileSource(path) as source:
        frames = [source.read(0) for _ in range(6)]
    assert np.allclose(np.diff([f.mono for f in frames]), 0.25, atol=1e-6)
    # Both clocks start together at open: the offset between them is the same on every frame.
    assert np.ptp([f.ts - f.mono for f in frames]) < 1e-6
