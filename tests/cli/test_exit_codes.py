"""Exit codes mean one thing: one test per row of the README's "Exit codes" table, through the real command.

``ROWS`` is the table: the README's rows must be exactly these (same codes, same words, same order), and each
row's cases run ``edgecv`` and expect its code. Before: a missing model or label file exited 1 (systemd
restarted it forever), an invoke() failure ended in a traceback, a source lost mid-run exited 0.
"""

from __future__ import annotations

import ctypes.util
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from ..service.conftest import MjpegServer
from .helpers import REPO, edgecv

README = REPO / "README.md"
TIMEOUT_S = 60  # per command: a bounded wait, never a measured speed


@dataclass(frozen=True)
class Outcome:
    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Files:
    """What the cases point at, made fresh in ``tmp_path``."""

    tmp: Path
    demo_model: Path
    demo_clip: Path
    image_dir: Path  # one readable photo-like image
    image: Path


Case = Callable[[Files], Outcome]


def run(*args: str, env: dict[str, str] | None = None) -> Case:
    def case(files: Files) -> Outcome:
        argv = [a.format(**vars(files)) for a in args]
        result = edgecv(*argv, env={k: v.format(**vars(files)) for k, v in (env or {}).items()})
        return Outcome(result.returncode, result.stdout, result.stderr)

    return case


