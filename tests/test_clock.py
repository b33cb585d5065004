"""Is the wall clock synchronised? Asked of files and chrony, never of adjtimex (the unit forbids it)."""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

import pytest

from edgecv.clock import ClockState, ClockWatch, check_clock, chrony_synced

NOW_2026 = time.mktime((2026, 6, 1, 12, 0, 0, 0, 0, 0))
NOW_2020 = time.mktime((2020, 6, 1, 12, 0, 0, 0, 0, 0))


def check(tmp_path: Path, *, now: float = NOW_2026, flag: bool = False, dir_: bool = False, chrony=None):
    timesync = Path(tempfile.mkdtemp(dir=tmp_path)) / "timesync"  # a fresh machine per question
    if dir_ or flag:
        timesync.mkdir(exist_ok=True)
    if flag:
        (timesync / "synchronized").touch()
    return check_clock(now=lambda: now, flag=timesync / "synchronized", chrony=lambda: chrony, built=2025)


def test_the_order_of_the_questions(tmp_path: Path) -> None:
    # A year before the build is wrong, whatever a flag says.
    assert check(tmp_path, now=NOW_2020, flag=True).synced is False
    assert "2020" in check(tmp_path, now=NOW_2020).how
    assert check(tmp_path, flag=True, chrony=False).synced is True
    assert check(tmp_path, chrony=False).synced is False
    assert check(tmp_path, chrony=True).synced is True
    assert check(tmp_path, dir_=True).synced is False  # timesyncd runs, not synchronised yet
    assert check(tmp_path) == ClockState(None, "no time service found")


def fake_chronyc(tmp_path: Path, leap: str, rc: int = 0) -> str:
    script = tmp_path / "chronyc"
    line = f"A9FEA9FE,169.254.169.254,3,1700000000.0,0.0,0.0,0.0,1.0,0.0,0.1,0.01,0.01,64.0,{leap}"
    script.write_text(f"#!/bin/sh\necho '{line}'\nexit {rc}\n")
    script.chmod(0o755)
    return str(script)


def test_chrony_leap_status(tmp_path: Path) -> None:
    assert chrony_synced(fake_chronyc(tmp_path, "Normal")) is True
    assert chrony_synced(fake_chronyc(tmp_path, "Not synchronised")) is False
    assert chrony_synced(fake_chronyc(tmp_path, "Normal", rc=1)) is None  # chronyd not running
    assert chrony_synced(str(tmp_path / "missing")) is None


def test_watch_logs_once_and_again_only_on_recovery(caplog: pytest.LogCaptureFixture) -> None:
    answers = [ClockState(False, "x")] * 3 + [ClockState(True, "y")]
    watch = ClockWatch(lambda: answers.pop(0), refresh_s=0.0)
    with caplog.at_level(logging.INFO, logger="edgecv.clock"):
        assert [watch.synced for _ in range(4)] == [False, False, False, True]
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert "not synchronised (x)" in messages[0] and "synchronised now (y)" in messages[1]


def test_watch_keeps_its_answer_for_refresh_s() -> None:
    calls = []
    watch = ClockWatch(lambda: calls.append(1) or ClockState(True, "t"), refresh_s=3600)
    assert watch.synced and watch.synced and len(calls) == 1
