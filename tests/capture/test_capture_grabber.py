"""The grabber and live sources, driven by a scriptable fake device (no camera needed)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from edgecv.capture import FrameTimeout, LiveSource
from edgecv.capture.grabber import Backoff, LatestFrameGrabber
from edgecv.capture.pacing import Pacer
from edgecv.capture.stats import SourceStats
from edgecv.config.sections import SourceConfig
from edgecv.errors import SourceError
from edgecv.frame import Frame


def stamp(number: int) -> np.ndarray:
    """A 1×1 BGR image carrying ``number`` in its three bytes."""
    return np.frombuffer(number.to_bytes(3, "big"), np.uint8).reshape(1, 1, 3).copy()


def number_of(frame: Frame) -> int:
    return int.from_bytes(frame.image.tobytes(), "big")


class FakeDevice:
    """Delivers numbered frames every ``period`` s. ``dark`` makes reads fail until a successful reopen
    (``cured_by_reopen``); ``open_failures`` fails that many upcoming opens."""

    name = "fake camera"

    def __init__(self, period: float = 0.001, *, read_block_s: float = 0.0) -> None:
        self.period = period
        self.read_block_s = read_block_s
        self.dark = threading.Event()
        self.cured_by_reopen = True
        self.open_failures = 0
        self.read_errors = 0  # upcoming reads that raise, as a misbehaving driver would
        self.produced = 0
        self.opens: list[float] = []
        self.closes = 0
        self.is_open = False

    def open(self) -> None:
        self.opens.append(time.monotonic())
        if self.open_failures:
            self.open_failures -= 1
            raise SourceError("fake camera is unplugged", "plug it in")
        if self.cured_by_reopen:
            self.dark.clear()
        self.is_open = True

    def read(self) -> np.ndarray | None:
        assert self.is_open, "read from a closed device"
        time.sleep(self.read_block_s or self.period)
        if self.read_errors:
            self.read_errors -= 1
            raise RuntimeError("driver hiccup")
        if self.dark.is_set():
            return None
        self.produced += 1
        return stamp(self.produced)

    def close(self) -> None:
        self.closes += 1
        self.is_open = False


def config(**overrides: object) -> SourceConfig:
    values: dict[str, object] = {"read_timeout_s": 0.05, "reconnect_min_s": 0.02, "reconnect_max_s": 0.04}
    values.update(overrides)
    return SourceConfig(**values)


def read_until_frame(source: LiveSource, budget_s: float = 3.0) -> Frame:
    """Read through FrameTimeouts (the source is reconnecting) until a frame comes."""
    deadline = time.monotonic() + budget_s
    while time.monotonic() < deadline:
        try:
            return source.read(0.05)
        except FrameTimeout:
            continue
    raise AssertionError("no frame within the budget")


def test_backoff_doubles_up_to_max_then_runs_out() -> None:
    backoff = Backoff(0.5, 3.0, attempts=5)
    assert [backoff.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 3.0, 3.0, None]
    backoff.reset()
    assert backoff.next_delay() == 0.5
    forever = Backoff(1.0, 4.0)
    assert [forever.next_delay() for _ in range(50)][-1] == 4.0


def test_pacer_holds_a_ceiling_without_bursts() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        now[0] += seconds

    pacer = Pacer(10, clock=lambda: now[0], sleep=sleep)
    pacer.wait()  # first call never waits
    now[0] += 0.03
    pacer.wait()  # 0.07 early
    now[0] += 0.5  # a slow reader: no catching up afterwards
    pacer.wait()
    pacer.wait()
    assert slept == [0.07, 0.1]
    Pacer(None, sleep=lambda s: pytest.fail("unpaced")).wait()


def test_keeps_only_the_newest_frame_and_counts_drops() -> None:
    device = FakeDevice(period=0.001)
    with LiveSource(device, config(read_timeout_s=5.0), source_id="cam") as source:
        frames = []
        for _ in range(5):
            time.sleep(0.03)  # a slow detector
            frames.append(source.read(1.0))
            lag = device.produced - number_of(frames[-1])
            assert lag <= 15, f"handed out a frame {lag} frames old"  # a queue would lag ~30 more per read
        numbers = [number_of(f) for f in frames]
        assert numbers == sorted(set(numbers)) and numbers[-1] - numbers[0] > 4  # frames were skipped
        assert [f.seq for f in frames] == [0, 1, 2, 3, 4]
        assert all(f.source_id == "cam" for f in frames)
        assert source.stats.dropped > 0 and source.stats.frames == 5
    # Every captured frame was either handed out, dropped, or is the one still in the slot.
    accounted = source.stats.frames + source.stats.dropped
    assert device.produced - 1 <= accounted <= device.produced
    stamps = [f.ts for f in frames]
    assert stamps == sorted(stamps) and abs(stamps[-1] - time.time()) < 1.0


def test_read_never_returns_the_same_frame_twice() -> None:
    device = FakeDevice(period=0.02)
    with LiveSource(device, config(read_timeout_s=5.0)) as source:
        numbers = [number_of(source.read(1.0)) for _ in range(5)]
    assert numbers == sorted(set(numbers))


def test_no_frame_within_timeout_raises_frame_timeout() -> None:
    device = FakeDevice()
    device.dark.set()
    device.cured_by_reopen = False
    with LiveSource(device, config(read_timeout_s=30.0)) as source:
        start = time.monotonic()
        with pytest.raises(FrameTimeout, match=r"no new frame from fake camera within 0\.1 s") as info:
            source.read(0.1)
        assert 0.09 <= time.monotonic() - start < 1.0
    assert isinstance(info.value, SourceError)  # an unhandled timeout still reads as a source error


def test_reconnects_with_backoff_and_records_the_outage() -> None:
    device = FakeDevice()
    with LiveSource(device, config()) as source:
        source.read(1.0)
        device.open_failures = 2
        lost_at = time.monotonic()
        device.dark.set()  # the camera goes away; two reopen attempts fail, the third works
        frame = read_until_frame(source)
        assert number_of(frame) > 0
        stats = source.stats
        assert stats.reconnects == 1
        assert len(stats.outages) == 1
        # read timeout 0.05, then delays 0.02, 0.04, 0.04 (capped) before the successful open
        assert 0.14 <= stats.outages[0] <= time.monotonic() - lost_at + 0.01
        assert stats.failures >= 3  # two failed opens and at least one failed read
        attempts = device.opens[1:]
        assert len(attempts) == 3
        assert np.all(np.diff(attempts) >= 0.04 * 0.95)  # the delay doubled from 0.02 and was capped at 0.04
        # Streaming again.
        assert number_of(source.read(1.0)) > number_of(frame)


def test_gives_up_after_reconnect_attempts_with_a_clear_error() -> None:
    device = FakeDevice()
    with LiveSource(device, config(reconnect_attempts=2)) as source:
        source.read(1.0)
        device.open_failures = 1000
        device.dark.set()
        start = time.monotonic()
        with pytest.raises(SourceError) as info:
            while time.monotonic() - start < 3.0:
                try:
                    source.read(0.05)
                except FrameTimeout:
                    continue
        error = info.value
        assert not isinstance(error, FrameTimeout)
        assert "lost fake camera and could not get it back after 2 reconnect attempts" in str(error)
        assert "fake camera is unplugged" in str(error)
        assert "source.reconnect_attempts" in str(error)
        assert len(device.opens) == 3  # the first open and two attempts
        with pytest.raises(SourceError, match="after 2 reconnect attempts"):
            source.read(0.05)  # stays failed
        assert source.stats.reconnects == 0 and source.stats.outages == []


def test_a_device_that_opens_but_stays_dark_uses_up_attempts() -> None:
    device = FakeDevice()
    device.cured_by_reopen = False
    with LiveSource(device, config(reconnect_attempts=2)) as source:
        source.read(1.0)
        device.dark.set()
        with pytest.raises(SourceError, match=r"after 2 reconnect attempts \(last: no frames\)"):
            for _ in range(60):
                try:
                    source.read(0.05)
                except FrameTimeout:
                    continue


def test_raising_reads_are_failures_not_a_dead_thread() -> None:
    device = FakeDevice()
    device.read_errors = 3
    with LiveSource(device, config(read_timeout_s=5.0)) as source:
        source.read(1.0)
        assert source.stats.failures == 3
        assert source.stats.reconnects == 0 and len(device.opens) == 1


def test_max_fps_skips_frames_of_a_live_source() -> None:
    device = FakeDevice(period=0.002)
    with LiveSource(device, config(read_timeout_s=5.0, max_fps=20)) as source:
        start = time.monotonic()
        for _ in range(6):
            source.read(1.0)
        elapsed = time.monotonic() - start
        assert elapsed >= 5 / 20 * 0.95
        assert source.stats.dropped > 0


def test_close_stops_the_thread_promptly() -> None:
    device = FakeDevice()
    source = LiveSource(device, config())
    source.open()
    source.read(1.0)
    start = time.monotonic()
    source.close()
    assert time.monotonic() - start < 0.5
    assert not any(t.name == "grab fake camera" for t in threading.enumerate())
    assert not device.is_open
    source.close()  # idempotent
    with pytest.raises(SourceError, match="not open"):
        source.read(0.1)
    with pytest.raises(SourceError, match="was closed"):
        source.open()


def test_close_interrupts_a_long_backoff_wait() -> None:
    device = FakeDevice()
    with LiveSource(device, config(reconnect_min_s=30.0, reconnect_max_s=60.0)) as source:
        source.read(1.0)
        device.open_failures = 1000
        device.dark.set()
        deadline = time.monotonic() + 2.0
        while device.closes == 0 and time.monotonic() < deadline:  # until it is waiting to reopen
            time.sleep(0.01)
        assert device.closes >= 1
        start = time.monotonic()
    assert time.monotonic() - start < 0.5


def test_a_read_stuck_in_the_driver_is_left_to_finish_as_a_daemon() -> None:
    device = FakeDevice(read_block_s=0.3)
    grabber = LatestFrameGrabber(device, SourceStats(), read_timeout_s=5.0, backoff=Backoff(0.1, 1.0))
    device.open()
    grabber.start()
    assert grabber.stop(timeout=0.05) is False  # still inside read()
    assert grabber._thread is not None and grabber._thread.daemon
    grabber._thread.join(2.0)
    assert not grabber.alive and not device.is_open  # it closed the device itself on the way out


def test_open_failure_surfaces_from_open_and_starts_no_thread() -> None:
    device = FakeDevice()
    device.open_failures = 1
    source = LiveSource(device, config())
    with pytest.raises(SourceError, match="fake camera is unplugged"):
        source.open()
    assert not any(t.name == "grab fake camera" for t in threading.enumerate())
    source.close()
