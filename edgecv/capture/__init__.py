"""Frame sources: cameras, streams, files, image folders, Pi cameras.

``open_source(config)`` picks one from ``source.type`` and ``source.uri``; every source speaks
:class:`FrameSource`. Live sources (cameras, streams, Pi cameras) run a grabber thread that keeps only the
newest frame and reconnects with backoff; files and folders are read frame by frame, deterministically.

How to add a source type
------------------------
Add one module to this package (``edgecv/capture/<name>.py``); nothing else lists source types.

1. Write the source: a class that speaks :class:`~edgecv.capture.base.FrameSource` (``name``,
   ``source_id``, ``live``, ``stats``, ``lost_since``, ``open``/``read``/``close``, ``with``). Subclassing
   :class:`~edgecv.capture.base.SourceBase` gives it ``with`` and a ``lost_since`` of ``None``. A live
   device (a camera SDK) is simpler as a :class:`~edgecv.capture.base.CaptureDevice` wrapped in
   :class:`LiveSource`, which brings the latest-frame grabber and reconnects. Import hardware libraries
   inside ``open``, so that edgecv still imports where they are missing.
2. Register it at the end of the module::

       from edgecv.capture.uri import SOURCES, SourceSpec, SourceType

       SOURCES.register("name", SourceType(resolve, build, claim))

   ``resolve(uri) -> SourceSpec`` is used with ``source.type: name`` (raise :class:`SourceError` saying
   what the uri should be); ``build(spec, config, source_id)`` returns the source, not opened;
   ``claim(uri)`` (optional) returns a spec when ``source.type: auto`` should choose this type for the uri,
   else ``None``. ``auto`` asks the claims by ``rank``, lowest first; the default (25) comes after Pi
   cameras, cameras and streams and before globs (any uri with ``*``, ``?`` or ``[``), folders and files.

``source.type`` then accepts the name (``edgecv config --schema`` lists it, a typo's error names it), and
``auto`` routes matching uris to it. :mod:`edgecv.capture.pattern` (a test-pattern source) is a complete example; the test
``tests/capture/test_source_types.py`` registers one at test time.
"""

from __future__ import annotations

from edgecv.capture.base import CaptureDevice, FrameSource, FrameTimeout, SourceBase
from edgecv.capture.images import ImageFolderSource
from edgecv.capture.live import LiveSource
from edgecv.capture.stats import SourceStats
from edgecv.capture.uri import AUTO, SOURCES, SourceSpec, SourceType, resolve, source_type_choices
from edgecv.capture.video import VideoFileSource
from edgecv.config.sections import SourceConfig
from edgecv.errors import SourceError

__all__ = [
    "SOURCES",
    "CaptureDevice",
    "FrameSource",
    "FrameTimeout",
    "ImageFolderSource",
    "LiveSource",
    "SourceBase",
    "SourceSpec",
    "SourceStats",
    "SourceType",
    "VideoFileSource",
    "open_source",
    "source_type_choices",
]


def open_source(config: SourceConfig, source_id: str = "0", default_uri: str | None = None) -> FrameSource:
    """The source ``config`` describes, not yet opened (call ``open()`` or use it in a ``with`` block).

    ``default_uri`` is used when ``config.uri`` is unset and ``source.type`` is ``auto`` (the CLI passes
    the bundled demo clip); a named type reads an unset uri its own way (``picamera2``: camera 0). Raises
    :class:`SourceError` when the uri names nothing usable, such as a path that does not exist; errors that
    need the device itself (a camera that is busy) come from ``open()``.
    """
    uri = config.uri
    if uri is None and config.type == AUTO:
        uri = default_uri
    spec = resolve(uri, config.type)
    build = SOURCES.get(spec.kind).build
    if build is None:
        raise SourceError(
            f"source type {spec.kind!r} resolves uris but builds no source", "fix its SourceType"
        )
    return build(spec, config, source_id)
