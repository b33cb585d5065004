"""Several cameras under a stand-in systemd: a live camera lost mid-run beside a file camera."""

from __future__ import annotations

import json
import time
from pathlib import Path

import yaml


def frames_of(record: Path, camera: str) -> int:
    """Frame lines of ``camera`` in the recording so far (a line still being written is not counted)."""
    text = record.read_text() if record.exists() else ""
    complete = text[: text.rfind("\n") + 1]
    return sum(
        1
        for line in complete.splitlines()
        if (data := json.loads(line))["type"] == "frame" and data["camera"] == camera
    )


def counted_over(record: Path, camera: str, seconds: float) -> int:
    before = frames_of(record, camera)
    time.sleep(seconds)
    return frames_of(record, camera) - before


def test_a_lost_live_camera_does_not_slow_a_file_camera_and_comes_back(
    notify_socket, spawn_edgecv, detector_model: Path, mjpeg_server, looping_clip: Path, tmp_path: Path
) -> None:
    record, summary = tmp_path / "run.jsonl", tmp_path / "summary.json"
    live = {
        "uri": mjpeg_server.url,
        "read_timeout_s": 1,
        "reconnect_min_s": 0.2,
        "reconnect_max_s": 1,
        "max_fps": 10,
    }
    config = {
        "model": {"path": str(detector_model), "threads": 1},
        "output": {"stdout": "off"},
        "service": {"status_interval_s": 0.5, "stall_s": 2, "recovery_deadline_s": 60},
        "cameras": {
            "live": {"source": live},
            # Paced, so that its rate is the camera's, not the machine's: a drop would be the pipeline's.
            "file": {"source": {"uri": str(looping_clip), "loop": True, "max_fps": 10}},
        },
    }
    path = tmp_path / "cameras.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {"NOTIFY_SOCKET": str(notify_socket.path), "WATCHDOG_USEC": "2000000"}
    child = spawn_edgecv(
        "run", "--config", str(path), "--record", str(record), "--summary-json", str(summary), env=env
    )
    ready = notify_socket.wait_for("READY", "1", timeout=120)
    notify_socket.wait_status("live running", timeout=30, after=ready)
    notify_socket.wait_status("file running", timeout=30, after=ready)
    window = 3.0
    before = counted_over(record, "file", window)
    assert before >= 10, f"the file camera sent {before} frames in {window} s"

    lost = time.monotonic()
    mjpeg_server.stop()
    notify_socket.wait_status("live reconnecting", timeout=30, after=lost)
    live_frames = frames_of(record, "live")
    during = counted_over(record, "file", window)
    # Frame counts over equal windows, not timings: the file camera keeps its rate while the other is lost.
    assert during >= 0.7 * before, f"file camera: {before} frames before the loss, {during} during it"
    assert frames_of(record, "live") == live_frames  # nothing from the lost camera meanwhile
    status = [s for s in notify_socket.statuses() if "live reconnecting" in s][-1]
    assert status.startswith("running:") and "file running" in status, status
    # The service stays alive while any camera flows: pings go on.
    assert [t for t in notify_socket.times("WATCHDOG", "1") if t > lost + 1.0]

    back = time.monotonic()
    mjpeg_server.start()
    notify_socket.wait_status("live running", timeout=30, after=back)
    deadline = time.monotonic() + 30
    while frames_of(record, "live") <= live_frames + 5:
        assert time.monotonic() < deadline, notify_socket.statuses()[-5:]
        time.sleep(0.2)
    assert child.terminate() < 2.0
    assert child.proc.returncode == 0, child.stderr
    report = json.loads(summary.read_text())
    assert report["cameras"]["live"]["reconnects"] >= 1, report["cameras"]
    assert report["cameras"]["file"]["reconnects"] == 0 and report["cameras"]["file"]["frames"] > 0
    assert report["frames"] == sum(c["frames"] for c in report["cameras"].values())
