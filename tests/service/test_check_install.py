"""``edgecv check`` (the pass/fail/skipped table and its exit codes) and ``edgecv service install``."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from edgecv.config import load_settings

from ..cli.helpers import edgecv

REPO = Path(__file__).resolve().parents[2]


def rows(stdout: str) -> dict[str, tuple[str, str]]:
    out = {}
    for line in stdout.splitlines()[1:]:
        name, outcome, detail = line.split(None, 2)
        out[name] = (outcome, detail)
    return out


def write_config(path: Path, **sections: dict) -> Path:
    path.write_text(yaml.safe_dump(sections))
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_all_configured_parts_pass(tmp_path: Path, detector_model: Path, looping_clip: Path) -> None:
    config = write_config(
        tmp_path / "ok.yaml",
        source={"uri": str(looping_clip)},
        model={"path": str(detector_model), "threads": 1},
    )
    result = edgecv("check", "--config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    table = rows(result.stdout)
    assert table["config"][0] == "pass" and table["source"][0] == "pass" and table["model"][0] == "pass"
    assert "320x240 frame" in table["source"][1] and "one inference in" in table["model"][1]
    assert table["mqtt"] == ("skipped", "mqtt.host is not set")


def test_a_missing_camera_and_a_closed_broker_fail(tmp_path: Path, detector_model: Path) -> None:
    config = write_config(
        tmp_path / "bad.yaml",
        source={"uri": "/dev/video99", "retry_open": True},  # the check never waits in the background
        model={"path": str(detector_model), "threads": 1},
        mqtt={"host": "127.0.0.1", "port": free_port()},
    )
    result = edgecv("check", "--config", str(config))
    assert result.returncode == 1, result.stdout + result.stderr
    table = rows(result.stdout)
    assert table["source"][0] == "fail" and "camera /dev/video99" in table["source"][1]
    assert table["model"][0] == "pass"  # still tried, on a blank frame
    assert table["mqtt"][0] == "fail" and "cannot reach the broker" in table["mqtt"][1]


def test_an_invalid_config_exits_2_and_skips_the_rest(tmp_path: Path) -> None:
    config = write_config(tmp_path / "invalid.yaml", service={"stall_s": 30, "recovery_deadline_s": 10})
    result = edgecv("check", "--config", str(config))
    assert result.returncode == 2
    table = rows(result.stdout)
    assert table["config"][0] == "fail" and "recovery_deadline_s" in table["config"][1]
    assert {table[k][0] for k in ("source", "model", "mqtt")} == {"skipped"}


@pytest.mark.skipif(shutil.which("mosquitto") is None, reason="mosquitto not installed")
def test_a_live_broker_passes(tmp_path: Path, detector_model: Path, looping_clip: Path) -> None:
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
    broker = subprocess.Popen(
        ["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "mosquitto did not start"
                time.sleep(0.1)
        config = write_config(
            tmp_path / "mqtt.yaml",
            source={"uri": str(looping_clip)},
            model={"path": str(detector_model), "threads": 1},
            mqtt={"host": "127.0.0.1", "port": port},
        )
        result = edgecv("check", "--config", str(config))
        assert result.returncode == 0, result.stdout + result.stderr
        assert rows(result.stdout)["mqtt"][0] == "pass"
    finally:
        broker.terminate()
        broker.wait(10)


def test_install_dry_run_writes_nothing(tmp_path: Path) -> None:
    result = edgecv("service", "install", "--instance", "frontdoor", "--dry-run", "--root", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "edgecv@.service" in result.stdout and "frontdoor.yaml" in result.stdout
    assert (
        "dry run: nothing written" in result.stdout
        and "systemctl enable --now edgecv@frontdoor" in result.stdout
    )
    assert list(tmp_path.iterdir()) == []


def test_install_writes_unit_and_a_valid_config_skeleton_and_keeps_edits(tmp_path: Path) -> None:
    exe = tmp_path / "venv" / "bin" / "edgecv"
    result = edgecv("service", "install", "--root", str(tmp_path), "--exec", str(exe))
    assert result.returncode == 0, result.stderr
    unit = (tmp_path / "etc/systemd/system/edgecv.service").read_text()
    assert f"ExecStart={exe} run --config /etc/edgecv/edgecv.yaml" in unit
    config = tmp_path / "etc/edgecv/edgecv.yaml"
    settings = load_settings(config, environ={})
    assert settings.source.uri == "/dev/video0" and settings.source.retry_open
    assert oct(config.stat().st_mode & 0o777) == "0o644"  # the dynamic user reads it; no secrets
    config.write_text("source:\n  uri: rtsp://cam/stream\n")
    again = edgecv("service", "install", "--root", str(tmp_path), "--exec", str(exe))
    assert "keep" in again.stdout and config.read_text() == "source:\n  uri: rtsp://cam/stream\n"


def test_install_rejects_a_path_as_instance_name(tmp_path: Path) -> None:
    result = edgecv("service", "install", "--instance", "../x", "--dry-run", "--root", str(tmp_path))
    assert result.returncode == 2 and "invalid instance name" in result.stderr  # an input to fix


@pytest.mark.parametrize("unit", ["edgecv.service", "edgecv@.service"])
def test_every_secret_with_a_credential_is_loaded_by_the_units(unit: str) -> None:
    """A secret field's credential (its marker) must reach the service: the unit loads it from the folder
    'edgecv service install' moves secrets into."""
    from edgecv.config import Settings
    from edgecv.config.secrets import secret_credentials

    text = (REPO / "systemd" / unit).read_text()
    credentials = {name for name in secret_credentials(Settings).values() if name}
    assert credentials, "mqtt.password carries the mqtt-password credential"
    for name in credentials:
        assert f"LoadCredential=-{name}:/etc/edgecv/credentials/{name}" in text


def test_check_fails_relative_paths_in_a_service_config(tmp_path: Path) -> None:
    """The service starts in /: a model path relative to where 'edgecv check' happens to run is not found."""
    config = tmp_path / "etc" / "edgecv" / "cam.yaml"
    config.parent.mkdir(parents=True)
    config.write_text("model:\n  path: models/demo_int8.tflite\n")
    result = edgecv("check", "--config", str(config))  # run from the repository, where the path resolves
    table = rows(result.stdout)
    assert table["model"][0] == "pass"
    detail = table["files"][1]
    assert (
        table["files"][0] == "fail" and "relative paths" in detail and "model.path models/demo_int8" in detail
    )
    assert result.returncode != 0
