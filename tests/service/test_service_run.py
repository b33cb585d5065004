"""``edgecv run`` under a stand-in systemd: a real notify socket, real signals, a real MJPEG camera."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np

SERVICE_ENV = {
    "EDGECV_OUTPUT__STDOUT": "off",
    "EDGECV_SOURCE__MAX_FPS": "5",  # light on the shared CI cores; the watchdog only needs frames to flow
    "EDGECV_SERVICE__STATUS_INTERVAL_S": "0.5",
    "WATCHDOG_USEC": "1000000",
}


def frames_in(status: str) -> int:
    match = re.search(r"(\d+) frames", status)
    return int(match.group(1)) if match else -1


def test_ready_watchdog_pings_and_stopping_on_sigterm(
    notify_socket, spawn_edgecv, detector_model: Path, looping_clip: Path
) -> None:
    env = SERVICE_ENV | {"NOTIFY_SOCKET": str(notify_socket.path), "EDGECV_SOURCE__LOOP": "true"}
    child = spawn_edgecv("run", "--model", str(detector_model), "--source", str(looping_clip), env=env)
    ready = notify_socket.wait_for("READY", "1", timeout=120)
    notify_socket.wait_status("fps", timeout=30, after=ready)
    time.sleep(3)
    pings = [t for t in notify_socket.times("WATCHDOG", "1") if t >= ready]
    # WATCHDOG_USEC=1 s: a ping every 0.5 s; loaded CI cores may delay one, never by the whole period.
    assert len(pings) >= 4, notify_socket.messages
    assert float(np.median(np.diff(pings))) < 0.8 and max(np.diff(pings)) < 1.0, np.diff(pings)
    took = child.terminate()
    assert child.proc.returncode == 0, child.stderr
    assert took < 2.0, f"stopped in {took:.2f} s"
    notify_socket.wait_for("STOPPING", "1", timeout=1)
    assert "Traceback" not in child.stderr


def test_camera_absent_at_start_then_lost_and_back_without_a_restart(
    notify_socket, spawn_edgecv, detector_model: Path, mjpeg_server, tmp_path: Path
) -> None:
    mjpeg_server.stop()  # absent at boot: READY anyway, saying it waits
    summary = tmp_path / "summary.json"
    env = SERVICE_ENV | {
        "NOTIFY_SOCKET": str(notify_socket.path),
        "EDGECV_SOURCE__RETRY_OPEN": "true",
        "EDGECV_SOURCE__READ_TIMEOUT_S": "1",
        "EDGECV_SOURCE__RECONNECT_MIN_S": "0.2",
        "EDGECV_SOURCE__RECONNECT_MAX_S": "1",
        "EDGECV_SERVICE__STALL_S": "2",
        "EDGECV_SERVICE__RECOVERY_DEADLINE_S": "60",
    }
    child = spawn_edgecv(
        "run",
        "--model",
        str(detector_model),
        "--source",
        mjpeg_server.url,
        "--summary-json",
        str(summary),
        env=env,
    )
    ready = notify_socket.wait_for("READY", "1", timeout=120)
    assert "waiting" in notify_socket.statuses()[0], notify_socket.statuses()
    mjpeg_server.start()
    notify_socket.wait_status("fps", timeout=30, after=ready)
    pid = child.proc.pid

    lost = time.monotonic()
    mjpeg_server.stop()
    notify_socket.wait_status("reconnecting", timeout=30, after=lost)
    time.sleep(2)
    back = time.monotonic()
    mjpeg_server.start()
    before = max(frames_in(s) for s in notify_socket.statuses())
    deadline = time.monotonic() + 30
    while max(frames_in(s) for s in notify_socket.statuses()) <= before + 5:
        assert time.monotonic() < deadline, notify_socket.statuses()[-5:]
        time.sleep(0.2)
    # The watchdog kept pinging through the outage: a recovery within its deadline is healthy.
    assert [t for t in notify_socket.times("WATCHDOG", "1") if lost < t < back]
    assert child.proc.poll() is None and child.proc.pid == pid  # the same process all along
    assert child.terminate() < 2.0
    assert child.proc.returncode == 0, child.stderr
    report = json.loads(summary.read_text())
    assert report["reconnects"] >= 2, report  # once at boot, once after the outage
    assert report["source_failures"] > 0
    assert report["service"]["stalls"] >= 1 and report["service"]["failure"] is None


def test_a_source_that_never_comes_back_stops_the_pings_and_exits_non_zero(
    notify_socket, spawn_edgecv, detector_model: Path, mjpeg_server
) -> None:
    env = SERVICE_ENV | {
        "NOTIFY_SOCKET": str(notify_socket.path),
        "EDGECV_SOURCE__READ_TIMEOUT_S": "0.5",
        "EDGECV_SOURCE__RECONNECT_MIN_S": "0.2",
        "EDGECV_SOURCE__RECONNECT_MAX_S": "0.5",
        "EDGECV_SERVICE__STALL_S": "1",
        "EDGECV_SERVICE__RECOVERY_DEADLINE_S": "3",
    }
    child = spawn_edgecv("run", "--model", str(detector_model), "--source", mjpeg_server.url, env=env)
    ready = notify_socket.wait_for("READY", "1", timeout=120)
    notify_socket.wait_status("fps", timeout=30, after=ready)
    lost = time.monotonic()
    mjpeg_server.stop()
    child.proc.wait(timeout=30)
    failed = notify_socket.wait_status("failed", timeout=1, after=lost)
    assert child.proc.returncode == 1, child.stderr
    assert "watchdog: no frame for" in child.stderr
    # No ping once the recovery deadline had passed (the last frame came at or after `lost`... or just before).
    assert not [t for t in notify_socket.times("WATCHDOG", "1") if t > failed]
    assert failed - lost < 3 + 5, "gave up far later than the recovery deadline"
