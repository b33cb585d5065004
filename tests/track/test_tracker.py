"""Tracker behaviour on synthetic scenes: crossings, occlusions, frame rates, ids, gating and events."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from edgecv.config.tracker import GateConfig, TrackerConfig
from edgecv.track.tracker import ByteTracker


def run_scene(tracker, frames, dets):
    """frames: list of (ts, boxes, scores, classes) → per-frame track ids and all events."""
    ids, events = [], []
    for ts, boxes, scores, classes in frames:
        out, ev = tracker.update(dets(boxes, scores, classes), ts)
        ids.append(out.track_ids.tolist())
        events += ev
    return ids, events


def walkers(fps, seconds, starts, speeds, box, hide=lambda i, t: False, score=0.9):
    frames = []
    for k in range(int(seconds * fps)):
        t = k / fps
        boxes = [
            box(x + v * t, y)
            for i, ((x, y), v) in enumerate(zip(starts, speeds, strict=True))
            if not hide(i, t)
        ]
        frames.append((t, boxes, [score] * len(boxes), [0] * len(boxes)))
    return frames


def test_ids_survive_a_crossing(dets, box):
    # Two people walk towards each other and pass, their boxes overlapping for several frames.
    frames = walkers(25, 3, [(0, 100), (300, 110)], [100, -100], box)
    ids, _ = run_scene(ByteTracker(), frames, dets)
    first = ids[5]
    assert len(set(first)) == 2 and -1 not in first
    assert ids[-1] == first  # same order of detections: left-starter first, same ids after the crossing


def test_id_kept_through_an_occlusion_shorter_than_lost_s(dets, box):
    frames = walkers(25, 3, [(0, 100)], [60], box, hide=lambda i, t: 1.0 <= t < 1.6)
    ids, events = run_scene(ByteTracker(TrackerConfig(lost_s=1.0)), frames, dets)
    assert ids[10] == ids[-1] == [1]
    assert [e.kind for e in events if e.kind != "update"] == ["new"]


def test_occlusion_longer_than_lost_s_ends_the_track_and_a_new_id_follows(dets, box):
    frames = walkers(25, 4, [(0, 100)], [60], box, hide=lambda i, t: 1.0 <= t < 2.5)
    ids, events = run_scene(ByteTracker(TrackerConfig(lost_s=1.0)), frames, dets)
    assert ids[10] == [1] and ids[-1] == [2]
    kinds = [(e.kind, e.track_id) for e in events if e.kind != "update"]
    assert kinds == [("new", 1), ("end", 1), ("new", 2)]


@pytest.mark.parametrize("fps", [5, 10, 30])
def test_same_seconds_same_behaviour_at_any_frame_rate(dets, box, fps):
    """Without a floor in frames, a 0.8 s gap survives a 1 s lost window and a 1.3 s gap does not, whatever
    the frame rate."""
    config = TrackerConfig(lost_s=1.0, lost_frames=0, confirm_hits=2, gate=GateConfig(min_hits=2))
    for gap, survives in ((0.8, True), (1.3, False)):
        frames = walkers(fps, 4, [(0, 100)], [40], box, hide=lambda i, t, g=gap: 1.0 <= t < 1.0 + g)
        ids, _ = run_scene(ByteTracker(config), frames, dets)
        assert (ids[-1] == [1]) is survives, (fps, gap, ids[-1])


@pytest.mark.parametrize(
    ("fps", "gap", "survives"),
    [(5, 1.6, True), (5, 2.4, False), (10, 1.6, False), (30, 0.8, True), (30, 1.3, False)],
)
def test_the_lost_window_is_lost_s_or_lost_frames_whichever_is_longer(dets, box, fps, gap, survives):
    """lost_s = 1 s, lost_frames = 10: at 5 fps 8 missed frames (1.6 s) survive and 12 do not; at 10 fps and
    above the 1 s decides."""
    config = TrackerConfig(lost_s=1.0, lost_frames=10)
    frames = walkers(fps, 5, [(0, 100)], [40], box, hide=lambda i, t: 1.0 <= t < 1.0 + gap - 1e-9)
    ids, _ = run_scene(ByteTracker(config), frames, dets)
    assert (ids[-1] == [1]) is survives, ids[-1]


def test_a_lost_track_never_takes_the_detection_of_a_track_in_view(dets, box):
    """B stands at x=100 in every frame; A stood at x=110 and is hidden for three frames. B's next box lands
    at x=106, nearer A's last place than its own: B keeps it, A stays lost (tracks in view match first)."""
    tracker = ByteTracker()
    for k in range(5):
        out, _ = tracker.update(dets([box(100, 0), box(110, 0)]), k / 10)
    id_b, id_a = out.track_ids.tolist()
    assert -1 not in (id_a, id_b)
    for k in range(5, 8):
        out, _ = tracker.update(dets([box(100, 0)]), k / 10)
        assert out.track_ids.tolist() == [id_b]
    out, _ = tracker.update(dets([box(106, 0)]), 0.8)
    assert out.track_ids.tolist() == [id_b]


