"""Each camera's newest frame, as the post thread leaves it, and the viewers waiting for the next one."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass

from ..detections import Detections
from ..frame import Frame


@dataclass(frozen=True)
class Shot:
    """One processed frame of a camera: ``number`` counts the camera's frames seen by the web view, so a
    viewer can tell a new one from the one it already sent. ``candidates`` are present only while someone
    watches in debug mode."""

    number: int
    frame: Frame
    detections: Detections
    candidates: Detections | None


class Newest:
    """Written by the post thread (a reference swap and a notify per frame), read by the server's threads."""

    def __init__(self) -> None:
        self._shots: dict[str, Shot] = {}
        self._changed = threading.Condition()
        self._debug: Counter[str] = Counter()  # debug viewers (streams and waiting snapshots) per camera
        self._candidates: dict[str, Detections] = {}  # the post thread's own, for the frame it is on

    # -- the post thread --------------------------------------------------------------------------------

    def wants_candidates(self, camera: str) -> bool:
        return self._debug[camera] > 0  # an int read, no lock: a frame late either way is harmless

    def put_candidates(self, camera: str, candidates: Detections) -> None:
        self._candidates[camera] = candidates

    def put(self, frame: Frame, detections: Detections) -> None:
        camera = frame.source_id
        candidates = self._candidates.pop(camera, None)
        with self._changed:
            previous = self._shots.get(camera)
            number = previous.number + 1 if previous is not None else 0
            if frame.skipped and previous is not None:
                # Motion gating skipped the detector because nothing moved: the tracks are held where the
                # last detection saw them, so the view keeps drawing them on the new image (no flicker).
                detections, candidates = previous.detections, previous.candidates
            self._shots[camera] = Shot(number, frame, detections, candidates)
            self._changed.notify_all()

    # -- the server's threads ---------------------------------------------------------------------------

    def get(self, camera: str) -> Shot | None:
        return self._shots.get(camera)

    def wait_after(self, camera: str, number: int, timeout: float) -> Shot | None:
        """The camera's newest shot once it is newer than ``number``; None if none came within ``timeout``."""
        with self._changed:
            newer = self._changed.wait_for(lambda: self._newer(camera, number), timeout)
            return self._shots[camera] if newer else None

    def _newer(self, camera: str, number: int) -> bool:
        shot = self._shots.get(camera)
        return shot is not None and shot.number > number

    def wake(self) -> None:
        """Wake every waiting viewer (the server is stopping)."""
        with self._changed:
            self._changed.notify_all()

    def debug_viewer(self, camera: str, delta: int) -> None:
        with self._changed:
            self._debug[camera] += delta
