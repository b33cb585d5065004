"""No silent default model: ``detect`` and ``eval detect`` need ``--model``, and so does ``run`` (and
``bench``) once a source is given. The bundled demo model, which knows circles, squares and triangles,
stays the default of the bare demo only (``edgecv run``, ``make demo``).

Before: ``edgecv detect photo.jpg`` ran the demo model on a real photograph and printed its shapes, rc 0.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from .helpers import edgecv, error_line


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.jpg"
    image = np.full((120, 160, 3), 200, np.uint8)
    cv2.circle(image, (80, 60), 30, (0, 0, 255), -1)
    cv2.imwrite(str(path), image)
    return path


def test_detect_without_model_exits_2(photo: Path) -> None:
    result = edgecv("detect", str(photo))
    assert result.returncode == 2 and result.stdout == ""
    line = error_line(result)
    assert "edgecv detect needs a model" in line and "--model" in line


def test_eval_detect_without_model_exits_2(photo: Path, tmp_path: Path) -> None:
    annotations = tmp_path / "labels"
    annotations.mkdir()
    result = edgecv("eval", "detect", "--images", str(photo.parent), "--annotations", str(annotations))
    assert result.returncode == 2
    assert "edgecv eval detect needs a model" in error_line(result)


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_run_with_a_source_but_no_model_exits_2(photo: Path, how: str) -> None:
    if how == "flag":
        result = edgecv("run", "--source", str(photo.parent), "--max-frames", "1")
    else:
        result = edgecv("run", "--max-frames", "1", env={"EDGECV_SOURCE__URI": str(photo.parent)})
    assert result.returncode == 2 and result.stdout == ""
    assert "edgecv run with a source needs a model" in error_line(result)


def test_bench_with_a_source_but_no_model_exits_2(photo: Path) -> None:
    result = edgecv("bench", "--source", str(photo.parent))
    assert result.returncode == 2
    assert "edgecv bench with a source needs a model" in error_line(result)


def test_the_bare_demo_still_runs(demo_model: Path) -> None:
    result = edgecv("run", "--max-frames", "3")
    assert result.returncode == 0, result.stderr
    frames = [json.loads(line) for line in result.stdout.splitlines()]
    assert [f["seq"] for f in frames if f["type"] == "frame"] == [0, 1, 2]


def test_a_model_from_the_environment_is_not_a_silent_default(photo: Path, demo_model: Path) -> None:
    result = edgecv("detect", str(photo), env={"EDGECV_MODEL__PATH": str(demo_model)})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["image"] == str(photo)


def test_check_fails_the_model_row_of_a_config_with_a_source_and_no_model(
    tmp_path: Path, photo: Path, demo_model: Path
) -> None:
    config = tmp_path / "edgecv.yaml"
    config.write_text(f"source:\n  uri: {photo.parent}\n")
    result = edgecv("check", "--config", str(config))
    assert result.returncode == 2, result.stdout + result.stderr
    row = next(line for line in result.stdout.splitlines() if line.startswith("model"))
    assert "fail" in row and "needs a model" in row
