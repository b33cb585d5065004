"""``edgecv check`` beside a running service: it validates the config and tries the broker on a connection
of its own, never as the service's client id, and never touches the service's spool or its notify socket."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from edgecv import bundled

REPO = Path(__file__).resolve().parents[2]


def test_check_leaves_the_running_service_alone(tmp_path: Path, broker, subscribe, mq) -> None:
    if not bundled.demo_model().exists():
        pytest.skip("the bundled demo model is not built (make demo-model)")
    spool = tmp_path / "spool"
    config = tmp_path / "edgecv.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "source": {"uri": str(bundled.demo_clip())},
                "model": {"path": str(bundled.demo_model()), "labels": str(bundled.demo_labels())},
                "mqtt": {"host": "127.0.0.1", "port": broker.port, "device": "dev", "spool_dir": str(spool)},
            }
        )
    )
    # The service's connection, as edgecv-dev: a second client with its id would kick it off the broker.
    service = subscribe(broker.port, ["edgecv/#"], client_id="edgecv-dev")
    drops: list[object] = []
    service.client.on_disconnect = lambda *args: drops.append(args)
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.settimeout(0.2)
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("EDGECV_")}
    env["NOTIFY_SOCKET"] = str(tmp_path / "notify.sock")
    result = subprocess.run(
        [sys.executable, "-m", "edgecv", "check", "--config", str(config)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "connected to 127.0.0.1" in result.stdout
    time.sleep(0.5)
    assert not drops and service.client.is_connected()  # a client with its id would have taken its place
    assert not spool.exists()  # the service's spool is neither created nor read
    with pytest.raises(TimeoutError):
        notify.recv(100)  # nothing told to the service manager
    notify.close()
