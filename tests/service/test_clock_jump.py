"""``edgecv run`` on a live camera while NTP steps the wall clock by hours: no spurious ``end``/``new``.

A Pi without an RTC boots with a stale clock and NTP steps it later, by hours, either way. The child's wall
clock is stepped with libfaketime (its monotonic clock left alone, as a real step leaves it); the machine's
clock is never touched. One object stays in view across the step, then leaves: the run must report exactly
one ``new`` and, ``tracker.lost_s`` after it left, one ``end``; the frames' ``ts`` must show the step.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

STEP_S = 3 * 3600
FPS = 15


class Scene:
    """A red square gliding left and right (30 px/s) over grey; ``visible = False`` takes it away."""

    def __init__(self) -> None:
        self.visible = True

    def draw(self, i: int) -> np.ndarray:
        image = np.full((240, 320, 3), (120, 110, 100), np.uint8)
        if self.visible:
            x = 30 + abs((2 * i) % 240 - 120)  # 2 px per frame, 30..150 and back
            cv2.rectangle(image, (x, 80), (x + 70, 150), (40, 40, 220), -1)
            cv2.rectangle(image, (x, 80), (x + 70, 150), (20, 20, 120), 2)
        return image


def read_lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    # The last line may be half written: only whole lines count.
    return [json.loads(line) for line in path.read_text().splitlines(keepends=True) if line.endswith("\n")]


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, child) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        assert child.proc.poll() is None, f"edgecv exited while waiting for {what}:\n{child.stderr}"
        time.sleep(0.1)
    raise AssertionError(f"no {what} within {timeout} s:\n{child.stderr[-3000:]}")


@pytest.mark.parametrize("step", [STEP_S, -STEP_S], ids=["+3h", "-3h"])
def test_a_wall_clock_step_mid_run_makes_no_spurious_track_events(
    step: int, faketime, mjpeg_factory, spawn_edgecv, demo_model: Path, tmp_path: Path
) -> None:
    scene = Scene()
    camera = mjpeg_factory(fps=FPS, draw=scene.draw)
    record = tmp_path / "run.jsonl"
    env = {**faketime.env, "EDGECV_TRACKER__LOST_S": "1.0"}
    child = spawn_edgecv(
        "run", "--model", str(demo_model), "--source", camera.url, "--record", str(record), env=env
    )

    def events() -> list[dict]:
        return [line for line in read_lines(record) if line["type"] == "event"]

    def frames() -> list[dict]:
        return [line for line in read_lines(record) if line["type"] == "frame"]

    wait_for(lambda: any(e["event"] == "new" for e in events()), 60, "new event", child)
    faketime.set(f"{step:+d}")
    # The step reached the child once its frames are stamped hours away from our (real) clock.
    wait_for(lambda: abs(frames()[-1]["ts"] - time.time() - step) < 600, 30, "stepped frame ts", child)
    stepped_at = len(frames())
    first_stepped = frames()[-1]["seq"]
    # Well past lost_s of frames after the step with the object in view, then it leaves.
    wait_for(lambda: len(frames()) >= stepped_at + 3 * FPS, 30, "frames after the step", child)
    scene.visible = False
    wait_for(lambda: any(e["event"] == "end" for e in events()), 30, "end event", child)
    child.terminate()

    kinds = [(e["event"], e["track_id"]) for e in events() if e["event"] != "update"]
    track = kinds[0][1]
    assert kinds == [("new", track), ("end", track)], kinds
    # Updates keep their one-per-min_interval_s pace across the step (measured on the wall clock, a -3 h
    # step froze them for three hours).
    assert any(e["event"] == "update" and e["seq"] > first_stepped for e in events()), events()
    end = next(e for e in events() if e["event"] == "end")
    # The event says when, on the (stepped) wall clock; its age is real time, not the step.
    assert abs(end["ts"] - time.time() - step) < 600
    assert 0 < end["age"] < 600, end
