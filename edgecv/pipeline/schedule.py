"""Which prepared frame the interpreter takes next: round-robin over the cameras that have one.

Each camera has its own short queue of prepared frames, filled by its capture thread:

* a **file** camera queues every frame (its capture thread blocks when its buffers are all queued), so no
  frame is skipped and a run over files gives, per camera, the detections of a one-camera run;
* a **live** camera keeps only its newest prepared frame: a newer one replaces a frame still waiting (the
  replaced one is handed back to be counted as dropped), so what the interpreter takes is as fresh as the
  camera allows, however many cameras share it.

:meth:`RoundRobin.take` starts after the camera served last and takes the first one that has a frame: a
camera that is ready never waits for one that is not (the interpreter is never idle while any has a frame),
and a fast camera cannot starve a slow one, since every camera with a frame is served once per round.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Generic, TypeVar

Job = TypeVar("Job")


class Done:
    """Every camera has ended and nothing is left to take."""


DONE = Done()


class RoundRobin(Generic[Job]):
    """Prepared jobs of ``cameras`` cameras (by index), taken fairly. Thread-safe."""

    def __init__(self, cameras: int) -> None:
        self._queues: list[deque[Job]] = [deque() for _ in range(cameras)]
        self._ended = [False] * cameras
        self._next = 0
        self._cond = threading.Condition()

    def put(self, camera: int, job: Job, *, newest_only: bool = False) -> Job | None:
        """Queue ``job`` for ``camera``; with ``newest_only``, it replaces a job still waiting, which is
        returned (its buffer is the caller's again)."""
        with self._cond:
            queue = self._queues[camera]
            replaced = queue.popleft() if newest_only and queue else None
            queue.append(job)
            self._cond.notify()
            return replaced

    def end(self, camera: int) -> None:
        """``camera`` will put nothing more; what it queued is still taken."""
        with self._cond:
            self._ended[camera] = True
            self._cond.notify_all()

    def take(self, timeout: float) -> tuple[int, Job] | Done | None:
        """The next camera's oldest job as ``(camera, job)``; :data:`DONE` once every camera has ended and
        its queue is empty; ``None`` when nothing came within ``timeout`` seconds."""
        with self._cond:
            while True:
                found = self._pop()
                if found is not None:
                    return found
                if all(self._ended):
                    return DONE
                if not self._cond.wait(timeout):
                    return self._pop()

    def _pop(self) -> tuple[int, Job] | None:
        count = len(self._queues)
        for step in range(count):
            camera = (self._next + step) % count
            queue = self._queues[camera]
            if queue:
                self._next = (camera + 1) % count
                return camera, queue.popleft()
        return None

    def drain(self) -> list[Job]:
        """Everything still queued (a run that stops early gives the buffers back)."""
        with self._cond:
            jobs = [job for queue in self._queues for job in queue]
            for queue in self._queues:
                queue.clear()
            return jobs
