"""A multi-camera instance: ``edgecv service install --camera``, the shipped example and ``edgecv check``."""

from __future__ import annotations

from pathlib import Path

import yaml

from edgecv.config import load_settings

from ..cli.helpers import edgecv, error_line

REPO = Path(__file__).resolve().parents[2]


def rows(stdout: str) -> dict[str, tuple[str, str]]:
    out = {}
    for line in stdout.splitlines()[1:]:
        name, outcome, detail = line.split(None, 2)
        out[name] = (outcome, detail)
    return out


def test_install_writes_a_cameras_map_and_the_example(tmp_path: Path) -> None:
    exe = tmp_path / "venv" / "bin" / "edgecv"
    result = edgecv(
        "service", "install", "--instance", "shop", "--root", str(tmp_path), "--exec", str(exe),
        "--camera", "front=rtsp://cam.local/stream1", "--camera", "garage=0",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    config = tmp_path / "etc/edgecv/shop.yaml"
    settings = load_settings(config, environ={})
    cameras = settings.camera_sections()
    assert list(cameras) == ["front", "garage"]
    assert cameras["front"].source.uri == "rtsp://cam.local/stream1" and cameras["garage"].source.uri == "0"
    assert all(c.source.retry_open for c in cameras.values())  # a camera absent at boot is retried
    assert "source" not in yaml.safe_load(config.read_text())  # the shorthand stays commented out
    unit = (tmp_path / "etc/systemd/system/edgecv@.service").read_text()
    assert "Environment=EDGECV_SOURCE__" not in unit  # it would be an error beside the cameras map
    example = tmp_path / "etc/edgecv/cameras.yaml.example"
    assert example.read_text() == (REPO / "systemd" / "cameras.yaml.example").read_text()


def test_the_shipped_example_is_a_valid_config() -> None:
    settings = load_settings(REPO / "systemd" / "cameras.yaml.example", environ={})
    cameras = settings.camera_sections()
    assert list(cameras) == ["front", "garage", "yard"]
    assert cameras["front"].detect.classes == ["person", "car"] and cameras["front"].detect.conf == 0.5
    assert (
        cameras["garage"].detect.conf == 0.6 and cameras["garage"].detect.classes == settings.detect.classes
    )
    assert cameras["yard"].tracker.lost_s == 2.0 and cameras["yard"].tracker.high_score == 0.5


def test_install_rejects_a_bad_camera(tmp_path: Path) -> None:
    for spec, expected in (
        ("front", "--camera takes NAME=URI"),
        ("Front-Door=0", "[a-z0-9_]+"),
        ("state=0", "reserved"),
    ):
        result = edgecv("service", "install", "--dry-run", "--root", str(tmp_path), "--camera", spec)
        assert result.returncode == 2 and expected in error_line(result), result.stderr
    twice = edgecv(
        "service", "install", "--dry-run", "--root", str(tmp_path), "--camera", "a=0", "--camera", "a=1"
    )
    assert twice.returncode == 2 and "given twice" in error_line(twice)


def test_check_has_a_row_per_camera(tmp_path: Path, detector_model: Path, looping_clip: Path) -> None:
    config = tmp_path / "cameras.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "model": {"path": str(detector_model), "threads": 1},
                "cameras": {
                    "door": {"source": {"uri": str(looping_clip)}},
                    "gone": {"source": {"uri": "/dev/video99"}},
                },
            }
        )
    )
    result = edgecv("check", "--config", str(config))
    table = rows(result.stdout)
    assert table["cameras.door"][0] == "pass" and "320x240 frame" in table["cameras.door"][1]
    assert table["cameras.gone"][0] == "fail" and "camera /dev/video99" in table["cameras.gone"][1]
    assert table["model"][0] == "pass" and "source" not in table
    assert result.returncode == 1  # a camera that cannot be opened is not an input error
