"""The Pi camera adapter, through a stand-in ``picamera2`` module with the real one's API."""

from __future__ import annotations

import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from edgecv.capture import FrameTimeout, LiveSource, open_source
from edgecv.config.sections import SourceConfig
from edgecv.errors import SourceError


class StandInPicamera2:
    """Mimics ``picamera2.Picamera2``: the calls edgecv makes, with the real signatures.

    Class attributes script a run: ``fail_captures`` (upcoming ``capture_array`` calls that raise, as a camera
    whose cable came loose does), ``fail_opens`` (upcoming constructions that raise, as for a missing camera).
    """

    instances: ClassVar[list[StandInPicamera2]] = []
    fail_captures = 0
    fail_opens = 0
    frames_before_failure: int | None = None

    def __init__(self, camera_num: int = 0, tuning: Any = None) -> None:
        if StandInPicamera2.fail_opens:
            StandInPicamera2.fail_opens -= 1
            raise IndexError("list index out of range")  # what picamera2 raises for a missing camera
        self.camera_num = camera_num
        self.config: dict[str, Any] | None = None
        self.started = False
        self.stopped = False
        self.closed = False
        self.captured = 0
        StandInPicamera2.instances.append(self)

    def create_video_configuration(self, main: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        main = {"format": "XBGR8888", "size": (1280, 720), **(main or {})}
        return {"use_case": "video", "main": main, "buffer_count": 6, **kwargs}

    def configure(self, config: dict[str, Any]) -> None:
        self.config = config

    def start(self) -> None:
        assert self.config is not None, "start() before configure()"
        self.started = True

    def capture_array(self, name: str = "main") -> np.ndarray:
        assert self.started and not self.closed
        time.sleep(0.002)
        limit = StandInPicamera2.frames_before_failure
        if limit is not None and self.captured >= limit and StandInPicamera2.fail_captures:
            StandInPicamera2.fail_captures -= 1
            raise RuntimeError("Camera frontend has timed out!")
        assert self.config is not None
        width, height = self.config["main"]["size"]
        self.captured += 1
        # "RGB888" is B, G, R in memory: a blue-ish test pattern stays blue for OpenCV.
        image = np.zeros((height, width, 3), np.uint8)
        image[..., 0] = 200
        return image

    def stop(self) -> None:
        self.stopped = True

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def picamera2(monkeypatch: pytest.MonkeyPatch) -> type[StandInPicamera2]:
    StandInPicamera2.instances = []
    StandInPicamera2.fail_captures = 0
    StandInPicamera2.fail_opens = 0
    StandInPicamera2.frames_before_failure = None
    module = types.ModuleType("picamera2")
    module.Picamera2 = StandInPicamera2  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "picamera2", module)
    return StandInPicamera2


def test_picamera2_uri_opens_that_camera_in_bgr(picamera2: type[StandInPicamera2]) -> None:
    source = open_source(SourceConfig(uri="picamera2:1", width=64, height=48), source_id="pi")
    assert isinstance(source, LiveSource) and source.live and source.name == "picamera2:1"
    with source:
        frame = source.read(1.0)
        camera = picamera2.instances[0]
        assert camera.camera_num == 1
        assert camera.config is not None
        assert camera.config["main"]["format"] == "RGB888"
        assert camera.config["main"]["size"] == (64, 48)
        assert camera.started
    assert frame.image.shape == (48, 64, 3) and frame.image.dtype == np.uint8
    assert frame.image[0, 0].tolist() == [200, 0, 0]  # handed on as captured: BGR, no conversion
    assert (frame.seq, frame.source_id) == (0, "pi")
    assert camera.stopped and camera.closed


def test_picamera2_type_without_uri_is_camera_0_at_its_default_size(
    picamera2: type[StandInPicamera2],
) -> None:
    with open_source(SourceConfig(type="picamera2")) as source:
        assert source.read(1.0).image.shape == (720, 1280, 3)
    assert picamera2.instances[0].camera_num == 0


def test_capture_failures_reopen_the_camera(picamera2: type[StandInPicamera2]) -> None:
    picamera2.frames_before_failure = 3
    picamera2.fail_captures = 5
    config = SourceConfig(uri="picamera2", read_timeout_s=0.02, reconnect_min_s=0.01, reconnect_max_s=0.02)
    with open_source(config) as source:
        got = 0
        deadline = time.monotonic() + 3.0
        while source.stats.reconnects == 0 and time.monotonic() < deadline:
            try:
                source.read(0.05)
                got += 1
            except FrameTimeout:
                continue
        assert source.stats.reconnects >= 1
        assert source.stats.failures >= 1
        assert len(source.stats.outages) == source.stats.reconnects
        first = picamera2.instances[0]
        assert first.stopped and first.closed  # released before reopening
        assert len(picamera2.instances) >= 2
        assert source.read(1.0).image.shape == (720, 1280, 3)


def test_missing_camera_is_a_clear_error(picamera2: type[StandInPicamera2]) -> None:
    picamera2.fail_opens = 1
    with pytest.raises(SourceError, match=r"cannot open picamera2:0: .*rpicam-hello --list-cameras"):
        open_source(SourceConfig(uri="picamera2")).open()


def test_missing_module_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "picamera2", None)  # makes `import picamera2` raise ImportError
    with pytest.raises(SourceError) as info:
        open_source(SourceConfig(uri="picamera2")).open()
    assert str(info.value) == (
        "picamera2 is not installed (on Raspberry Pi OS run 'sudo apt install python3-picamera2' "
        "and create the venv with --system-site-packages)"
    )


def test_the_package_imports_where_picamera2_cannot(repo_root: Path) -> None:
    # A fresh interpreter, so no earlier test has imported anything: edgecv.capture must not touch picamera2.
    code = "import sys; sys.modules['picamera2'] = None; import edgecv.capture; print('ok')"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=repo_root, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