@pytest.mark.parametrize(("buffer", "tracked"), [(0.0, False), (0.5, True)])
def test_match_buffer_lets_a_5fps_walker_be_matched(dets, box, buffer, tracked):
    """A 40 px wide walker moving 30 px between frames at 5 fps overlaps its unmoved new track by IoU 0.14:
    below match_iou 0.2 without a margin (the track restarts every frame and never gets an id), 0.23 with
    match_buffer 0.5 (10% of the size per side at 0.2 s)."""
    config = TrackerConfig(match_buffer=buffer, match_iou=0.2)
    frames = walkers(5, 2, [(0, 100)], [150], box)
    ids, _ = run_scene(ByteTracker(config), frames, dets)
    assert (ids[-1] == [1]) is tracked, ids


@pytest.mark.parametrize("mode", ["filtered", "detected"])
def test_reported_boxes_filtered_or_as_detected(dets, box, mode):
    """A still object whose box jitters by +-4 px: 'filtered' reports steadier boxes, 'detected' the input."""
    tracker = ByteTracker(TrackerConfig(boxes=mode))
    sent, got = [], []
    for k in range(30):
        b = box(100 + (4 if k % 2 else -4), 50)
        out, _ = tracker.update(dets([b, box(400 + 30 * k, 300)], [0.9, 0.9]), k / 10)
        sent.append(b)
        got.append(out.boxes[0].tolist())
        assert out.track_ids[1] == -1 or k < 2  # the fast one restarts every frame: always tentative
        assert out.boxes[1].tolist() == box(400 + 30 * k, 300)  # untracked: the detector's box
    if mode == "detected":
        assert got == sent
    else:
        x = np.array(got)[10:, 0]
        assert np.ptp(x) < 4 and abs(x.mean() - 100) < 1  # the +-4 px jitter mostly filtered out


def test_dropped_frames_do_not_shorten_memory(dets, box):
    """Frame timestamps, not counts: 40 missing frames at 100 fps are 0.4 s, within a 1 s window."""
    frames = walkers(100, 2, [(0, 100)], [30], box, hide=lambda i, t: 0.5 <= t < 0.9)
    ids, _ = run_scene(ByteTracker(TrackerConfig(lost_s=1.0)), frames, dets)
    assert ids[-1] == [1]


def test_ids_are_unique_and_never_reused(dets, box):
    # Ten spots where objects come and go; an id never comes back once its track ended, and every new
    # id is larger than any before it.
    rng = np.random.default_rng(3)
    tracker = ByteTracker(TrackerConfig(lost_s=0.3))
    present = np.zeros(10, np.bool_)
    seen: set[int] = set()
    ended: set[int] = set()
    for k in range(400):
        present ^= rng.random(10) < 0.08
        boxes = [box(100.0 * i, 0) for i in np.flatnonzero(present)]
        out, events = tracker.update(dets(boxes), k / 10)
        live = [i for i in out.track_ids.tolist() if i >= 0]
        assert len(live) == len(set(live))
        assert not ended & set(live)
        fresh = set(live) - seen
        assert not fresh or min(fresh) > max(seen, default=0)
        seen |= fresh
        ended |= {e.track_id for e in events if e.kind == "end"}
    assert len(ended) > 20


