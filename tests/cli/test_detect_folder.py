"""``edgecv detect DIR`` reads every image the folder holds, as ``source.uri: DIR`` does (.ppm included)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2

from .helpers import edgecv


def test_detect_on_a_folder_reads_ppm_like_png(tmp_path: Path, demo_model: Path, repo_root: Path) -> None:
    capture = cv2.VideoCapture(str(repo_root / "models" / "demo_clip.mp4"))
    ok, frame = capture.read()
    capture.release()
    assert ok
    folder = tmp_path / "frames"
    folder.mkdir()
    # Both formats are lossless: the same pixels, so the same detections.
    cv2.imwrite(str(folder / "a.png"), frame)
    cv2.imwrite(str(folder / "b.ppm"), frame)
    (folder / "notes.txt").write_text("not an image")

    result = edgecv("detect", "--model", str(demo_model), str(folder))

    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [Path(line["image"]).name for line in lines] == ["a.png", "b.ppm"]
    assert lines[0]["detections"], "the demo clip's first frame should show objects"
    assert lines[1]["detections"] == lines[0]["detections"]
