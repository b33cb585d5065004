"""A folder or glob of still images, read one by one in sorted order."""

from __future__ import annotations

import glob
import logging
import time
from pathlib import Path

import cv2

from edgecv.capture.base import FrameSource, SourceBase
from edgecv.capture.pacing import Pacer
from edgecv.capture.stats import SourceStats
from edgecv.capture.uri import SOURCES, SourceSpec, SourceType, file_not_found, refuse_picamera, require_uri
from edgecv.config.sections import SourceConfig
from edgecv.errors import SourceError, SourceInputError
from edgecv.frame import Frame
from edgecv.images import IMAGE_SUFFIXES_TEXT, has_image_suffix, is_glob, list_images

log = logging.getLogger(__name__)


def list_uri_images(uri: str) -> list[Path]:
    """The images ``uri`` names, sorted by path so that every run sees the same order.

    A directory gives its image files (not recursive); a glob gives every file it matches (``**`` recurses);
    a single file gives itself.
    """
    path = Path(uri)
    if path.is_dir():
        return list_images(path)
    if is_glob(uri):
        return sorted(Path(p) for p in glob.glob(uri, recursive=True) if Path(p).is_file())
    return [path] if path.is_file() else []


class ImageFolderSource(SourceBase):
    """Frames from still images: a folder, a glob such as ``shots/*.jpg``, or a single image.

    An image that does not decode is skipped with a warning and counted in ``stats.failures``; the run goes
    on. ``loop`` starts again after the last image; otherwise ``read`` returns ``None`` there. ``max_fps``
    sleeps between images.
    """

    live = False

    def __init__(
        self, uri: str, *, loop: bool = False, max_fps: float | None = None, source_id: str = "0"
    ) -> None:
        self.uri = uri
        self.name = uri
        self.source_id = source_id
        self.stats = SourceStats()
        self._loop = loop
        self._pacer = Pacer(max_fps)
        self._files: list[Path] | None = None
        self._next = 0
        self._ended = False

    def open(self) -> None:
        if self._files is not None:
            return
        files = list_uri_images(self.uri)
        if not files:
            what = "folder" if Path(self.uri).is_dir() else "pattern"
            raise SourceInputError(
                f"cannot open image source '{self.uri}': the {what} matches no image files",
                f"put images there or fix source.uri (folders are searched for {IMAGE_SUFFIXES_TEXT})",
            )
        self._files = files

    def read(self, timeout: float = 0.0) -> Frame | None:
        """The next readable image, or ``None`` after the last. ``timeout`` is ignored (local files)."""
        if self._ended:
            return None
        if self._files is None:
            raise self._not_open()
        self._pacer.wait()
        files = self._files
        while True:
            if not files:
                # Every file failed: looping would spin forever, ending quietly would hide the cause.
                self._ended = True
                raise SourceError(
                    f"no file of '{self.uri}' could be read as an image",
                    "check the files (see the warnings above) or fix source.uri",
                )
            if self._next == len(files):
                if not self._loop:
                    self._ended = True
                    return None
                self._next = 0
            path = files[self._next]
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)  # always 3-channel BGR, grey and alpha included
            if image is None:
                # Forgotten, so a looping run warns about it once, not on every pass.
                del files[self._next]
                self.stats.failures += 1
                log.warning("skipping %s: not a readable image", path)
                continue
            self._next += 1
            frame = Frame(image=image, seq=self.stats.frames, ts=time.time(), source_id=self.source_id)
            self.stats.frames += 1
            return frame

    def close(self) -> None:
        self._ended = True


def claim_images(uri: str) -> SourceSpec | None:
    """For ``auto``: a glob, a folder or an image file (a single photo is a folder of one)."""
    if is_glob(uri):
        return SourceSpec("images", uri, uri)
    path = Path(uri).expanduser()
    if path.is_dir() or (has_image_suffix(path) and path.exists()):
        return SourceSpec("images", str(path), uri)
    return None


def _resolve(uri: str) -> SourceSpec:
    if is_glob(refuse_picamera(require_uri(uri), "images")):
        return SourceSpec("images", uri, uri)
    path = Path(uri).expanduser()
    if not path.exists():
        raise file_not_found(uri, "image")
    return SourceSpec("images", str(path), uri)


def _build(spec: SourceSpec, config: SourceConfig, source_id: str) -> FrameSource:
    return ImageFolderSource(str(spec.target), loop=config.loop, max_fps=config.max_fps, source_id=source_id)


SOURCES.register("images", SourceType(_resolve, _build, claim_images, rank=30))
