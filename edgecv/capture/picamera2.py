"""Raspberry Pi cameras through picamera2 (libcamera). The only module that imports picamera2.

picamera2 is not a pip dependency: it comes from apt on Raspberry Pi OS, built against the system numpy, and
reaches a venv made with ``--system-site-packages``. It is imported in ``open`` so that edgecv imports (and
its tests run) on machines without it.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from edgecv.errors import SourceError

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
