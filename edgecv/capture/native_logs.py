"""OpenCV's and FFmpeg's own stderr lines, off unless edgecv itself logs at DEBUG.

OpenCV gives Python a log level but no log callback, so its lines (``[ WARN:0@5.0] global cap.cpp ...``)
and FFmpeg's (``[tcp @ 0x55d9] Connection to tcp://... failed: Connection refused``) cannot be turned into
edgecv's own log records; they would reach stderr raw, beside the one line edgecv says about the same
failure (with the reason found by :mod:`edgecv.capture.probe`). So they are switched off:

* OpenCV's logger through ``cv2.utils.logging.setLogLevel`` (OpenCV 5) or ``cv2.setLogLevel`` (4.x), at any
  time;
* FFmpeg's ``av_log`` through ``OPENCV_FFMPEG_LOGLEVEL=-8`` (``AV_LOG_QUIET``). OpenCV reads it once, when
  its FFmpeg backend first opens something in the process, so :func:`quiet_native_logs` must run before the
  first ``cv2.VideoCapture``: every capture in this package calls it first.

A variable the user set (``OPENCV_LOG_LEVEL``, ``OPENCV_FFMPEG_LOGLEVEL``) wins, and at DEBUG (``edgecv -v``
or ``log.level: DEBUG``) nothing is silenced: that is when a person wants FFmpeg's own words.
"""

from __future__ import annotations

import logging
import os

import cv2

AV_LOG_QUIET = "-8"
LOG_LEVEL_SILENT = 0  # cv::utils::logging::LOG_LEVEL_SILENT in every OpenCV 4 and 5 release
_done = False


def quiet_native_logs() -> None:
    """Silence OpenCV's and FFmpeg's native logging for this process; idempotent, cheap after the first call."""
    global _done
    if _done:
        return
    _done = True
    if logging.getLogger("edgecv").isEnabledFor(logging.DEBUG):
        return
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", AV_LOG_QUIET)
    if "OPENCV_LOG_LEVEL" in os.environ:
        return
    # OpenCV 5 binds cv::utils::logging under cv2.utils.logging; the 4.x wheels (Bookworm's pin) bind
    # cv2.setLogLevel instead. Both read the level at every log line, so setting it now is in time; the
    # variable, in contrast, is read when the logger starts, which importing cv2 has already done.
    utils_logging = getattr(getattr(cv2, "utils", None), "logging", None)
    set_level = getattr(utils_logging, "setLogLevel", None) or getattr(cv2, "setLogLevel", None)
    if set_level is not None:
        set_level(LOG_LEVEL_SILENT)
    else:
        os.environ["OPENCV_LOG_LEVEL"] = "SILENT"
