"""``edgecv run --source rtsp://...`` says in one line why a stream does not open, and nothing else reaches
stderr: FFmpeg's and OpenCV's own lines (``[tcp @ 0x...] ... Connection refused``, ``[ WARN:0@...]``) are
silenced. The child's real stderr file descriptor is read, so native writes that bypass Python show too.

A real RTSP server (GStreamer's, on loopback) plays the camera: right path, wrong path, password asked,
and a payload FFmpeg does not decode. The positive case reads real frames from it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# What may reach stderr: edgecv's own log lines, error line and run summary (indented lines under it), and
# TFLite's one-line banner.
OURS = re.compile(
    r"^(\d\d:\d\d:\d\d (DEBUG|INFO|WARNING|ERROR) edgecv\.|edgecv: |  \S|INFO: Created TensorFlow Lite|$)"
)


def run_edgecv(source: str, model: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("EDGECV_", "OPENCV_"))}
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "edgecv", "run", "--model", str(model), "--source", source, *args],
        capture_output=True,  # the child's fd 2 itself: native writes are caught as well as Python's
        text=True,
        env=environ,
        cwd=REPO,
        timeout=60,
        check=False,
    )


def the_error(result: subprocess.CompletedProcess[str]) -> str:
    """The one error line; fails when anything else (a native library's line) reached stderr."""
    lines = result.stderr.splitlines()
    foreign = [line for line in lines if not OURS.match(line)]
    assert not foreign, f"raw lines on stderr: {foreign}"
    errors = [line for line in lines if line.startswith("edgecv: error:")]
    assert len(errors) == 1, result.stderr
    assert result.returncode != 0
    return errors[0]


def test_refused_port(demo_model: Path, closed_port: int) -> None:
    error = the_error(run_edgecv(f"rtsp://127.0.0.1:{closed_port}/cam", demo_model))
    assert f"connection refused by 127.0.0.1:{closed_port}" in error
    assert "within" not in error  # not "no answer within 5 s": it was refused at once


def test_name_not_resolved(demo_model: Path) -> None:
    # RFC 6761: .invalid never resolves; edgecv answers that itself, so no DNS query leaves the machine.
    error = the_error(run_edgecv("rtsp://camera.invalid/stream1", demo_model))
    assert "host name 'camera.invalid' not resolved" in error


def test_listening_but_silent_is_a_timeout(demo_model: Path, silent_port: int) -> None:
    result = run_edgecv(f"rtsp://127.0.0.1:{silent_port}/cam", demo_model, EDGECV_SOURCE__READ_TIMEOUT_S="1")
    error = the_error(result)
    assert f"127.0.0.1:{silent_port} accepts connections but did not answer within" in error


def test_wrong_path_is_404(demo_model: Path, rtsp_server) -> None:
    camera = rtsp_server()
    error = the_error(run_edgecv(camera.url("/nope"), demo_model))
    assert "404 not found: no stream at path '/nope'" in error


def test_password_asked_and_refused_is_401_with_the_password_masked(demo_model: Path, rtsp_server) -> None:
    camera = rtsp_server(credentials="admin:s3cret")
    asked = the_error(run_edgecv(camera.url(), demo_model))
    assert "401 unauthorized: the camera asks for a user name and password" in asked
    wrong = run_edgecv(camera.url(userinfo="admin:hunter2"), demo_model)
    error = the_error(wrong)
    assert "401 unauthorized: the camera refused user 'admin'" in error
    assert "admin:***@" in error and "hunter2" not in wrong.stderr + wrong.stdout


def test_unsupported_codec(demo_model: Path, rtsp_server) -> None:
    camera = rtsp_server(codec="x-gst")
    error = the_error(run_edgecv(camera.url(), demo_model))
    assert "unsupported codec: it carries application/X-GST" in error


def test_right_credentials_read_real_frames(demo_model: Path, rtsp_server, tmp_path: Path) -> None:
    camera = rtsp_server(credentials="admin:s3cret")
    summary = tmp_path / "summary.json"
    url = camera.url(userinfo="admin:s3cret")
    result = run_edgecv(url, demo_model, "--max-frames", "5", "--summary-json", str(summary))
    assert result.returncode == 0, result.stderr
    assert json.loads(summary.read_text())["frames"] == 5
    assert not [line for line in result.stderr.splitlines() if not OURS.match(line)], result.stderr


@pytest.mark.parametrize("level", ["DEBUG"])
def test_at_debug_native_lines_are_kept(demo_model: Path, closed_port: int, rtsp_server, level: str) -> None:
    # -v is when a person wants FFmpeg's own words: nothing is silenced then.
    camera = rtsp_server()
    result = run_edgecv(camera.url("/nope"), demo_model, EDGECV_LOG__LEVEL=level)
    assert "404" in result.stderr and any(not OURS.match(line) for line in result.stderr.splitlines())
