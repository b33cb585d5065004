"""What a ``source.uri`` names, and the registry of source types that decide it.

Pure string and filesystem checks: nothing is opened here. Each source type registers a :class:`SourceType`
in :data:`SOURCES` from its own module; :func:`resolve` asks the named type, or for ``source.type: auto``
every type's ``claim`` in ``rank`` order.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from edgecv.errors import SourceInputError
from edgecv.registry import Registry

if TYPE_CHECKING:
    from edgecv.capture.base import FrameSource
    from edgecv.config.sections import SourceConfig

AUTO = "auto"
ACCEPTS = (
    "source.uri takes a camera index or /dev/videoN, an rtsp:// or http(s):// URL, a video file, "
    "an image folder or glob, or picamera2[:N]"
)
PICAMERA_URI = re.compile(r"picamera2(?::(\d+))?", re.IGNORECASE)


@dataclass(frozen=True)
class SourceSpec:
    kind: str  # the registered source type that builds it
    target: str | int  # camera index or path, URL, file or folder path or glob, Pi camera number
    name: str  # for logs: stream credentials masked


@dataclass(frozen=True)
class SourceType:
    """One ``source.type``: how it reads a uri and how it builds its source.

    ``resolve(uri)`` gives the spec when the type is chosen by name, and raises :class:`SourceError` saying
    what the uri should look like when it does not fit. ``claim(uri)`` gives the spec when ``source.type:
    auto`` should pick this type for the uri, ``None`` otherwise; a type without ``claim`` is used only when
    named. ``auto`` asks the types in ``rank`` order, lowest first, so a narrow claim must rank before a
    broad one: the built-ins rank picamera2 10, camera and stream 20, images 30 (any glob, which is any uri
    with ``*``, ``?`` or ``[``, and folders and image files) and video 90 (any other existing file). The
    default, 25, suits a new type that claims its own URL scheme or file suffix. ``build(spec, config,
    source_id)`` makes the source without opening it; a type without ``build`` only chooses among the
    others (``opencv`` resolves to camera, stream or video specs, which those types build).
    """

    resolve: Callable[[str], SourceSpec]
    build: Callable[[SourceSpec, SourceConfig, str], FrameSource] | None = None
    claim: Callable[[str], SourceSpec | None] | None = None
    rank: int = 25


def _rank(kind: SourceType) -> int:
    return kind.rank


# Listed and tried in rank order: the order auto asks them in is the order every error lists them in.
SOURCES: Registry[SourceType] = Registry("source type", "edgecv.capture", order=_rank)


def source_type_choices() -> tuple[str, ...]:
    """What ``source.type`` accepts: ``auto``, then every registered type in rank order."""
    return (AUTO, *SOURCES.names())


def mask_credentials(url: str) -> str:
    """``rtsp://user:secret@host/x`` → ``rtsp://user:***@host/x``: source names end up in logs and MQTT."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def require_uri(text: str) -> str:
    """``text`` when it names something; the "no source given" error otherwise."""
    if not text:
        raise SourceInputError("no source given", f"set source.uri or --source; {ACCEPTS}")
    return text


def refuse_picamera(text: str, source_type: str) -> str:
    """``text`` unless it names a Pi camera, which only ``picamera2`` (or ``auto``) can open."""
    if PICAMERA_URI.fullmatch(text):
        raise SourceInputError(
            f"source.uri '{text}' is a Pi camera but source.type is {source_type}", "set source.type to auto"
        )
    return text


def file_not_found(text: str, what: str = "video") -> SourceInputError:
    return SourceInputError(f"cannot open {what} source '{text}': file not found", ACCEPTS)


def resolve(uri: str | None, source_type: str = AUTO) -> SourceSpec:
    """Classify ``uri`` for ``source_type`` (``auto`` or a registered type); SourceError if unusable."""
    text = uri.strip() if uri is not None else ""
    try:
        SOURCES.check(source_type, extra=(AUTO,))
    except ValueError as exc:
        raise SourceInputError(str(exc), "set source.type to one of those") from None
    if source_type != AUTO:
        return SOURCES.get(source_type).resolve(text)
    require_uri(text)
    for _, kind in SOURCES:
        spec = kind.claim(text) if kind.claim is not None else None
        if spec is not None:
            return spec
    if Path(text).expanduser().exists():
        raise SourceInputError(f"no source type can read '{text}'", ACCEPTS)
    raise file_not_found(text)
