"""OpenCV capture devices: V4L2 cameras and network streams (through OpenCV's FFmpeg backend).

Registers the source types ``camera`` and ``stream`` (live sources around these devices) and ``opencv``,
which takes whatever OpenCV opens: a camera, a stream or a video file, never an image folder.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import cv2
import numpy as np

from edgecv.capture.live import LiveSource
from edgecv.capture.native_logs import quiet_native_logs
from edgecv.capture.probe import ProbeResult, Problem, diagnose, reach
from edgecv.capture.uri import SOURCES, SourceSpec, SourceType, mask_credentials, refuse_picamera, require_uri
from edgecv.errors import SourceError, SourceInputError

if TYPE_CHECKING:
    from edgecv.capture.base import FrameSource
    from edgecv.config.sections import SourceConfig

STREAM_SCHEMES = ("rtsp", "rtsps", "http", "https")
DIAGNOSE_TIMEOUT_S = 2.0

log = logging.getLogger(__name__)


def decode_thread_params(threads: int) -> list[int]:
    """Open parameters limiting FFmpeg's decoder threads (none for 0, or where OpenCV lacks the property).

    FFmpeg decodes on every core by default, including the ones the interpreter runs on: the decoder's
    bursts then stretch inference. One thread keeps decoding on the core left to capture.
    """
    prop = getattr(cv2, "CAP_PROP_N_THREADS", None)
    return [prop, threads] if threads and prop is not None else []


def as_bgr(image: np.ndarray) -> np.ndarray:
    """Some cameras and files decode to grey or BGRA; everything downstream expects 3-channel BGR."""
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image


class _OpenCVDevice:
    """Reading and releasing are the same for every OpenCV capture; only opening differs."""

    name: str
    _cap: cv2.VideoCapture | None = None

    def read(self) -> np.ndarray | None:
        if self._cap is None:
            return None
        ok, image = self._cap.read()
        return as_bgr(image) if ok and image is not None else None

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class OpenCVCamera(_OpenCVDevice):
    """A local camera: an index (``0``) or a device path (``/dev/video0``, ``/dev/v4l/by-id/...``)."""

    def __init__(
        self,
        target: int | str,
        *,
        width: int | None = None,
        height: int | None = None,
        read_timeout_s: float = 5.0,
    ) -> None:
        self.target = target
        self.name = f"camera {target}"
        self._width = width
        self._height = height
        self._read_timeout_s = read_timeout_s
        self._cap: cv2.VideoCapture | None = None
        self._announced = False

    def open(self) -> None:
        quiet_native_logs()
        # V4L2 explicitly on Linux: CAP_ANY may pick GStreamer, which buffers frames behind our back.
        api = cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY
        cap = cv2.VideoCapture(self.target, api)
        if not cap.isOpened():
            cap.release()
            raise SourceError(
                f"cannot open {self.name}: no such camera, or another program is using it",
                "check source.uri; 'v4l2-ctl --list-devices' lists cameras",
            )
        # Set after opening: the V4L2 backend refuses to open when given properties it does not use.
        # One driver buffer, so a frame is at most one capture old when we grab it.
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        cap.set(cv2.CAP_PROP_READ_TIMEOUT_MSEC, self._read_timeout_s * 1000)  # ignored where unsupported
        if self._width:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self._width)
        if self._height:
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self._height)
        if not self._announced:
            # Drivers round a requested size to one they support; say what we really got, once.
            got = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
            log.info("%s opened at %dx%d", self.name, *got)
            self._announced = True
        self._cap = cap


class OpenCVStream(_OpenCVDevice):
    """A network stream (``rtsp://``, ``rtsps://``, ``http(s)://``) decoded by OpenCV's FFmpeg backend.

    Before FFmpeg, :func:`~edgecv.capture.probe.reach` resolves and connects: a failure of the network (name,
    refused, unreachable, timeout) is reported at once, in its own words, without FFmpeg. When FFmpeg fails,
    :func:`~edgecv.capture.probe.diagnose` asks the stream itself why (401, 404, the codec, no answer).
    """

    def __init__(self, url: str, *, name: str, timeout_s: float = 5.0, decode_threads: int = 1) -> None:
        self.url = url
        self._decode_threads = decode_threads
        self.name = name  # credentials masked: it ends up in logs
        self._timeout_s = timeout_s
        self._timeout_ms = int(timeout_s * 1000)
        self._cap: cv2.VideoCapture | None = None

    def open(self) -> None:
        quiet_native_logs()
        unreachable = reach(self.url, self._timeout_s)
        if unreachable is not None:
            raise self._error(unreachable)
        if self.url.startswith(("rtsp://", "rtsps://")):
            # FFmpeg's default RTSP transport is UDP, which smears or drops frames on lossy Wi-Fi; TCP
            # does not. Only a default: OPENCV_FFMPEG_CAPTURE_OPTIONS set by the user wins.
            os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")
        # Timeouts go in at open time: without them a dead camera blocks open/read for about 30 s.
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            self._timeout_ms,
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            self._timeout_ms,
            *decode_thread_params(self._decode_threads),
        ]
        started = time.monotonic()
        cap = cv2.VideoCapture(self.url, cv2.CAP_FFMPEG, params)
        if not cap.isOpened():
            cap.release()
            # FFmpeg already waited up to the whole timeout: the diagnosis gets a short one of its own.
            waited = time.monotonic() - started
            probe = diagnose(self.url, min(self._timeout_s, DIAGNOSE_TIMEOUT_S), waited_s=round(waited))
            raise self._error(probe.problem or undecodable(probe))
        self._cap = cap

    def _error(self, problem: Problem) -> SourceError:
        return SourceError(f"cannot open stream {self.name}: {problem.message}", problem.hint)


def undecodable(probe: ProbeResult) -> Problem:
    """Why FFmpeg failed on a stream that answered the probe: what it carries, when the probe saw it."""
    hint = "set the camera's stream to H.264 or MJPEG, or check that the URL names its video stream"
    if not probe.media:
        return Problem("status", "it answers, but FFmpeg cannot open it as video", hint)
    if probe.media[0].startswith("text/"):
        return Problem(
            "status",
            f"it answers with a web page ({probe.media[0]}), not a video stream",
            "use the camera's stream URL, not the address of its web page",
        )
    video = [m.partition("/")[2] for m in probe.media if m.startswith("video/")]
    if video:
        found = f"its video is {', '.join(video)}, which FFmpeg here cannot decode"
    else:
        found = f"it carries {', '.join(probe.media)}, no video FFmpeg can decode"
    return Problem("codec", f"unsupported codec: {found}", hint)


def claim_camera(uri: str) -> SourceSpec | None:
    """A camera index (``0``) or device path (``/dev/video0``)."""
    if uri.isdigit():
        return SourceSpec("camera", int(uri), f"camera {uri}")
    if uri.startswith("/dev/"):
        return SourceSpec("camera", uri, f"camera {uri}")
    return None


def claim_stream(uri: str) -> SourceSpec | None:
    """An ``rtsp(s)://`` or ``http(s)://`` URL, named with its password masked."""
    if urlsplit(uri).scheme.lower() in STREAM_SCHEMES:
        return SourceSpec("stream", uri, mask_credentials(uri))
    return None


def _resolved_or_hint(
    uri: str, type_name: str, claim: Callable[[str], SourceSpec | None], hint: str
) -> SourceSpec:
    spec = claim(refuse_picamera(require_uri(uri), type_name))
    if spec is None:
        raise SourceInputError(f"source.type is {type_name} but source.uri is '{uri}'", hint)
    return spec


def _resolve_camera(uri: str) -> SourceSpec:
    hint = "set source.uri to a camera index (0) or a device path (/dev/video0), or source.type to auto"
    return _resolved_or_hint(uri, "camera", claim_camera, hint)


def _resolve_stream(uri: str) -> SourceSpec:
    hint = f"set source.uri to a URL starting with {', '.join(s + '://' for s in STREAM_SCHEMES)}"
    return _resolved_or_hint(uri, "stream", claim_stream, hint)


def _resolve_opencv(uri: str) -> SourceSpec:
    refuse_picamera(require_uri(uri), "opencv")
    return claim_camera(uri) or claim_stream(uri) or SOURCES.get("video").resolve(uri)


def _build_camera(spec: SourceSpec, config: SourceConfig, source_id: str) -> FrameSource:
    device = OpenCVCamera(
        spec.target, width=config.width, height=config.height, read_timeout_s=config.read_timeout_s
    )
    return LiveSource(device, config, source_id=source_id)


def _build_stream(spec: SourceSpec, config: SourceConfig, source_id: str) -> FrameSource:
    device = OpenCVStream(
        str(spec.target),
        name=spec.name,
        timeout_s=config.read_timeout_s,
        decode_threads=config.decode_threads,
    )
    return LiveSource(device, config, source_id=source_id)


SOURCES.register("camera", SourceType(_resolve_camera, _build_camera, claim_camera, rank=20))
SOURCES.register("stream", SourceType(_resolve_stream, _build_stream, claim_stream, rank=20))
SOURCES.register("opencv", SourceType(_resolve_opencv))
