"""Round-robin over cameras: fair, never idle while a camera has a frame, newest frame for live cameras."""

from __future__ import annotations

import threading
import time

from edgecv.pipeline.schedule import DONE, RoundRobin


def take_all(jobs: RoundRobin[str]) -> list[tuple[int, str]]:
    taken = []
    while True:
        got = jobs.take(0.01)
        if not isinstance(got, tuple):
            return taken
        taken.append(got)


def test_every_camera_with_a_frame_is_served_once_per_round() -> None:
    jobs: RoundRobin[str] = RoundRobin(3)
    for i in range(4):
        jobs.put(0, f"a{i}")  # a fast camera with a backlog
    jobs.put(1, "b0")
    jobs.put(2, "c0")
    jobs.put(2, "c1")
    assert take_all(jobs) == [(0, "a0"), (1, "b0"), (2, "c0"), (0, "a1"), (2, "c1"), (0, "a2"), (0, "a3")]


def test_a_camera_without_a_frame_is_skipped_not_waited_for() -> None:
    jobs: RoundRobin[str] = RoundRobin(2)
    jobs.put(1, "b0")
    start = time.monotonic()
    assert jobs.take(5.0) == (1, "b0")
    assert time.monotonic() - start < 1.0  # camera 0 had nothing: no wait for it


def test_live_cameras_keep_only_their_newest_frame() -> None:
    jobs: RoundRobin[str] = RoundRobin(2)
    assert jobs.put(0, "old", newest_only=True) is None
    assert jobs.put(0, "new", newest_only=True) == "old"  # handed back: its buffer is free again
    jobs.put(1, "f0")
    jobs.put(1, "f1")  # a file camera queues every frame
    assert take_all(jobs) == [(0, "new"), (1, "f0"), (1, "f1")]


def test_done_once_every_camera_ended_and_its_queue_is_empty() -> None:
    jobs: RoundRobin[str] = RoundRobin(2)
    jobs.put(0, "a0")
    jobs.end(0)
    assert jobs.take(0.01) == (0, "a0")
    assert jobs.take(0.01) is None  # camera 1 may still send
    jobs.end(1)
    assert jobs.take(0.01) is DONE


def test_a_waiting_take_wakes_when_a_frame_arrives() -> None:
    jobs: RoundRobin[str] = RoundRobin(2)
    threading.Timer(0.1, jobs.put, args=(1, "late")).start()
    assert jobs.take(10.0) == (1, "late")
