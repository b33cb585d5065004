"""``edgecv run | head`` (and ``detect | head``) ends with exit 0, no traceback and no ``Exception ignored``,
however stdout is buffered and whenever the reader leaves.

The failure this guards against depended on timing, so it showed on slow machines only: the reader left while
a line sat in stdout's buffer, the interpreter's exit flush failed again, printed ``Exception ignored ...
BrokenPipeError`` and exited 120. Two deterministic ways to get there, each with stdout block-buffered (no
``PYTHONUNBUFFERED``, as on most machines) and unbuffered (as in this CI):

* a pipe whose reader closed before edgecv started: the very first write fails, with the line still buffered,
  and only the exit flush would try again (this was exit 120 on every run);
* a reader that takes one line and closes while edgecv keeps writing, repeated a few times.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from .helpers import REPO

ROUNDS = 2  # bounded: each round is one edgecv process
TIMEOUT_S = 60


def environment(buffered: bool) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.upper().startswith("EDGECV_")}
    environ.pop("PYTHONUNBUFFERED", None)
    if not buffered:
        environ["PYTHONUNBUFFERED"] = "1"
    return environ


def clean(stderr: str) -> None:
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    assert "BrokenPipeError" not in stderr and "edgecv: error" not in stderr, stderr


@pytest.fixture
def commands(demo_model: Path, tmp_path: Path) -> dict[str, list[str]]:
    for i in range(40):  # enough lines that detect is still writing when the reader leaves
        image = np.full((48, 64, 3), 40 + i, np.uint8)
        cv2.imwrite(str(tmp_path / f"img_{i:02d}.png"), image)
    clip = demo_model.parent / "demo_clip.mp4"
    return {
        "run": ["run", "--model", str(demo_model), "--source", str(clip), "--max-frames", "200"],
        "detect": ["detect", "--model", str(demo_model), str(tmp_path)],
    }


@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("command", ["run", "detect"])
def test_reader_gone_before_the_first_line(
    commands: dict[str, list[str]], command: str, buffered: bool
) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will ever read: the first flush fails, its line stays buffered
    try:
        result = subprocess.run(
            [sys.executable, "-m", "edgecv", *commands[command]],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=environment(buffered),
            cwd=REPO,
            timeout=TIMEOUT_S,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 0, result.stderr
    clean(result.stderr)


@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("command", ["run", "detect"])
def test_reader_leaves_after_one_line(commands: dict[str, list[str]], command: str, buffered: bool) -> None:
    for _ in range(ROUNDS):
        child = subprocess.Popen(
            [sys.executable, "-m", "edgecv", *commands[command]],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment(buffered),
            cwd=REPO,
        )
        try:
            assert child.stdout is not None
            assert child.stdout.readline().startswith("{")
            child.stdout.close()  # `head -n 1`, while edgecv is writing the next lines
            _, stderr = child.communicate(timeout=TIMEOUT_S)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait(10)
        assert child.returncode == 0, stderr
        clean(stderr)


def test_the_shell_pipe_a_user_types(demo_model: Path, tmp_path: Path) -> None:
    """``edgecv run | head -n 2``, and ``2>&1 | head -n 1`` (both outputs closed), typed into bash."""
    clip = demo_model.parent / "demo_clip.mp4"
    run = f"{sys.executable} -m edgecv run --model {demo_model} --source {clip} --max-frames 200"
    err = tmp_path / "err.txt"
    for pipe in (f"2>{err} | head -n 2", "2>&1 | head -n 1"):
        err.write_text("")
        result = subprocess.run(
            ["bash", "-c", f"{run} {pipe} >/dev/null; echo ${{PIPESTATUS[0]}}"],
            capture_output=True,
            text=True,
            env=environment(buffered=True),
            cwd=REPO,
            timeout=TIMEOUT_S,
        )
        assert result.stdout.split() == ["0"], (pipe, result.stdout, result.stderr)
        clean(err.read_text())
