"""Decode a clip here and store its frames losslessly (FFV1 in AVI, same frame rate), for make test-arm64.

    python tools/pi/lossless_clip.py SRC DST.avi [--frames N]

OpenCV's FFmpeg decodes the same MPEG-4 or H.264 file to different pixels on x86_64 and aarch64 (the
demo clip by up to 4 levels, the shared vtest clip by up to 13: YUV-to-BGR conversion and IDCT differ by
architecture), and the models amplify that. Comparing detections across machines needs the same input:
FFV1 decodes to exactly the frames written here on both. The frame rate is kept, so media-time stamps and
with them the tracks are the same.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np


def read_frames(path: Path, limit: int | None) -> tuple[list[np.ndarray], float]:
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise SystemExit(f"cannot open {path}")
    fps = float(capture.get(cv2.CAP_PROP_FPS))
    frames: list[np.ndarray] = []
    while limit is None or len(frames) < limit:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    if not frames or fps <= 0:
        raise SystemExit(f"{path}: no frames or no frame rate")
    return frames, fps


def write_lossless(frames: list[np.ndarray], fps: float, path: Path) -> None:
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), fps, (width, height))
    if not writer.isOpened():
        raise SystemExit(f"this OpenCV cannot write FFV1 to {path}")
    for frame in frames:
        writer.write(frame)
    writer.release()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path, help="an .avi path")
    parser.add_argument("--frames", type=int, default=None, help="keep only the first N frames")
    args = parser.parse_args(argv)
    frames, fps = read_frames(args.source, args.frames)
    write_lossless(frames, fps, args.target)
    back, _ = read_frames(args.target, None)
    # The point of the copy is exactness: check it here rather than trust the codec.
    if len(back) != len(frames) or any(not np.array_equal(a, b) for a, b in zip(frames, back, strict=True)):
        raise SystemExit(f"{args.target} does not read back as the frames written")
    print(f"{args.target.name}: {len(frames)} frames of {args.source.name} at {fps:g} fps, lossless")
    return 0


if __name__ == "__main__":
    sys.exit(main())
