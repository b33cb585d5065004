"""Frame sources: cameras, streams, files, image folders, Pi cameras.

``open_source(config)`` picks one from ``source.type`` and ``source.uri``; every source speaks
:class:`FrameSource`. Live sources (cameras, streams, Pi cameras) run a grabber thread that keeps only the
newest frame and reconnects with backoff; files and folders are read frame by frame, deterministically.
"""

from __future__ import annotations

from edgecv.capture.base import CaptureDevice, FrameSource, FrameTimeout
from edgecv.capture.frame import Frame, SourceStats
from edgecv.capture.images import ImageFolderSource
from edgecv.capture.live import LiveSource
from edgecv.capture.opencv import OpenCVCamera, OpenCVStream
from edgecv.capture.picamera2 import Picamera2Device
from edgecv.capture.uri import SourceSpec, resolve
from edgecv.capture.video import VideoFileSource
from edgecv.config.sections import SourceConfig

__all__ = [
    "CaptureDevice",
    "Frame",
    "FrameSource",
    "FrameTimeout",
    "ImageFolderSource",
    "LiveSource",
    "SourceSpec",
    "SourceStats",
    "VideoFileSource",
    "open_source",
]


def open_source(config: SourceConfig, source_id: str = "0", default_uri: str | None = None) -> FrameSource:
    """The source ``config`` describes, not yet opened (call ``open()`` or use it in a ``with`` block).

    ``default_uri`` is used when ``config.uri`` is unset (the CLI passes the bundled demo clip). Raises
    :class:`SourceError` when the uri names nothing usable, such as a path that does not exist; errors that
    need the device itself (a camera that is busy) come from ``open()``.
    """
    spec = resolve(config.uri if config.uri is not None else default_uri, config.type)
    if spec.kind == "images":
        return ImageFolderSource(
            str(spec.target), loop=config.loop, max_fps=config.max_fps, source_id=source_id
        )
    if spec.kind == "video":
        return VideoFileSource(
            str(spec.target),
            loop=config.loop,
            max_fps=config.max_fps,
            source_id=source_id,
            decode_threads=config.decode_threads,
        )
    device: CaptureDevice
    if spec.kind == "camera":
        device = OpenCVCamera(
            spec.target, width=config.width, height=config.height, read_timeout_s=config.read_timeout_s
        )
    elif spec.kind == "stream":
        device = OpenCVStream(
            str(spec.target),
            name=spec.name,
            timeout_s=config.read_timeout_s,
            decode_threads=config.decode_threads,
        )
    else:
        device = Picamera2Device(int(spec.target), width=config.width, height=config.height)
    return LiveSource(device, config, source_id=source_id)
