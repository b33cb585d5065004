"""A video file, read frame by frame: every frame, in order, whatever the reader's speed.

Registers the source type ``video``, which ``auto`` picks for any existing file no other type claims.
"""

from __future__ import annotations

from pathlib import Path

import cv2

from edgecv.capture.base import FrameSource, SourceBase
from edgecv.capture.native_logs import quiet_native_logs
from edgecv.capture.opencv import as_bgr, decode_thread_params
from edgecv.capture.pacing import Pacer
from edgecv.capture.stats import SourceStats
from edgecv.capture.uri import SOURCES, SourceSpec, SourceType, file_not_found, refuse_picamera, require_uri
from edgecv.config.sections import SourceConfig
from edgecv.errors import SourceInputError
from edgecv.frame import Frame, stamp


class VideoFileSource(SourceBase):
    """Frames of a video file. Nothing is skipped, so two runs over one file see the same frames.

    ``loop`` starts again at the end (``seq`` keeps counting); otherwise ``read`` returns ``None`` at the end.
    ``max_fps`` sleeps between frames, to replay a recording at roughly camera speed.

    Frames are stamped in the recording's own time: the moment the file was opened plus ``seq`` divided by
    the file's frame rate, on both clocks (``ts`` from the wall clock at open, ``mono`` from the monotonic
    one). A tracker whose memory is in seconds then sees the clip's real timing whether it is processed at 5
    or 500 frames per second, two runs over one file see the same intervals, and a wall-clock step during
    the run changes no interval. A file that states no frame rate is stamped with both clocks as read.
    """

    live = False

    def __init__(
        self,
        path: str | Path,
        *,
        loop: bool = False,
        max_fps: float | None = None,
        source_id: str = "0",
        decode_threads: int = 1,
    ) -> None:
        self.path = Path(path)
        self.name = str(path)
        self.source_id = source_id
        self.stats = SourceStats()
        self._loop = loop
        self._decode_threads = decode_threads
        self._pacer = Pacer(max_fps)
        self._cap: cv2.VideoCapture | None = None
        self._in_pass = 0  # frames read since the last (re)start: a loop over an empty file must end
        self._ended = False
        self._t0 = 0.0  # wall clock at open
        self._m0 = 0.0  # monotonic clock at open
        self._frame_s: float | None = None

    def open(self) -> None:
        if self._cap is not None:
            return
        self._cap = self._open_capture()
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        # Containers without a rate report 0, and some broken ones absurd values: fall back to the clock.
        self._frame_s = 1.0 / fps if 0.5 <= fps <= 1000 else None
        self._t0, self._m0 = stamp()

    def _open_capture(self) -> cv2.VideoCapture:
        if not self.path.exists():
            raise SourceInputError(
                f"cannot open video source '{self.path}': file not found", "check source.uri"
            )
        quiet_native_logs()
        params = decode_thread_params(self._decode_threads)
        cap = (
            cv2.VideoCapture(str(self.path), cv2.CAP_FFMPEG, params)
            if params
            else cv2.VideoCapture(str(self.path))
        )
        if not cap.isOpened() and params:
            cap.release()  # not a file FFmpeg opens: let OpenCV pick another backend
            cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            cap.release()
            raise SourceInputError(
                f"cannot open video source '{self.path}': OpenCV cannot decode it",
                "check that it is a video file; re-encode it as H.264 .mp4 if it plays elsewhere",
            )
        return cap

    def read(self, timeout: float = 0.0) -> Frame | None:
        """The next frame, or ``None`` at the end. ``timeout`` is ignored: a local file does not stall."""
        if self._ended:
            return None
        if self._cap is None:
            raise self._not_open()
        self._pacer.wait()
        ok, image = self._cap.read()
        if not ok and self._loop and self._in_pass > 0:
            # Reopen rather than seek to frame 0: seeking is unreliable on some codecs and containers.
            self._cap.release()
            self._cap = self._open_capture()
            self._in_pass = 0
            ok, image = self._cap.read()
        if not ok or image is None:
            self._ended = True
            return None
        self._in_pass += 1
        seq = self.stats.frames
        if self._frame_s is not None:
            ts, mono = self._t0 + seq * self._frame_s, self._m0 + seq * self._frame_s
        else:
            ts, mono = stamp()
        frame = Frame(image=as_bgr(image), seq=seq, ts=ts, source_id=self.source_id, mono=mono)
        self.stats.frames += 1
        return frame

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
        self._ended = True


def claim_video(uri: str) -> SourceSpec | None:
    """Any existing path that is not a folder: OpenCV finds out on ``open`` whether it decodes."""
    path = Path(uri).expanduser()
    return SourceSpec("video", str(path), uri) if path.exists() and not path.is_dir() else None


def _resolve(uri: str) -> SourceSpec:
    path = Path(refuse_picamera(require_uri(uri), "video")).expanduser()
    if not path.exists():
        raise file_not_found(uri)
    if path.is_dir():
        raise SourceInputError(
            f"cannot open video source '{uri}': it is a folder",
            "set source.type to images (or auto) to read the images in it",
        )
    return SourceSpec("video", str(path), uri)


def _build(spec: SourceSpec, config: SourceConfig, source_id: str) -> FrameSource:
    return VideoFileSource(
        str(spec.target),
        loop=config.loop,
        max_fps=config.max_fps,
        source_id=source_id,
        decode_threads=config.decode_threads,
    )


SOURCES.register("video", SourceType(_resolve, _build, claim_video, rank=90))
