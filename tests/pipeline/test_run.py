"""The run loop end to end, on real models and real clips."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgecv.capture import open_source
from edgecv.config import SourceConfig
from edgecv.contracts import FrameJson, RunSummaryJson
from edgecv.detect.detector import Detector
from edgecv.pipeline.loop import Pipeline

from ..cli.helpers import REPO, edgecv


def json_lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def frame_lines(stdout: str) -> list[dict]:
    return [line for line in json_lines(stdout) if line.get("type") == "frame"]


def test_run_prints_one_valid_line_per_frame_and_a_summary(
    tmp_path: Path, yolov8n: Path, shared_assets: Path
) -> None:
    summary_path = tmp_path / "summary.json"
    clip = shared_assets / "video" / "vtest.mp4"
    result = edgecv(
        "run",
        "--model",
        str(yolov8n),
        "--source",
        str(clip),
        "--max-frames",
        "12",
        "--threads",
        "1",
        "--summary-json",
        str(summary_path),
    )
    assert result.returncode == 0, result.stderr
    lines = frame_lines(result.stdout)
    assert [line["seq"] for line in lines] == list(range(12))
    for line in lines:
        FrameJson.model_validate(line)
        for det in line["detections"]:
            x1, y1, x2, y2 = det["box"]
            assert 0 <= x1 <= x2 <= 480 and 0 <= y1 <= y2 <= 360
    timestamps = [line["ts"] for line in lines]
    assert timestamps == sorted(timestamps) and abs(timestamps[0] - time.time()) < 120
    # people walk through every frame of vtest: the detector must see them
    assert sum(d["label"] == "person" for line in lines for d in line["detections"]) >= 12 * 3
    summary = json.loads(summary_path.read_text())
    RunSummaryJson.model_validate(summary)
    assert summary["frames"] == 12 and summary["fps"] > 0 and summary["peak_rss_mb"] > 10
    assert {"capture_wait", "preprocess", "inference", "decode_nms", "output"} <= set(summary["stages_ms"])
    assert "12 frames" in result.stderr


def test_sigterm_finishes_cleanly_within_two_seconds(yolov8n: Path, shared_assets: Path) -> None:
    clip = shared_assets / "video" / "vtest.mp4"
    env = {"EDGECV_SOURCE__LOOP": "true"}
    import os

    environ = {k: v for k, v in os.environ.items() if not k.startswith("EDGECV_")} | env
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "edgecv",
            "run",
            "--model",
            str(yolov8n),
            "--source",
            str(clip),
            "--threads",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
        cwd=REPO,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # the loop is running
    assert json.loads(first)["seq"] == 0
    proc.send_signal(signal.SIGTERM)
    start = time.monotonic()
    out, err = proc.communicate(timeout=10)
    assert time.monotonic() - start < 2.0
    assert proc.returncode == 0, err
    for line in out.splitlines():  # every line complete: no frame cut in half
        json.loads(line)
    assert "frames in" in err and "Traceback" not in err


def test_reader_closing_the_pipe_is_not_an_error(yolov8n: Path, shared_assets: Path) -> None:
    clip = shared_assets / "video" / "vtest.mp4"
    command = f"{sys.executable} -m edgecv run --model {yolov8n} --source {clip} --threads 1 | head -n 2"
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert len(result.stdout.splitlines()) == 2
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr


def make_clip(path: Path, frames: int, size: tuple[int, int] = (160, 120)) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, size)
    rng = np.random.default_rng(0)
    for _ in range(frames):
        writer.write(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
    writer.release()
    return path


class Collect:
    def __init__(self) -> None:
        self.frames: list[tuple[str, int]] = []

    def write_frame(self, frame, detections) -> None:
        self.frames.append((frame.source_id, frame.seq))

    def close(self) -> None:
        pass


def test_several_sources_share_one_detector(tmp_path: Path, yolov8n: Path) -> None:
    detector = Detector(yolov8n, threads=1)
    sources = [
        open_source(SourceConfig(uri=str(make_clip(tmp_path / f"{i}.avi", n))), source_id=str(i))
        for i, n in enumerate((7, 11))
    ]
    for source in sources:
        source.open()
    sink = Collect()
    result = Pipeline(detector, sources, [sink]).run()
    assert result.frames == 18
    for source_id, count in (("0", 7), ("1", 11)):
        assert [seq for sid, seq in sink.frames if sid == source_id] == list(range(count))


def test_max_frames_stops_exactly(tmp_path: Path, yolov8n: Path) -> None:
    detector = Detector(yolov8n, threads=1)
    source = open_source(SourceConfig(uri=str(make_clip(tmp_path / "c.avi", 20)), loop=True))
    source.open()
    sink = Collect()
    result = Pipeline(detector, [source], [sink], max_frames=9).run()
    source.close()
    assert result.frames == 9 and [seq for _, seq in sink.frames] == list(range(9))


def test_failing_sink_surfaces_its_error(tmp_path: Path, yolov8n: Path) -> None:
    class Broken(Collect):
        def write_frame(self, frame, detections) -> None:
            raise RuntimeError("disk full")

    detector = Detector(yolov8n, threads=1)
    source = open_source(SourceConfig(uri=str(make_clip(tmp_path / "c.avi", 5))))
    source.open()
    with pytest.raises(RuntimeError, match="disk full"):
        Pipeline(detector, [source], [Broken()]).run()
    source.close()


def test_detect_command_json_and_unreadable_images(
    tmp_path: Path, yolov8n: Path, shared_assets: Path
) -> None:
    images = sorted((shared_assets / "coco_val2017" / "images").glob("*.jpg"))[:2]
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    result = edgecv("detect", "--model", str(yolov8n), str(images[0]), str(broken), str(images[1]))
    assert result.returncode == 0, result.stderr
    lines = json_lines(result.stdout)
    assert [line["image"] for line in lines] == [str(images[0]), str(images[1])]
    for line in lines:
        assert set(line) == {"image", "width", "height", "detections"}
        image = cv2.imread(line["image"])
        assert (line["height"], line["width"]) == image.shape[:2]
        assert line["detections"], "COCO photographs all contain objects"
        assert all(set(d) == {"label", "class_id", "score", "box"} for d in line["detections"])
    assert "broken.jpg" in result.stderr
    only_broken = edgecv("detect", "--model", str(yolov8n), str(broken))
    assert only_broken.returncode == 2 and "no image could be processed" in only_broken.stderr
