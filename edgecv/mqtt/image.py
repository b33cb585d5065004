"""The camera's retained annotated JPEG on ``<prefix>/<device>/<camera>/image`` (Home Assistant's ``image``
entity): on each new track, at most once every ``mqtt.image_interval_s`` while tracks are in view, and on
``set/snapshot``.

Drawing and encoding cost about a millisecond on a desktop core (vtest's 480x360 with five boxes: 0.8 ms;
several times that on a Pi), against 0.9 us to decide that nothing is due, and they are due rarely. So the post thread only decides *whether* an image is
due (a few comparisons per frame) and, when it is, hands a copy of the frame and its detections to one
encoder thread per sink; while the encoder is busy, a newer due frame replaces the waiting one (the image
shows the latest, and nothing queues up behind a slow encoder).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..config.scene import SceneConfig
from ..detections import Detections
from ..labels import Labels
from ..track.events import TrackEvent

log = logging.getLogger(__name__)

# camera name, its frame (BGR), the frame's detections -> JPEG bytes
Render = Callable[[str, np.ndarray, Detections], bytes | None]


@dataclass(frozen=True)
class _Due:
    camera: str
    image: np.ndarray
    detections: Detections


class ImageSchedule:
    """Decides, on the post thread, when one camera's image is due. ``request()`` (any thread: the
    ``set/snapshot`` command) makes the next frame due."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._last: float | None = None
        self._requested = threading.Event()

    def request(self) -> None:
        self._requested.set()

    def due(self, detections: Detections, events: Sequence[TrackEvent], now: float) -> bool:
        if self._requested.is_set():
            self._requested.clear()
            return self._mark(now)
        if any(event.kind == "new" for event in events):
            return self._mark(now)
        tracked = detections.track_ids is not None and bool(len(detections))
        if tracked and self.interval_s > 0 and (self._last is None or now - self._last >= self.interval_s):
            return self._mark(now)
        return False

    def _mark(self, now: float) -> bool:
        self._last = now
        return True


class ImageEncoder:
    """One thread that renders due frames and hands the JPEG to ``publish(camera, jpeg)``."""

    def __init__(self, render: Render, publish: Callable[[str, bytes], None]) -> None:
        self._render = render
        self._publish = publish
        self._pending: dict[str, _Due] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.published = 0
        self.encode_s = 0.0  # total time spent drawing and encoding, for the benchmark
        self._thread = threading.Thread(target=self._run, name="edgecv-mqtt-image", daemon=True)
        self._thread.start()

    def submit(self, camera: str, image: np.ndarray, detections: Detections) -> None:
        """Called on the post thread when an image is due; copies the frame (a source may reuse its buffer)."""
        with self._lock:
            self._pending[camera] = _Due(camera, image.copy(), detections)
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(0.5)
            self._wake.clear()
            with self._lock:
                pending, self._pending = self._pending, {}
            for due in pending.values():
                start = time.perf_counter()
                try:
                    jpeg = self._render(due.camera, due.image, due.detections)
                except Exception:  # never take the run down over a picture; said in the log
                    log.exception("mqtt: drawing the image of camera %s failed", due.camera)
                    continue
                self.encode_s += time.perf_counter() - start
                if jpeg is not None:
                    self._publish(due.camera, jpeg)
                    self.published += 1

    def close(self, timeout: float = 1.0) -> None:
        """Finish what is pending (within ``timeout``), then end the thread."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)
        with self._lock:
            pending, self._pending = self._pending, {}
        for due in pending.values():  # due before the stop: the image subscribers would otherwise miss
            jpeg = self._render(due.camera, due.image, due.detections)
            if jpeg is not None:
                self._publish(due.camera, jpeg)


class AnnotatedJpeg:
    """The image topic's picture: :func:`edgecv.output.annotate.annotate` (boxes, labels, track ids and the
    camera's zones, lines and masks, as the web view draws them), ``width`` wide at ``quality``.

    ``scenes`` (by camera) is replaced whole by a reload (:meth:`reconfigure`), never edited in place, so
    the encoder thread reads one consistent mapping.
    """

    def __init__(self, labels: Labels, scenes: Mapping[str, SceneConfig], width: int, quality: int) -> None:
        self.labels = labels
        self.scenes = dict(scenes)
        self.width = width
        self.quality = quality

    def reconfigure(self, scenes: Mapping[str, SceneConfig], width: int, quality: int) -> None:
        self.scenes, self.width, self.quality = dict(scenes), width, quality

    def __call__(self, camera: str, image: np.ndarray, detections: Detections) -> bytes:
        from ..output.annotate import annotate, encode_jpeg  # OpenCV only when the image is drawn

        drawn = annotate(image, detections, self.labels, scene=self.scenes.get(camera))
        return encode_jpeg(drawn, self.width, self.quality)
