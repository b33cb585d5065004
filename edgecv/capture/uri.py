"""What kind of source a ``source.uri`` names. Pure string and filesystem checks: nothing is opened here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from edgecv.capture.images import IMAGE_SUFFIXES, is_glob
from edgecv.errors import SourceError

Kind = Literal["camera", "stream", "video", "images", "picamera2"]

STREAM_SCHEMES = ("rtsp", "rtsps", "http", "https")
ACCEPTS = (
    "source.uri takes a camera index or /dev/videoN, an rtsp:// or http(s):// URL, a video file, "
    "an image folder or glob, or picamera2[:N]"
)
_PICAMERA = re.compile(r"picamera2(?::(\d+))?", re.IGNORECASE)


@dataclass(frozen=True)
class SourceSpec:
    kind: Kind
    target: str | int  # camera index or path, URL, file or folder path or glob, Pi camera number
    name: str  # for logs: stream credentials masked


def mask_credentials(url: str) -> str:
    """``rtsp://user:secret@host/x`` → ``rtsp://user:***@host/x``: source names end up in logs and MQTT."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def resolve(uri: str | None, source_type: str = "auto") -> SourceSpec:
    """Classify ``uri`` for ``source_type`` (auto, opencv, images, picamera2); SourceError if unusable."""
    text = uri.strip() if uri is not None else ""
    if source_type == "picamera2":
        return _picamera(text)
    if not text:
        raise SourceError("no source given", f"set source.uri or --source; {ACCEPTS}")
    if _PICAMERA.fullmatch(text):
        if source_type == "auto":
            return _picamera(text)
        raise SourceError(
            f"source.uri '{text}' is a Pi camera but source.type is {source_type}", "set source.type to auto"
        )
    if source_type != "images":
        if text.isdigit():
            return SourceSpec("camera", int(text), f"camera {text}")
        if text.startswith("/dev/"):
            return SourceSpec("camera", text, f"camera {text}")
        if urlsplit(text).scheme.lower() in STREAM_SCHEMES:
            return SourceSpec("stream", text, mask_credentials(text))
    if is_glob(text) and source_type != "opencv":
        return SourceSpec("images", text, text)
    path = Path(text).expanduser()
    if not path.exists():
        what = "image" if source_type == "images" else "video"
        raise SourceError(f"cannot open {what} source '{text}': file not found", ACCEPTS)
    if source_type == "images" or (
        source_type == "auto" and (path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES)
    ):
        return SourceSpec("images", str(path), text)
    if path.is_dir():
        raise SourceError(
            f"cannot open video source '{text}': it is a folder",
            "set source.type to images (or auto) to read the images in it",
        )
    return SourceSpec("video", str(path), text)


def _picamera(text: str) -> SourceSpec:
    match = _PICAMERA.fullmatch(text)
    if text.isdigit():
        number = int(text)
    elif not text or match:
        number = int(match.group(1) or 0) if match else 0
    else:
        raise SourceError(
            f"source.type is picamera2 but source.uri is '{text}'",
            "set source.uri to picamera2, picamera2:N or a camera number N (or leave it unset for camera 0)",
        )
    return SourceSpec("picamera2", number, f"picamera2:{number}")
