"""A wall clock that cannot be right is said once on stderr and reported as ``clock_synced: false`` in the
``stats`` payload and the ``--summary-json`` ``service`` block.

The child's clock is set to 2020 with libfaketime (before any edgecv build): no syscall the service unit
forbids is needed to see that. The machine's clock is never touched.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

STATS_WAIT_S = 60
YEAR_2020_MID = 1_593_561_600  # 2020-07-01 00:00:00 UTC


def test_a_clock_before_the_build_is_reported_unsynchronised(
    broker, subscribe, mq, faketime, demo_model: Path, repo_root: Path, tmp_path: Path
) -> None:
    sub = subscribe(broker.port, ["edgecv/dev/cam/stats"])
    # Set back to mid-2020 from the start, as on a Pi booted without its network; monotonic time is real.
    faketime.set(f"-{int(time.time()) - YEAR_2020_MID:d}")
    summary = tmp_path / "summary.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGECV_")}
    env.update(faketime.env)
    env.update(
        {
            "EDGECV_MQTT__HOST": "127.0.0.1",
            "EDGECV_MQTT__PORT": str(broker.port),
            "EDGECV_MQTT__DEVICE": "dev",
            "EDGECV_MQTT__CAMERA": "cam",
            "EDGECV_MQTT__STATS_INTERVAL_S": "0.5",
            "EDGECV_SOURCE__LOOP": "true",
            "XDG_STATE_HOME": str(tmp_path / "state"),  # never a real MQTT spool
        }
    )
    clip = repo_root / "models" / "demo_clip.mp4"
    args = ["run", "--model", str(demo_model), "--source", str(clip), "--summary-json", str(summary)]
    stderr = tmp_path / "stderr.txt"
    with stderr.open("w") as err:
        child = subprocess.Popen(
            [sys.executable, "-m", "edgecv", *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        try:
            assert mq.wait_until(lambda: len(sub.json("/stats")) >= 2, STATS_WAIT_S), stderr.read_text()
        finally:
            child.send_signal(signal.SIGTERM)
            child.wait(30)
    stats = sub.json("/stats")
    assert all(s["clock_synced"] is False for s in stats), stats
    assert json.loads(summary.read_text())["service"]["clock_synced"] is False
    warnings = [line for line in stderr.read_text().splitlines() if "clock is not synchronised" in line]
    assert len(warnings) == 1 and "2020" in warnings[0], stderr.read_text()