def spawn(files: Files, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    environ = {k: v for k, v in os.environ.items() if not k.upper().startswith("EDGECV_")}
    environ.update(env or {})
    return subprocess.Popen(
        [sys.executable, "-m", "edgecv", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
        cwd=REPO,
    )


def finish(child: subprocess.Popen[str]) -> Outcome:
    try:
        out, err = child.communicate(timeout=TIMEOUT_S)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
    return Outcome(child.returncode, out, err)


def looping_demo(files: Files) -> subprocess.Popen[str]:
    """The demo clip forever, one JSON line per frame: a run that only a signal or a reader ends."""
    child = spawn(
        files, "run", "--model", str(files.demo_model), "--source", str(files.demo_clip),
        env={"EDGECV_SOURCE__LOOP": "true"},
    )  # fmt: skip
    assert child.stdout is not None
    if not child.stdout.readline().startswith("{"):
        raise AssertionError(f"no frame line; rc {child.wait(TIMEOUT_S)}: {child.communicate()[1][-2000:]}")
    return child


def stopped_by(*signals: signal.Signals) -> Case:
    def case(files: Files) -> Outcome:
        child = looping_demo(files)
        for sig in signals:  # distinct signals: two pending ones of one kind would merge into one
            child.send_signal(sig)
        return finish(child)

    return case


def reader_leaves(files: Files) -> Outcome:
    child = looping_demo(files)
    assert child.stdout is not None
    child.stdout.close()  # the reader is gone after one line, while edgecv keeps writing
    _, err = child.communicate(timeout=TIMEOUT_S)
    return Outcome(child.returncode, "", err)


def camera_lost(files: Files) -> Outcome:
    """A real MJPEG camera on loopback that goes away and does not come back within one reconnect."""
    camera = MjpegServer()
    camera.start()
    try:
        child = spawn(
            files, "run", "--model", str(files.demo_model), "--source", camera.url,
            env={
                "EDGECV_SOURCE__RECONNECT_ATTEMPTS": "1",
                "EDGECV_SOURCE__READ_TIMEOUT_S": "1",
                "EDGECV_SOURCE__RECONNECT_MIN_S": "0.1",
                "EDGECV_SOURCE__RECONNECT_MAX_S": "0.1",
            },
        )  # fmt: skip
        assert child.stdout is not None and child.stdout.readline().startswith("{")  # frames flow
    finally:
        camera.stop()
    return finish(child)


def edgetpu_missing(files: Files) -> Outcome:
    if ctypes.util.find_library("edgetpu"):
        pytest.skip("libedgetpu is installed here: the delegate may load")
    return run("check", "--model", "{demo_model}", env={"EDGECV_MODEL__EDGETPU": "true"})(files)


def write_config(name: str, text: str) -> Case:
    def case(files: Files) -> Outcome:
        config = files.tmp / name
        config.write_text(text.format(**vars(files)))
        return run("check", "--config", str(config))(files)

    return case


def annotations_of_other_classes(files: Files) -> Outcome:
    labels = files.tmp / "yolo_labels"
    labels.mkdir()
    # Class 7 of a 3-class model: the category can only read class_7, which the model never says.
    (labels / f"{files.image.stem}.txt").write_text("7 0.5 0.5 0.3 0.3\n")
    args = (
        "eval",
        "detect",
        "--model",
        "{demo_model}",
        "--images",
        "{image_dir}",
        "--annotations",
        str(labels),
    )
    return run(*args, "--report", str(files.tmp / "report.json"))(files)


@dataclass(frozen=True)
class Row:
    code: int
    situation: str  # word for word as in the README
    cases: tuple[Case, ...]
    says: str = ""  # in the error line, when the code is not 0


ROWS = [
    Row(0, "done: the source or the images ended, or `--max-frames` was reached", (
        run("run", "--max-frames", "2"),
        run("detect", "--model", "{demo_model}", "{image}"),
    )),
    Row(0, "stopped by SIGINT or SIGTERM: the frame in flight is finished, queued events are flushed", (
        stopped_by(signal.SIGTERM),
    )),
    Row(0, "stdout's reader left early (`edgecv run | head`): no traceback, no `Exception ignored`", (
        reader_leaves,
    )),
    Row(1, "a source lost mid-run: a camera or stream that does not come back within `source.reconnect_attempts`", (
        camera_lost,
    ), "reconnect attempts"),
    Row(1, "the runtime fails inside `invoke()` on a model that loaded", (
        run("detect", "--model", str(REPO / "tests/data/invoke_fails.tflite"), "{image}"),
    ), "failed inside invoke()"),
    Row(1, "no TFLite runtime or Edge TPU delegate could be loaded: install it, plug the accelerator in", (
        edgetpu_missing,
    ), "Edge TPU"),
    Row(1, "`edgecv check`: a part failed that is not an input (a camera that cannot be opened, a silent broker)", (
        write_config("camera.yaml", "source:\n  uri: /dev/video99\nmodel:\n  path: {demo_model}\n"),
    )),
    Row(2, "a flag, config value, config file or `EDGECV_*` variable is invalid or unknown", (
        run("run", "--conf", "1.5"),
        run("run", "--config", "{tmp}/missing.yaml"),
        run("run", env={"EDGECV_DETECT__CONFIDENCE": "0.4"}),
    ), "edgecv: error:"),
    Row(2, "no `--model` for `detect` or `eval detect`, or for `run` or `bench` with a source", (
        run("detect", "{image}"),
        run("run", "--source", "{image_dir}"),
    ), "needs a model"),
    Row(2, "a model file is missing, unreadable, not TFLite, or has outputs no decoder understands", (
        run("detect", "--model", "{tmp}/absent.tflite", "{image}"),
        run("detect", "--model", "{image}", "{image}"),
        run("check", "--model", str(REPO / "tests/data/two_outputs_int8.tflite")),
    ), "edgecv: error:"),
    Row(2, "a label file is missing, unreadable, or does not fit the model's classes", (
        run("detect", "--model", "{demo_model}", "--labels", "{tmp}/absent.txt", "{image}"),
        run("detect", "--model", "{demo_model}", "--labels", "{tmp}/five.txt", "{image}"),
    ), "label file"),
    Row(2, "a source that cannot work as named: no such file, a folder given as a video, a file no backend decodes", (
        run("run", "--model", "{demo_model}", "--source", "{tmp}/missing.mp4"),
        run("run", "--model", "{demo_model}", "--source", "{image_dir}", env={"EDGECV_SOURCE__TYPE": "video"}),
        run("run", "--model", "{demo_model}", "--source", "{tmp}/junk.mp4"),
    ), "source"),
    Row(2, "no image could be read, or an annotation file, recording or checkpoint is missing or unreadable", (
        run("detect", "--model", "{demo_model}", "{tmp}/absent.jpg"),
        run("eval", "track", "--recorded", "{tmp}/absent.jsonl", "--gt", "{tmp}/gt.txt"),
        run("convert", "{tmp}/absent.pt2", "--calibration", "{image_dir}", "-o", "{tmp}/out.tflite"),
    )),
    Row(2, "more than half of the annotated objects are of classes the model does not name (`eval detect`)", (
        annotations_of_other_classes,
    ), "'class_7' (1)"),
    Row(130, "a second Ctrl-C (or SIGTERM) while stopping: the frame in flight is abandoned", (
        stopped_by(signal.SIGINT, signal.SIGTERM),
    )),
]  # fmt: skip


def readme_rows() -> list[tuple[int, str]]:
    section = README.read_text().split("\n## Exit codes\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        match = re.fullmatch(r"\| (\d+) \| (.+) \|", line.strip())
        if match:
            rows.append((int(match.group(1)), match.group(2).replace("\\|", "|")))
    return rows


def test_readme_table_is_this_table() -> None:
    assert readme_rows() == [(row.code, row.situation) for row in ROWS]


@pytest.fixture
def files(tmp_path: Path, demo_model: Path) -> Files:
    image_dir = tmp_path / "photos"
    image_dir.mkdir()
    image = image_dir / "photo.png"
    picture = np.full((96, 128, 3), 170, np.uint8)
    cv2.rectangle(picture, (30, 20), (90, 70), (40, 40, 200), -1)
    cv2.imwrite(str(image), picture)
    (tmp_path / "five.txt").write_text("a\nb\nc\nd\ne\n")  # the demo model has 3 classes
    (tmp_path / "junk.mp4").write_bytes(b"\x00" * 4096)
    return Files(tmp_path, demo_model, demo_model.parent / "demo_clip.mp4", image_dir, image)


@pytest.mark.parametrize("row", ROWS, ids=[f"{row.code}-{i}" for i, row in enumerate(ROWS)])
def test_row(row: Row, files: Files) -> None:
    for case in row.cases:
        outcome = case(files)
        assert outcome.returncode == row.code, (row.situation, outcome.stderr[-2000:])
        assert "Traceback" not in outcome.stderr and "Exception ignored" not in outcome.stderr, outcome.stderr
        errors = [line for line in outcome.stderr.splitlines() if line.startswith("edgecv: error:")]
        if row.code in (0, 130):
            assert errors == [], outcome.stderr
        elif row.says and not row.situation.startswith("`edgecv check`"):
            assert len(errors) == 1 and row.says in errors[0], outcome.stderr