def test_shared_id_counter_makes_ids_unique_across_sources(dets, box):
    counter = itertools.count(1)
    a, b = ByteTracker(ids=counter), ByteTracker(ids=counter)
    ids = set()
    for k in range(3):
        ids |= set(a.update(dets([box(0, 0)]), k / 10)[0].track_ids.tolist())
        ids |= set(b.update(dets([box(0, 0)]), k / 10)[0].track_ids.tolist())
    assert ids - {-1} == {1, 2}


def test_tentative_tracks_get_no_id_until_confirmed(dets, box):
    tracker = ByteTracker(TrackerConfig(confirm_hits=3))
    got = [tracker.update(dets([box(0, 0)]), k / 10)[0].track_ids.tolist() for k in range(4)]
    assert got == [[-1], [-1], [1], [1]]


def test_gating_by_median_score_and_hits_per_class(dets, box):
    config = TrackerConfig(
        new_track_score=0.3,
        high_score=0.3,
        gate=GateConfig(min_score=0.6, min_hits=3),
        class_gates={"2": GateConfig(min_score=0.2, min_hits=2)},
    )
    tracker = ByteTracker(config, class_gates={2: config.class_gates["2"]})
    news = []
    for k in range(8):
        # class 0 flickers at 0.4 (a ghost); class 2 is a low-scoring real object
        _, events = tracker.update(dets([box(0, 0), box(500, 0)], [0.4, 0.35], [0, 2]), k / 10)
        news += [(k, e.class_id) for e in events if e.kind == "new"]
    assert news == [(1, 2)]  # confirmed at hit 2 and passes its class gate; the ghost never does


def test_events_new_update_end_and_finish(dets, box):
    config = TrackerConfig()
    tracker = ByteTracker(config)
    kinds = []
    for k in range(60):  # 6 s at 10 fps, moving 40 px/s: moves more than half its width every second
        _, events = tracker.update(dets([box(40 * k / 10, 0)]), k / 10)
        kinds += [e.kind for e in events]
    final = tracker.finish(6.0)
    assert kinds[0] == "new" and set(kinds[1:]) == {"update"}
    assert 3 <= kinds.count("update") <= 6  # rate-limited to one per min_interval_s
    assert [e.kind for e in final] == ["end"]
    end = final[0]
    assert end.first_seen == 0.0 and end.last_seen == pytest.approx(5.9) and end.age == pytest.approx(5.9)
    assert tracker.finish(7.0) == [] and len(tracker.tracks) == 0


def test_still_object_gets_no_updates(dets, box):
    tracker = ByteTracker()
    kinds = [e.kind for k in range(50) for e in tracker.update(dets([box(10, 10)]), k / 10)[1]]
    assert kinds == ["new"]


def test_class_consistent_matching_keeps_classes_apart(dets, box):
    tracker = ByteTracker(TrackerConfig(class_consistent=True, confirm_hits=1))
    a = tracker.update(dets([box(0, 0)], classes=[0]), 0.0)[0].track_ids[0]
    b = tracker.update(dets([box(0, 0)], classes=[1]), 0.1)[0].track_ids[0]
    assert a != b


def test_class_change_when_not_class_consistent(dets, box):
    tracker = ByteTracker(TrackerConfig(class_consistent=False, confirm_hits=1))
    events = []
    for k in range(40):
        cls = 2 if k < 15 else 7  # car, then the detector settles on truck
        events += tracker.update(dets([box(0, 0)], classes=[cls]), k / 10)[1]
    assert {e.track_id for e in events} == {1}
    assert [(e.kind, e.class_id) for e in events] == [("new", 2), ("update", 7)]


def test_low_score_detections_extend_but_never_start_tracks(dets, box):
    tracker = ByteTracker()
    for k in range(5):
        tracker.update(dets([box(10 * k, 0)], [0.9]), k / 10)
    out, _ = tracker.update(dets([box(50, 0), box(600, 0)], [0.3, 0.3]), 0.5)
    assert out.track_ids.tolist() == [1, -1]
    assert len(tracker.tracks) == 1
