"""Raspberry Pi cameras through picamera2 (libcamera). The only module that imports picamera2.

picamera2 is not a pip dependency: it comes from apt on Raspberry Pi OS, built against the system numpy, and
reaches a venv made with ``--system-site-packages``. It is imported in ``open`` so that edgecv imports (and
its tests run) on machines without it.

Registers the source type ``picamera2``: ``picamera2``, ``picamera2:N`` or, when named, a bare camera number.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from edgecv.capture.live import LiveSource
from edgecv.capture.uri import PICAMERA_URI, SOURCES, SourceSpec, SourceType
from edgecv.errors import SourceError, SourceInputError

if TYPE_CHECKING:
    from edgecv.capture.base import FrameSource
    from edgecv.config.sections import SourceConfig

log = logging.getLogger(__name__)

INSTALL_HINT = (
    "on Raspberry Pi OS run 'sudo apt install python3-picamera2' "
    "and create the venv with --system-site-packages"
)


class Picamera2Device:
    """Camera ``camera_num`` as a capture device for :class:`~edgecv.capture.grabber.LatestFrameGrabber`.

    The stream is configured as ``"RGB888"``, which despite its name lays pixels out B, G, R in memory
    (libcamera names formats by the order in a little-endian word): exactly the BGR that OpenCV and the rest
    of edgecv expect, with no conversion per frame.
    """

    def __init__(self, camera_num: int = 0, *, width: int | None = None, height: int | None = None) -> None:
        self.camera_num = camera_num
        self.name = f"picamera2:{camera_num}"
        self._size = (width, height) if width and height else None  # None: picamera2's own default
        self._camera: Any = None

    def open(self) -> None:
        try:
            from picamera2 import Picamera2
        except ImportError as exc:
            raise SourceError("picamera2 is not installed", INSTALL_HINT) from exc
        try:
            camera = Picamera2(camera_num=self.camera_num)
        except Exception as exc:  # picamera2 raises IndexError/RuntimeError for a missing or busy camera
            raise SourceError(
                f"cannot open {self.name}: {exc}",
                "check the ribbon cable and 'rpicam-hello --list-cameras'; "
                "another program may hold the camera",
            ) from exc
        try:
            main: dict[str, Any] = {"format": "RGB888"}
            if self._size is not None:
                main["size"] = self._size
            camera.configure(camera.create_video_configuration(main=main))
            camera.start()
        except Exception as exc:
            _shut(camera)
            raise SourceError(
                f"cannot start {self.name}: {exc}", "check source.width/height against the sensor's modes"
            ) from exc
        self._camera = camera

    def read(self) -> np.ndarray | None:
        if self._camera is None:
            return None
        try:
            return self._camera.capture_array("main")
        except Exception as exc:  # a camera that stopped answering: the grabber decides whether to reconnect
            log.debug("%s capture failed: %s", self.name, exc)
            return None

    def close(self) -> None:
        if self._camera is not None:
            _shut(self._camera)
            self._camera = None


def _shut(camera: Any) -> None:
    """Stop and release; errors are logged, not raised, because this runs on the way out of a failure."""
    for step in (camera.stop, camera.close):
        try:
            step()
        except Exception as exc:
            log.debug("picamera2 %s failed: %s", step.__name__, exc)


def claim_picamera2(uri: str) -> SourceSpec | None:
    return _resolve(uri) if PICAMERA_URI.fullmatch(uri) else None


def _resolve(uri: str) -> SourceSpec:
    """``picamera2[:N]``, a camera number ``N``, or nothing (camera 0)."""
    match = PICAMERA_URI.fullmatch(uri)
    if uri.isdigit():
        number = int(uri)
    elif not uri or match:
        number = int(match.group(1) or 0) if match else 0
    else:
        raise SourceInputError(
            f"source.type is picamera2 but source.uri is '{uri}'",
            "set source.uri to picamera2, picamera2:N or a camera number N (or leave it unset for camera 0)",
        )
    return SourceSpec("picamera2", number, f"picamera2:{number}")


def _build(spec: SourceSpec, config: SourceConfig, source_id: str) -> FrameSource:
    device = Picamera2Device(int(spec.target), width=config.width, height=config.height)
    return LiveSource(device, config, source_id=source_id)


SOURCES.register("picamera2", SourceType(_resolve, _build, claim_picamera2, rank=10))
