"""Every bad input ends in one line that says what to do, and exit 2 (an input to fix; 1 is for run-time
failures: tests/cli/test_exit_codes.py holds the table)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import edgecv, error_line


def test_version() -> None:
    result = edgecv("--version")
    assert result.returncode == 0 and result.stdout.startswith("edgecv ")


def test_missing_model_file(tmp_path: Path) -> None:
    result = edgecv("detect", "--model", str(tmp_path / "absent.tflite"), str(tmp_path / "x.jpg"))
    assert result.returncode == 2
    assert "model file not found" in error_line(result) and "--model" in error_line(result)


def test_file_that_is_not_a_tflite_model(tmp_path: Path) -> None:
    fake = tmp_path / "model.tflite"
    fake.write_bytes(b"<html>404 not found</html>" * 10)
    result = edgecv("check", "--model", str(fake))
    assert result.returncode == 2
    assert "is not a TFLite model" in error_line(result)


def test_truncated_tflite_model(tmp_path: Path, yolov8n: Path) -> None:
    truncated = tmp_path / "truncated.tflite"
    truncated.write_bytes(yolov8n.read_bytes()[:4096])
    result = edgecv("check", "--model", str(truncated))
    assert result.returncode == 2
    assert "cannot load" in error_line(result)


def test_model_path_is_a_directory(tmp_path: Path) -> None:
    result = edgecv("check", "--model", str(tmp_path))
    assert result.returncode == 2 and "is a directory" in error_line(result)


def test_source_that_cannot_be_opened(tmp_path: Path, demo_model: Path) -> None:
    result = edgecv(
        "run", "--model", str(demo_model), "--source", str(tmp_path / "missing.mp4"), "--max-frames", "1"
    )
    assert result.returncode == 2
    line = error_line(result)
    assert "missing.mp4" in line and "source.uri" in line


def test_video_file_that_is_not_a_video(tmp_path: Path, yolov8n: Path) -> None:
    junk = tmp_path / "clip.mp4"
    junk.write_bytes(b"\x00" * 1000)
    result = edgecv("run", "--model", str(yolov8n), "--source", str(junk), "--max-frames", "1")
    assert result.returncode == 2
    assert "clip.mp4" in error_line(result)


def test_invalid_config_value_exits_2() -> None:
    result = edgecv("run", "--conf", "1.5")
    assert result.returncode == 2
    assert "detect.conf = 1.5" in error_line(result)


def test_invalid_value_in_environment_exits_2() -> None:
    result = edgecv("run", env={"EDGECV_MODEL__THREADS": "many"})
    assert result.returncode == 2
    line = error_line(result)
    assert "model.threads = 'many'" in line and "EDGECV_MODEL__THREADS" in line


def test_unknown_config_key_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "edgecv.yaml"
    config.write_text("detect:\n  confidence: 0.4\n")
    result = edgecv("run", "--config", str(config))
    assert result.returncode == 2
    assert "detect.confidence: unknown key" in error_line(result)


def test_unknown_environment_variable_exits_2() -> None:
    result = edgecv("run", env={"EDGECV_DETECT__CONFIDENCE": "0.4"})
    assert result.returncode == 2
    assert "unknown environment variable EDGECV_DETECT__CONFIDENCE" in error_line(result)


def test_unknown_class_in_allowlist_lists_known_ones(yolov8n: Path, tmp_path: Path) -> None:
    result = edgecv("check", "--model", str(yolov8n), env={"EDGECV_DETECT__CLASSES": "persn"})
    assert result.returncode == 2
    line = error_line(result)
    assert "unknown class 'persn'" in line and "person" in line


def test_bad_max_frames() -> None:
    result = edgecv("run", "--max-frames", "0")
    assert result.returncode == 2 and "--max-frames" in error_line(result)


def test_edgetpu_missing_is_explained(yolov8n: Path) -> None:
    result = edgecv("check", "--model", str(yolov8n), env={"EDGECV_MODEL__EDGETPU": "true"})
    assert result.returncode == 1
    line = error_line(result)
    assert "Edge TPU" in line and "libedgetpu1-std" in line


@pytest.mark.parametrize("command", ["run", "detect", "check", "config"])
def test_help(command: str) -> None:
    assert edgecv(command, "--help").returncode == 0


def test_unsupported_output_layout_names_shapes_and_key(repo_root: Path) -> None:
    model = repo_root / "tests" / "data" / "two_outputs_int8.tflite"  # made by tools/make_test_models.py
    result = edgecv("check", "--model", str(model))
    assert result.returncode == 2
    line = error_line(result)
    assert "unsupported output layout" in line
    assert "[1, 8, 8, 6]" in line and "[1, 10]" in line and "model.layout" in line


def test_forced_layout_that_does_not_fit(repo_root: Path) -> None:
    model = repo_root / "tests" / "data" / "two_outputs_int8.tflite"
    result = edgecv("check", "--model", str(model), env={"EDGECV_MODEL__LAYOUT": "ssd"})
    assert result.returncode == 2
    assert "model.layout is 'ssd'" in error_line(result)
