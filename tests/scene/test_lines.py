"""Line crossing semantics on hand-built trajectories: sign, hysteresis, settling, extent, lost-and-returned."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from edgecv.config.tracker import TrackerConfig
from edgecv.detections import Detections
from edgecv.scene.events import SceneEvent
from edgecv.scene.lines import IN, OUT, LineRule, Lines
from edgecv.track.tracker import ByteTracker

from .helpers import person, tracked

DOOR = np.array([[240, 90], [240, 360]], np.float32)  # drawn top to bottom: in = towards the left


def run(lines: Lines, xs: list[float], y: float = 200.0, track_id: int = 1) -> list[tuple[str, str | None]]:
    """One observation per 0.1 s (10 fps)."""
    out = []
    for k, x in enumerate(xs):
        for e in lines.update(tracked([person(x, y)], [track_id]), ts=k / 10):
            out.append((e.rule, e.direction))
    return out


def test_top_to_bottom_line_counts_leftward_as_in() -> None:
    lines = Lines([LineRule("door", DOOR)], num_classes=1)
    assert run(lines, [300, 280, 260, 230, 210, 190]) == [("door", "in")]
    assert lines.counts[0, IN, 0] == 1 and lines.counts[0, OUT, 0] == 0


def test_rightward_is_out_and_reversed_line_swaps_direction() -> None:
    lines = Lines([LineRule("door", DOOR), LineRule("back", DOOR[::-1].copy())], num_classes=1)
    assert run(lines, [190, 210, 230, 260, 280, 300]) == [("door", "out"), ("back", "in")]


def test_sign_formula_matches_issue() -> None:
    # (x2-x1)(y-y1) - (y2-y1)(x-x1) > 0 is "in", for an arbitrary diagonal line.
    pts = np.array([[100, 100], [300, 250]], np.float32)
    (x1, y1), (x2, y2) = pts
    lines = Lines([LineRule("d", pts)], num_classes=1)
    start, end = (250, 120), (150, 230)
    assert (x2 - x1) * (end[1] - y1) - (y2 - y1) * (end[0] - x1) > 0
    events = []
    for k, t in enumerate(np.linspace(0, 1, 12)):
        x, y = start[0] + t * (end[0] - start[0]), start[1] + t * (end[1] - start[1])
        events += lines.update(tracked([person(x, y)], [3]), ts=float(k))
    assert [(e.direction, e.track_id) for e in events] == [("in", 3)]


def test_jitter_over_the_line_counts_once() -> None:
    lines = Lines([LineRule("door", DOOR)], num_classes=1)
    # margin 0.1 x 60 px height = 6 px band; the anchor wobbles +-4 px around x = 240 many times.
    wobble = [244, 236, 243, 237, 244, 236, 245, 235]
    assert run(lines, [300, 270, *wobble, 220, 200]) == [("door", "in")]


def test_jitter_without_a_real_crossing_counts_nothing() -> None:
    lines = Lines([LineRule("door", DOOR)], num_classes=1)
    assert run(lines, [300, 260, 244, 236, 244, 237, 250, 280]) == []


def test_crossing_back_counts_both_ways() -> None:
    lines = Lines([LineRule("door", DOOR)], num_classes=1)
    assert run(lines, [300, 260, 220, 200, 220, 260, 300]) == [("door", "in"), ("door", "out")]


def test_crossing_outside_the_segment_extent_is_not_counted() -> None:
    lines = Lines([LineRule("door", DOOR)], num_classes=1)
    assert run(lines, [300, 260, 220, 200], y=420) == []  # below the segment's lower end (y = 360)
    # and the side it reached counts: coming back through the segment is an out.
    lines2 = Lines([LineRule("door", DOOR)], num_classes=1)
    events = []
    for k, (x, y) in enumerate([(300, 420), (200, 420), (200, 200), (300, 200)]):
        events += lines2.update(tracked([person(x, y)], [1]), ts=float(k))
    assert [e.direction for e in events] == ["out"]


def test_lost_on_one_side_returned_on_the_other_counts() -> None:
    lines = Lines([LineRule("door", DOOR)], num_classes=1)
    events = lines.update(tracked([person(300, 200)], [7]), ts=0.0)
    for k in range(1, 5):  # track 7 unseen (occluded); another track elsewhere
        events += lines.update(tracked([person(400, 100)], [8]), ts=float(k))
    events += lines.update(tracked([person(180, 210)], [7]), ts=5.0)
    assert [(e.track_id, e.direction) for e in events] == [(7, "in")]


def test_many_tracks_and_lines_at_once_and_classes() -> None:
    horizontal = np.array([[0, 200], [640, 200]], np.float32)  # left to right: in = downwards
    lines = Lines(
        [LineRule("door", DOOR, class_ids=(0,)), LineRule("road", horizontal, class_ids=(2,))], num_classes=3
    )
    events = []
    for k in range(8):
        boxes = [person(300 - 20 * k, 150), person(100, 160 + 10 * k), person(500, 160 + 10 * k)]
        events += lines.update(tracked(boxes, [1, 2, 3], classes=[0, 2, 0]), ts=float(k))
    assert sorted((e.rule, e.track_id, e.direction) for e in events) == [("door", 1, "in"), ("road", 2, "in")]
    assert lines.counts[1, IN, 2] == 1 and lines.counts.sum() == 2


def test_ended_tracks_are_forgotten() -> None:
    lines = Lines([LineRule("door", DOOR)], num_classes=1)
    run(lines, [300, 280], track_id=4)
    assert lines.end(np.array([4]), ts=1.0) == []
    assert len(lines.table) == 0 and lines.side.shape == (0, 1)


def test_untracked_detections_are_ignored() -> None:
    lines = Lines([LineRule("door", DOOR)], num_classes=1)
    for k, x in enumerate([300, 260, 220, 200]):
        assert lines.update(tracked([person(x, 200)], [-1]), ts=float(k)) == []


def test_equal_points_are_refused() -> None:
    with pytest.raises(ValueError, match="two distinct points"):
        Lines([LineRule("bad", np.array([[1, 1], [1, 1]], np.float32))], num_classes=1)


def test_shallow_crossing_counts_once_when_it_settles() -> None:
    lines = Lines([LineRule("door", DOOR)], num_classes=1)
    # The band is 6 px; the feet stop 3 px past the line and stay (0.3 s settles it), then wobble there.
    events = run(lines, [300, 270, 250, 237, 237, 238, 237, 236, 238, 237, 239])
    assert events == [("door", "in")]
    assert lines.counts[0, IN, 0] == 1


def test_jitter_shorter_than_settling_counts_nothing_and_then_once() -> None:
    lines = Lines([LineRule("door", DOOR)], num_classes=1)
    # Over the line for 0.2 s at a time (two frames), back, again: no crossing has settled ...
    assert run(lines, [300, 260, 238, 238, 242, 238, 238, 243, 244]) == []
    # ... a crossing that settles after the jitter is one crossing.
    lines = Lines([LineRule("door", DOOR)], num_classes=1)
    assert run(lines, [300, 260, 238, 238, 242, 238, 238, 243, 238, 238, 238, 238, 230]) == [("door", "in")]


def test_track_ending_just_over_the_line_counts_with_its_crossing_time() -> None:
    lines = Lines([LineRule("door", DOOR)], num_classes=1)
    assert run(lines, [300, 270, 250, 238], track_id=5) == []  # over the line at 0.3 s, then gone
    events = lines.end(np.array([5]), ts=9.0)
    assert [(e.track_id, e.direction, e.ts) for e in events] == [(5, "in", 0.3)]
    assert lines.counts[0, IN, 0] == 1 and len(lines.table) == 0


def test_track_ending_on_its_counted_side_counts_nothing_more() -> None:
    lines = Lines([LineRule("door", DOOR)], num_classes=1)
    assert run(lines, [300, 260, 220, 200], track_id=6) == [("door", "in")]
    assert lines.end(np.array([6]), ts=9.0) == []
    assert lines.counts.sum() == 1


def test_track_first_seen_on_the_line_counts_only_a_crossing_from_there() -> None:
    lines = Lines([LineRule("door", DOOR)], num_classes=1)
    # first seen 1 px on the out side: that is its side; walking in from there is one crossing.
    assert run(lines, [241, 239, 230, 210]) == [("door", "in")]


def _walk_through_tracker(
    xs: list[float], scores: list[float], confirm_hits: int = 2
) -> tuple[Lines, list[SceneEvent]]:
    """A walker seen by a real ByteTracker (10 fps); the lines are told where tracks began."""
    tracker = ByteTracker(TrackerConfig(confirm_hits=confirm_hits))
    lines = Lines([LineRule("door", DOOR)], num_classes=1)
    events = []
    for k, (x, score) in enumerate(zip(xs, scores, strict=True)):
        d = Detections(
            np.array([person(x, 200, w=60, h=120)], np.float32),
            np.array([score], np.float32),
            np.zeros(1, np.int32),
        )
        out, ended = tracker.update(d, ts=k / 10)
        events += lines.update(out, ts=k / 10, origins=tracker.origins)
        events += lines.end(np.array([e.track_id for e in ended if e.kind == "end"], np.int64), ts=k / 10)
    events += lines.end(np.array([e.track_id for e in tracker.finish(len(xs) / 10)], np.int64), len(xs) / 10)
    return lines, events


def test_crossing_while_tentative_counts_once_confirmed_with_its_own_time() -> None:
    # confirm_hits 4: the walker is tentative for its first three frames, and crosses (x 250 -> 230)
    # between the second (0.1 s) and the third (0.2 s) of them.
    lines, events = _walk_through_tracker([270, 250, 230, 210, 190, 170], [0.9] * 6, confirm_hits=4)
    assert [(e.direction, e.rule) for e in events] == [("in", "door")]
    assert lines.counts[0, IN, 0] == 1
    # the crossing's own time, between the track's first detection and its confirmation (0.3 s), not 0.3 s
    assert 0.0 < events[0].ts < 0.3


def test_without_origins_a_crossing_while_tentative_is_lost() -> None:
    # what the origins fix: the same walker, the lines told nothing, start at the confirmed position
    tracker = ByteTracker(TrackerConfig(confirm_hits=4))
    lines = Lines([LineRule("door", DOOR)], num_classes=1)
    events = []
    for k, x in enumerate([270, 250, 230, 210, 190, 170]):
        d = Detections(
            np.array([person(x, 200, w=60, h=120)], np.float32),
            np.full(1, 0.9, np.float32),
            np.zeros(1, np.int32),
        )
        events += lines.update(tracker.update(d, ts=k / 10)[0], ts=k / 10)
    assert events == []


def test_never_confirmed_never_counts() -> None:
    # a detection that crosses but is seen only every other frame: its tentative track dies on each miss
    xs = [270, 250, 230, 210, 190, 170]
    tracker = ByteTracker(TrackerConfig(confirm_hits=2))
    lines = Lines([LineRule("door", DOOR)], num_classes=1)
    events = []
    for k, x in enumerate(xs):
        boxes = np.array(
            [person(x, 200, w=60, h=120)] if k % 2 == 0 else np.zeros((0, 4)), np.float32
        ).reshape(-1, 4)
        d = Detections(boxes, np.full(len(boxes), 0.9, np.float32), np.zeros(len(boxes), np.int32))
        out, _ = tracker.update(d, ts=k / 10)
        events += lines.update(out, ts=k / 10, origins=tracker.origins)
    events += lines.end(np.array([e.track_id for e in tracker.finish(1.0)], np.int64), 1.0)
    assert events == [] and lines.counts.sum() == 0


def test_track_confirmed_after_crossing_and_walking_on_counts_once() -> None:
    # confirmed two frames after the crossing, then it goes on walking far from the line: one crossing
    lines, events = _walk_through_tracker([250, 235, 215, 195, 175, 155, 135, 115], [0.9] * 8, confirm_hits=3)
    assert [e.direction for e in events] == ["in"] and lines.counts.sum() == 1


def test_origin_unknown_to_the_tracker_starts_where_first_seen() -> None:
    lines = Lines([LineRule("door", DOOR)], num_classes=1)

    def nowhere(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.full((ids.size, 4), np.nan, np.float32), np.full(ids.size, np.nan)

    events = []
    for k, x in enumerate([230, 210, 190]):
        events += lines.update(tracked([person(x, 200)], [1]), ts=k / 10, origins=nowhere)
    assert events == []


def test_shallow_crossing_ended_by_the_tracker_counts_once() -> None:
    # feet 3 px past the line (inside the 6 px band), then the person is gone: the track's end counts it
    lines, events = _walk_through_tracker([300, 280, 260, 245, 237], [0.9] * 5)
    assert [e.direction for e in events] == ["in"] and lines.counts.sum() == 1


def test_shallow_crossing_settles_after_half_a_second_not_before() -> None:
    # 3 px over the line (inside the 6 px band) from 0.2 s: still nothing at 0.6 s, counted at 0.7 s
    lines = Lines([LineRule("door", DOOR)], num_classes=1)
    assert run(lines, [300, 270, 237, 237, 237, 237, 237]) == []
    lines = Lines([LineRule("door", DOOR)], num_classes=1)
    events = []
    for k, x in enumerate([300, 270, 237, 237, 237, 237, 237, 237]):
        events += lines.update(tracked([person(x, 200)], [1]), ts=k / 10)
    assert [(e.direction, e.ts) for e in events] == [("in", 0.2)]  # stamped when the path crossed


def test_side_read_between_frames_and_tracks_coming_and_going() -> None:
    lines = Lines([LineRule("door", DOOR)], num_classes=1)
    events = []
    for k, x in enumerate([300, 280, 260, 230, 200, 180]):
        ids = [1] if k % 2 == 0 else [1, 2]  # another track comes and goes every other frame
        boxes = [person(x, 200), person(400, 100)][: len(ids)]
        events += lines.update(tracked(boxes, ids), ts=k / 10)
        if k == 2:
            assert lines.side.tolist()[0] == [-1]  # still out, read from the state while it is in use
    assert [(e.track_id, e.direction) for e in events] == [(1, "in")]
    assert lines.side.tolist()[0] == [1]


def _observe(
    lines: Lines, frames: Sequence[Sequence[tuple[int, float]]], origins: bool = True
) -> list[tuple[int, str | None]]:
    """``frames``: per 0.1 s frame, the (track id, anchor x) seen (y 200, boxes 60 px tall); each track's
    origin is its first observation. Returns (track id, direction) per crossing; every track ends at the end."""
    first: dict[int, tuple[list[float], float]] = {}

    def where_began(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        boxes = np.array([first[int(i)][0] for i in ids], np.float32).reshape(-1, 4)
        return boxes, np.array([first[int(i)][1] for i in ids])

    events: list[SceneEvent] = []
    for k, seen in enumerate(frames):
        for track_id, x in seen:
            first.setdefault(track_id, (person(x, 200), k / 10))
        dets = tracked([person(x, 200) for _, x in seen], [i for i, _ in seen])
        events += lines.update(dets, ts=k / 10, origins=where_began if origins else None)
    events += lines.end(np.array(sorted(first), np.int64), ts=len(frames) / 10)
    return [(e.track_id, e.direction) for e in events]


def test_crossing_while_the_id_changes_counts_once_for_the_new_id() -> None:
    # track 1 walks in towards the door and vanishes 12 px short of it; one frame later track 2 is first
    # detected 14 px past it (within 0.3 x 60 px of where 1 was last seen) and walks on: one crossing
    frames = [[(1, 300)], [(1, 275)], [(1, 252)], [(2, 238)], [(2, 220)], [(2, 200)]]
    assert _observe(Lines([LineRule("door", DOOR)], num_classes=1), frames) == [(2, "in")]
    # without the tracker's origins a new track's side starts where it is first seen: nothing counted
    assert _observe(Lines([LineRule("door", DOOR)], num_classes=1), frames, origins=False) == []


def test_id_change_after_a_shallow_crossing_counts_once() -> None:
    # track 1 ends 3 px over the line (unsettled); track 2 takes over there: one crossing, not one per id
    frames = [[(1, 300)], [(1, 270)], [(1, 250)], [(1, 237)], [(2, 235)], [(2, 215)], [(2, 195)]]
    lines = Lines([LineRule("door", DOOR)], num_classes=1)
    assert _observe(lines, frames) == [(2, "in")] and lines.counts.sum() == 1


def test_new_track_far_from_where_another_vanished_starts_its_own_side() -> None:
    # 40 px apart (more than 0.3 x 60 px): two people, no crossing
    frames = [[(1, 300)], [(1, 275)], [(1, 260)], [(2, 220)], [(2, 200)], [(2, 180)]]
    assert _observe(Lines([LineRule("door", DOOR)], num_classes=1), frames) == []


def test_new_track_long_after_another_vanished_starts_its_own_side() -> None:
    # the same place, but 0.7 s after track 1 was last seen (more than 0.5 s)
    frames = [[(1, 300)], [(1, 275)], [(1, 252)], [], [], [], [], [], [(2, 238)], [(2, 220)], [(2, 200)]]
    assert _observe(Lines([LineRule("door", DOOR)], num_classes=1), frames) == []


def test_two_tracks_seen_together_are_never_joined() -> None:
    # track 2 is first detected beside track 1 (both in one frame): two people, whatever happens next
    frames = [[(1, 300)], [(1, 275)], [(1, 252), (2, 238)], [(2, 220)], [(2, 200)]]
    assert _observe(Lines([LineRule("door", DOOR)], num_classes=1), frames) == []


def test_track_that_handed_its_state_on_and_returns_counts_no_crossing_twice() -> None:
    # track 1 vanishes near the line, track 2 takes over and crosses; track 1 then reappears on its own
    # side and stays: only track 2's crossing counts (1's last observation was handed on)
    frames = [[(1, 300)], [(1, 275)], [(1, 252)], [(2, 238)], [(2, 220), (1, 300)], [(2, 200), (1, 300)]]
    lines = Lines([LineRule("door", DOOR)], num_classes=1)
    assert _observe(lines, frames) == [(2, "in")] and lines.counts.sum() == 1
