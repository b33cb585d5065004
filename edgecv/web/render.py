"""Shots to JPEG: drawn by :mod:`edgecv.output.annotate`, encoded once per shot, mode and width however
many viewers ask (the first one encodes, the others wait for it and share the bytes).

Every drawing and encode runs on one render thread, whichever server thread asks: OpenCV 5 keeps its text
renderer's state per thread (measured: 6-8.5 MB for each live thread that has drawn text; 0.3 MB on
OpenCV 4.10), so drawing on each stream's worker would cost that per viewer."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from enum import Enum

import numpy as np

from ..config.scene import SceneConfig
from ..labels import Labels
from ..output.annotate import annotate, encode_jpeg
from .newest import Shot

JPEG_QUALITY = 80


class Mode(str, Enum):
    ANNOTATED = "annotated"
    RAW = "raw"  # ?raw=1: the frame as captured
    DEBUG = "debug"  # ?debug=1: also the best candidates under the threshold


class Renderer:
    """``scenes`` reads each camera's scene rules at render time, so a reload's new zones show at once."""

    def __init__(self, labels: Labels, scenes: Callable[[], Mapping[str, SceneConfig]]) -> None:
        self.labels = labels
        self._scenes = scenes
        self._lock = threading.Lock()
        self._keys: dict[tuple[str, Mode, int | None], threading.Lock] = {}
        self._cache: dict[tuple[str, Mode, int | None], tuple[int, bytes]] = {}
        self.encoded = 0  # JPEG encodes so far (a test checks that two viewers share them)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="edgecv-web-render")

    def jpeg(self, camera: str, shot: Shot, mode: Mode, width: int | None) -> bytes:
        key = (camera, mode, width)
        with self._lock:
            key_lock = self._keys.setdefault(key, threading.Lock())
        with key_lock:
            cached = self._cache.get(key)
            if cached is not None and cached[0] == shot.number:
                return cached[1]
            data = self._thread.submit(self._encode, camera, shot, mode, width).result()
            self._cache[key] = (shot.number, data)
            self.encoded += 1
            return data

    def _encode(self, camera: str, shot: Shot, mode: Mode, width: int | None) -> bytes:
        return encode_jpeg(self.image(camera, shot, mode), width, JPEG_QUALITY)

    def close(self) -> None:
        self._thread.shutdown(wait=False, cancel_futures=True)

    def image(self, camera: str, shot: Shot, mode: Mode) -> np.ndarray:
        if mode is Mode.RAW:
            return shot.frame.image
        return annotate(
            shot.frame.image,
            shot.detections,
            self.labels,
            scene=self._scenes().get(camera),
            candidates=shot.candidates if mode is Mode.DEBUG else None,
        )

    def forget(self, camera: str, mode: Mode, width: int | None) -> None:
        """Drop a cached JPEG nobody watches any more (memory: one JPEG per camera and mode at most)."""
        with self._lock:
            self._cache.pop((camera, mode, width), None)
