"""A wall-clock step (NTP setting a Pi that booted without an RTC) changes event timestamps and nothing else.

Frames carry ``ts`` (wall) and ``mono`` (monotonic); a live camera's ``ts`` jumps by hours while its ``mono``
keeps counting. The tracker measures every duration on ``mono``: a step must not end, restart, freeze or
age any track. ``tests/service/test_clock_jump.py`` checks the same through ``edgecv run`` under faketime.
"""

from __future__ import annotations

import pytest

from edgecv.config.tracker import TrackerConfig
from edgecv.track.tracker import ByteTracker

HOURS_3 = 3 * 3600.0
FPS = 10


def live_scene(tracker, dets, box, *, step_s, step_at=2.0, seconds=6.0, hide_from=None):
    """A box walking at 40 px/s, seen at 10 fps by a live camera whose wall clock steps by ``step_s`` at
    ``step_at`` seconds; hidden from ``hide_from`` on. Returns ``[(mono, event)]``."""
    wall0, mono0 = 1_700_000_000.0, 5_000.0
    out = []
    for k in range(int(seconds * FPS)):
        t = k / FPS
        ts = wall0 + t + (step_s if t >= step_at else 0.0)
        seen = hide_from is None or t < hide_from
        _, events = tracker.update(dets([box(40 * t, 0)] if seen else []), ts, mono0 + t)
        out += [(t, e) for e in events]
    return out


@pytest.mark.parametrize("step_s", [HOURS_3, -HOURS_3], ids=["+3h", "-3h"])
def test_a_wall_clock_step_neither_ends_nor_restarts_a_track(dets, box, step_s):
    events = live_scene(ByteTracker(), dets, box, step_s=step_s)
    kinds = [(e.kind, e.track_id) for _, e in events if e.kind != "update"]
    assert kinds == [("new", 1)]
    # Updates keep their rate limit across the step (a -3 h step on the wall clock froze them for 3 h).
    updates = [t for t, e in events if e.kind == "update" and t > 2.0]
    assert len(updates) >= 2


@pytest.mark.parametrize("step_s", [HOURS_3, -HOURS_3], ids=["+3h", "-3h"])
def test_a_lost_track_ends_after_lost_s_of_real_time_across_a_step(dets, box, step_s):
    tracker = ByteTracker(TrackerConfig(lost_s=1.0))
    events = live_scene(tracker, dets, box, step_s=step_s, step_at=2.0, hide_from=3.0)
    ends = [(t, e) for t, e in events if e.kind == "end"]
    assert len(ends) == 1
    t_end, end = ends[0]
    assert 4.0 <= t_end <= 4.2  # lost_s after the last sighting at 2.9 s, not 3 h early or late
    # The event reports the wall clock as it was (the step shows), and the age as it really was.
    assert end.last_seen - end.first_seen == pytest.approx(2.9 + step_s)
    assert end.age == pytest.approx(2.9)


def test_media_time_gives_the_same_events_whatever_the_clock_started_at(dets, box):
    # A file's frames are stamped open-time + seq / fps on both clocks: sums of an inexact frame interval
    # (0.04 s), rounded differently at every magnitude. An update due after exactly min_interval_s or an end
    # after exactly lost_s (25 frames each) must not depend on when the file was opened.
    def events_from(start: float) -> list[tuple[str, int, int]]:
        tracker = ByteTracker(TrackerConfig(lost_s=1.0))  # 25 frames; the box is hidden for 50
        out = []
        for k in range(200):
            seen = not 100 <= k < 150
            ts = start + k * 0.04
            _, events = tracker.update(dets([box(4 * k, 0)] if seen else []), ts, start + k * 0.04)
            out += [(e.kind, e.track_id, k) for e in events]
        return out

    reference = events_from(0.0)
    assert any(kind == "update" for kind, _, _ in reference)
    for start in [3.3, 1234.5678, 98765.4321, 1_795_998_840.123] + [1000 + 7.77 * i for i in range(40)]:
        assert events_from(start) == reference, start
