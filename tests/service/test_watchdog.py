"""The internal watchdog in-process: a hung inference stops the pings; a camera absent at start is retried."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

from edgecv.capture import FrameTimeout, LiveSource, open_source
from edgecv.config import SourceConfig
from edgecv.config.service import ServiceConfig
from edgecv.errors import SourceError
from edgecv.pipeline.loop import Pipeline
from edgecv.service.notify import Notifier
from edgecv.service.shutdown import close_all
from edgecv.service.watchdog import ServiceWatchdog


class _Preprocessor:
    def new_buffer(self) -> np.ndarray:
        return np.zeros((1, 8, 8, 3), np.uint8)


class HangingDetector:
    """Stands in for a model whose ``invoke()`` never returns once ``hang`` is set (a wedged accelerator)."""

    def __init__(self) -> None:
        self.preprocessor = _Preprocessor()
        self.hang = threading.Event()
        self.release = threading.Event()

    def prepare(self, image: np.ndarray, buffer: np.ndarray) -> tuple[np.ndarray, None]:
        return buffer, None

    def infer(self, tensor: np.ndarray) -> list[np.ndarray]:
        if self.hang.is_set():
            self.release.wait(60)
        return []

    def finish(self, outputs: list[np.ndarray], transform: None) -> None:
        return None


def test_pings_stop_when_inference_hangs_past_its_deadline(notify_socket, looping_clip: Path) -> None:
    source = open_source(SourceConfig(uri=str(looping_clip), loop=True, max_fps=20))
    source.open()
    detector = HangingDetector()
    pipeline = Pipeline(detector, [source], [])  # type: ignore[arg-type]
    fatal: list[str] = []
    watchdog = ServiceWatchdog(
        pipeline,
        ServiceConfig(inference_deadline_s=1.0),
        Notifier({"NOTIFY_SOCKET": str(notify_socket.path), "WATCHDOG_USEC": "400000"}),
        on_fatal=fatal.append,
    )
    runner = threading.Thread(target=pipeline.run, daemon=True)
    watchdog.start()
    runner.start()
    try:
        notify_socket.wait_for("READY", "1", timeout=30)
        time.sleep(1.0)
        assert len(notify_socket.times("WATCHDOG", "1")) >= 3
        detector.hang.set()
        deadline = time.monotonic() + 20
        while not fatal:
            assert time.monotonic() < deadline, notify_socket.statuses()
            time.sleep(0.05)
        failed_at = time.monotonic()
        time.sleep(1.0)  # two ping periods: none may come
        assert not [t for t in notify_socket.times("WATCHDOG", "1") if t > failed_at]
        assert "inference has been running" in fatal[0]
        assert notify_socket.statuses()[-1].startswith("failed: inference")
        assert watchdog.summary()["service"]["state"] == "failed"
    finally:
        detector.release.set()
        pipeline.stop()
        runner.join(10)
        watchdog.stop()
        source.close()
    assert not runner.is_alive()


class FlakyCamera:
    """A device that is absent until ``plug()``."""

    name = "camera test"

    def __init__(self) -> None:
        self.present = threading.Event()
        self.opened = False

    def plug(self) -> None:
        self.present.set()

    def open(self) -> None:
        if not self.present.is_set():
            raise SourceError("cannot open camera test: no such camera")
        self.opened = True

    def read(self) -> np.ndarray | None:
        time.sleep(0.02)
        return np.zeros((48, 64, 3), np.uint8) if self.opened else None

    def close(self) -> None:
        self.opened = False


def test_a_camera_absent_at_start_is_retried_with_retry_open() -> None:
    config = SourceConfig(uri="0", retry_open=True, reconnect_min_s=0.05, reconnect_max_s=0.2)
    camera = FlakyCamera()
    source = LiveSource(camera, config)
    source.open()  # does not raise: the grabber keeps trying
    try:
        assert source.lost_since is not None
        try:
            source.read(0.2)
            raise AssertionError("a frame from an absent camera")
        except FrameTimeout:
            pass
        camera.plug()
        frame = source.read(10)
        assert frame.image.shape == (48, 64, 3)
        assert source.lost_since is None and source.stats.reconnects == 1 and len(source.stats.outages) == 1
    finally:
        source.close()


def test_without_retry_open_an_absent_camera_fails_the_start() -> None:
    source = LiveSource(FlakyCamera(), SourceConfig(uri="0"))
    try:
        source.open()
        raise AssertionError("opened an absent camera")
    except SourceError as exc:
        assert "no such camera" in str(exc)


def test_close_all_is_bounded_by_its_deadline() -> None:
    closed: list[str] = []
    start = time.monotonic()
    late = close_all(
        [("stuck broker", lambda: time.sleep(10)), ("camera", lambda: closed.append("camera"))],
        deadline=start + 0.5,
    )
    assert late == ["stuck broker"] and closed == ["camera"]
    assert time.monotonic() - start < 1.5
