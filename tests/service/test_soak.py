"""Soak: edgecv as a service for a long time on a looping clip, the broker restarted every few minutes.

Not in the default suite (``-m slow``); ``make soak`` runs it. ``SOAK_MINUTES`` (default 30) and
``SOAK_BROKER_RESTART_S`` (default 300) set the length and the restart period; not ``EDGECV_`` variables,
which edgecv's config loader would reject as unknown keys. Figures go to stdout and ``SOAK_REPORT`` (JSON).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import time
from pathlib import Path

import pytest


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def start_broker(conf: Path) -> subprocess.Popen:
    broker = subprocess.Popen(
        ["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(0.5)
    return broker


@pytest.mark.slow
def test_soak(notify_socket, spawn_edgecv, detector_model: Path, looping_clip: Path, tmp_path: Path) -> None:
    minutes = float(os.environ.get("SOAK_MINUTES", "30"))
    restart_every = float(os.environ.get("SOAK_BROKER_RESTART_S", "300"))
    warmup = min(120.0, minutes * 60 * 0.2)
    env = {
        "NOTIFY_SOCKET": str(notify_socket.path),
        "WATCHDOG_USEC": "10000000",
        "EDGECV_SOURCE__LOOP": "true",
        "EDGECV_OUTPUT__STDOUT": "off",
        "EDGECV_MODEL__THREADS": "1",
        # A camera's rate (SOAK_FPS): unthrottled, the demo model runs at ~600 fps and MQTT at as many messages/s.
        "EDGECV_SOURCE__MAX_FPS": os.environ.get("SOAK_FPS", "30"),
        "EDGECV_SERVICE__STATUS_INTERVAL_S": "5",
    }
    broker = None
    if shutil.which("mosquitto"):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        conf = tmp_path / "mosquitto.conf"
        conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
        broker = start_broker(conf)
        env |= {
            "EDGECV_MQTT__HOST": "127.0.0.1",
            "EDGECV_MQTT__PORT": str(port),
            "EDGECV_MQTT__SPOOL_DIR": str(tmp_path / "spool"),
        }
    summary = tmp_path / "summary.json"
    child = spawn_edgecv(
        "run",
        "--model",
        str(detector_model),
        "--source",
        str(looping_clip),
        "--summary-json",
        str(summary),
        env=env,
    )
    start = notify_socket.wait_for("READY", "1", timeout=120)
    samples: list[tuple[float, float]] = []
    restarts = 0
    last_restart = start
    try:
        while time.monotonic() - start < minutes * 60:
            assert child.proc.poll() is None, child.stderr[-2000:]
            samples.append((time.monotonic() - start, rss_mb(child.proc.pid)))
            if broker is not None and time.monotonic() - last_restart >= restart_every:
                broker.terminate()
                broker.wait(10)
                time.sleep(2)
                broker = start_broker(conf)
                restarts += 1
                last_restart = time.monotonic()
            time.sleep(5)
        took = child.terminate()
    finally:
        if broker is not None:
            broker.terminate()
            broker.wait(10)
    assert child.proc.returncode == 0, child.stderr[-2000:]
    after = [rss for t, rss in samples if t >= warmup]
    fps = [
        float(m.group(1))
        for t, f in notify_socket.messages
        if t - start >= warmup and (m := re.search(r"([\d.]+) fps", f.get("STATUS", "")))
    ]
    report = {
        "minutes": minutes,
        "broker_restarts": restarts,
        "rss_mb_at_warmup": round(after[0], 2),
        "rss_mb_end": round(after[-1], 2),
        "rss_growth_mb": round(after[-1] - after[0], 2),
        "rss_max_mb": round(max(after), 2),
        "fps_median": round(statistics.median(fps), 2),
        "fps_min": round(min(fps), 2),
        "fps_max": round(max(fps), 2),
        "stop_s": round(took, 2),
        "summary": json.loads(summary.read_text()),
    }
    print(json.dumps(report, indent=2))
    if os.environ.get("SOAK_REPORT"):
        Path(os.environ["SOAK_REPORT"]).write_text(json.dumps(report, indent=2) + "\n")
    # Growth judged on the last samples against the first after warm-up; medians of a few samples smooth
    # the allocator's sawtooth.
    head = statistics.median(after[:6])
    tail = statistics.median(after[-6:])
    assert tail - head < 1.0, report
    assert min(fps) >= 0.7 * statistics.median(fps), report
    assert took < 2.0
