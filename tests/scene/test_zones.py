"""Zone semantics on hand-built trajectories: membership, inertia both ways, loiter once, classes, end."""

from __future__ import annotations

import numpy as np

from edgecv.scene.zones import MAX_ZONES, ZoneRule, Zones, zone_raster

from .helpers import person, tracked

DRIVEWAY = np.array([[0, 300], [640, 300], [640, 480], [0, 480]], np.float32)


def zones_of(*rules: ZoneRule, classes: int = 3) -> Zones:
    return Zones(list(rules), 640, 480, num_classes=classes)


def walk(
    zones: Zones, ys: list[float], dt: float = 0.1, track_id: int = 1, cls: int = 0
) -> list[tuple[str, float]]:
    out = []
    for k, y in enumerate(ys):
        _, events = zones.update(tracked([person(320, y)], [track_id], [cls]), mono=k * dt, ts=1000 + k * dt)
        out += [(e.kind, round(e.ts - 1000, 3)) for e in events]
    return out


def test_enter_after_inertia_and_exit_after_as_long() -> None:
    zones = zones_of(ZoneRule("driveway", DRIVEWAY, inertia_s=0.3))
    #          out  out  in(0.2) 0.3  0.4  0.5  out(0.6) 0.7 0.8 0.9
    ys = [200, 250, 350, 360, 370, 380, 250, 240, 230, 220]
    assert walk(zones, ys) == [("zone_enter", 0.5), ("zone_exit", 0.9)]


def test_flicker_across_an_edge_is_debounced() -> None:
    zones = zones_of(ZoneRule("driveway", DRIVEWAY, inertia_s=0.3))
    assert walk(zones, [295, 305, 295, 305, 296, 304, 295, 306]) == []


def test_zero_inertia_reacts_on_the_first_frame() -> None:
    zones = zones_of(ZoneRule("driveway", DRIVEWAY, inertia_s=0.0))
    assert walk(zones, [200, 350, 200]) == [("zone_enter", 0.1), ("zone_exit", 0.2)]


def test_loiter_fires_once_per_stay() -> None:
    zones = zones_of(ZoneRule("driveway", DRIVEWAY, inertia_s=0.2, loiter_s=0.5))
    ys = [200] + [400] * 9 + [200] * 4 + [400] * 8
    kinds = [k for k, _ in walk(zones, ys)]
    assert kinds == ["zone_enter", "loiter", "zone_exit", "zone_enter", "loiter"]
    events = walk(zones_of(ZoneRule("driveway", DRIVEWAY, inertia_s=0.2, loiter_s=0.5)), ys[:10])
    assert events == [("zone_enter", 0.3), ("loiter", 0.6)]  # inside from 0.1: 0.5 s later


def test_membership_per_detection_and_occupancy_by_class() -> None:
    upper = np.array([[0, 0], [640, 0], [640, 200], [0, 200]], np.float32)
    zones = zones_of(ZoneRule("driveway", DRIVEWAY), ZoneRule("upper", upper, anchor="top_center"))
    dets = tracked([person(100, 400, h=300), person(500, 100, h=60), person(300, 400)], [1, 2, -1], [0, 2, 0])
    bits, events = zones.update(dets, mono=0.0, ts=0.0)
    member = zones.flags(bits)
    # track 1: feet in the driveway, head (y=100) in upper; track 2: both anchors above 300; -1 is untracked.
    assert member.tolist() == [[True, True], [False, True], [False, False]]
    assert sorted((e.track_id, e.rule) for e in events) == [(1, "driveway"), (1, "upper"), (2, "upper")]
    occupancy = zones.occupancy()
    assert occupancy[0].tolist() == [1, 0, 0, 0] and occupancy[1].tolist() == [1, 0, 1, 0]
    assert zones.entered.sum() == 3


def test_classes_and_min_score() -> None:
    zones = zones_of(ZoneRule("driveway", DRIVEWAY, class_ids=(2,), min_score=0.5))
    dets = tracked(
        [person(100, 400), person(300, 400), person(500, 400)], [1, 2, 3], [0, 2, 2], [0.9, 0.9, 0.3]
    )
    bits, events = zones.update(dets, mono=0.0, ts=0.0)
    assert zones.flags(bits)[:, 0].tolist() == [False, True, False]
    # a low score is no evidence: track 2 stays inside while its score dips, even far outside.
    bits, events = zones.update(tracked([person(300, 100)], [2], [2], [0.2]), mono=1.0, ts=1.0)
    assert zones.flags(bits)[:, 0].tolist() == [True] and events == []


def test_ended_track_exits_cleanly() -> None:
    zones = zones_of(ZoneRule("driveway", DRIVEWAY))
    zones.update(tracked([person(100, 400), person(200, 400)], [1, 2]), mono=0.0, ts=5.0)
    events = zones.end(np.array([1, 99]), ts=6.0)
    assert [(e.kind, e.track_id, e.ts) for e in events] == [("zone_exit", 1, 6.0)]
    assert zones.occupancy()[0, 0] == 1 and len(zones.table) == 1


def test_raster_matches_point_in_polygon() -> None:
    rng = np.random.default_rng(0)
    tri = np.array([[10.3, 20.7], [300.2, 50.1], [120.9, 220.4]], np.float32)
    raster = zone_raster([tri], 320, 240)
    x, y = rng.uniform(0, 320, 2000), rng.uniform(0, 240, 2000)
    # reference: same-side test against each edge, away from the boundary (where pixels round either way)
    a, b, c = tri.astype(np.float64)

    def side(p: np.ndarray, q: np.ndarray) -> np.ndarray:
        return (q[0] - p[0]) * (y - p[1]) - (q[1] - p[1]) * (x - p[0])

    s = np.stack([side(a, b), side(b, c), side(c, a)])
    lengths = np.array([np.hypot(*(b - a)), np.hypot(*(c - b)), np.hypot(*(a - c))])[:, None]
    clear = (np.abs(s) / lengths > 1.5).all(axis=0)
    inside = (s > 0).all(axis=0) | (s < 0).all(axis=0)
    got = raster[y.astype(int), x.astype(int)].astype(bool)
    assert clear.sum() > 1500
    assert (got[clear] == inside[clear]).all()


def test_sixty_four_zones_fit_one_raster() -> None:
    rules = [ZoneRule(f"z{k}", DRIVEWAY) for k in range(MAX_ZONES)]
    zones = Zones(rules, 640, 480, num_classes=1)
    bits, _ = zones.update(tracked([person(10, 400)], [1]), mono=0.0, ts=0.0)
    assert zones.flags(bits).all() and zones.raster.dtype == np.uint64


def test_exit_timer_survives_a_low_score_frame_and_none_starts_on_one() -> None:
    zones = zones_of(ZoneRule("driveway", DRIVEWAY, inertia_s=0.3, min_score=0.5))
    events = []
    # inside from 0.0 (enters at 0.3); steps out at 0.5; a low-score frame outside at 0.6 neither cancels nor
    # restarts the exit timer: it exits at 0.8 (0.3 after 0.5), as if the frame had been a confident one.
    ys = [400, 400, 400, 400, 400, 200, 200, 200, 200]
    scores = [0.9] * 6 + [0.2] + [0.9] * 2
    for k, (y, score) in enumerate(zip(ys, scores, strict=True)):
        _, ev = zones.update(tracked([person(320, y)], [1], [0], [score]), mono=k / 10, ts=k / 10)
        events += [(e.kind, round(e.ts, 3)) for e in ev]
    assert events == [("zone_enter", 0.3), ("zone_exit", 0.8)]
    # and a low-score frame inside starts no entry timer for a track outside
    zones = zones_of(ZoneRule("driveway", DRIVEWAY, inertia_s=0.2, min_score=0.5))
    events = []
    for k, (y, score) in enumerate([(200, 0.9), (400, 0.2), (200, 0.9), (200, 0.9), (200, 0.9)]):
        _, ev = zones.update(tracked([person(320, y)], [1], [0], [score]), mono=k / 10, ts=k / 10)
        events += ev
    assert events == []


def test_a_track_seen_again_after_its_timer_fell_due_flips_then() -> None:
    zones = zones_of(ZoneRule("driveway", DRIVEWAY, inertia_s=0.3))
    zones.update(tracked([person(320, 400), person(100, 100)], [1, 2]), mono=0.0, ts=0.0)  # 1's timer starts
    for k in range(
        1, 6
    ):  # track 1 unseen (occluded) while its timer falls due; track 2 alone, nothing differs
        _, events = zones.update(tracked([person(100, 100)], [2]), mono=k / 10, ts=k / 10)
        assert events == []
    _, events = zones.update(tracked([person(320, 400), person(100, 100)], [1, 2]), mono=0.6, ts=0.6)
    assert [(e.kind, e.track_id) for e in events] == [("zone_enter", 1)]


def test_the_same_frame_twice_is_cheap_and_still_right() -> None:
    # the table hands out the same rows for the same ids; state must still advance frame to frame
    zones = zones_of(ZoneRule("driveway", DRIVEWAY, inertia_s=0.2, loiter_s=0.4))
    frame = tracked([person(320, 400), person(100, 400)], [5, 6])
    kinds = []
    for k in range(8):
        _, events = zones.update(frame, mono=k / 10, ts=k / 10)
        kinds += [(e.kind, e.track_id, round(e.ts, 3)) for e in events]
    assert kinds == [
        ("zone_enter", 5, 0.2),
        ("zone_enter", 6, 0.2),
        ("loiter", 5, 0.4),
        ("loiter", 6, 0.4),
    ]
    zones.end(np.array([5]), ts=1.0)
    bits, _ = zones.update(tracked([person(100, 400)], [6]), mono=1.1, ts=1.1)
    assert zones.flags(bits).tolist() == [[True]] and zones.occupancy()[0, 0] == 1


def test_state_survives_the_frames_tracks_changing_and_reads_between_frames() -> None:
    # the state of a frame's tracks is kept in frame order while they stay the same: tracks coming and
    # going, occupancy read and tracks ended between frames must see and keep the same state as ever
    zones = zones_of(ZoneRule("driveway", DRIVEWAY, inertia_s=0.2))
    events = []
    frames = [[1], [1], [1, 2], [2, 1], [1], [1], [1, 2], [1, 2], [1, 2]]
    for k, ids in enumerate(frames):
        boxes = [person(320, 400) if i == 1 else person(100, 400 if k >= 6 else 200) for i in ids]
        bits, ev = zones.update(tracked(boxes, ids), mono=k / 10, ts=k / 10)
        events += [(e.kind, e.track_id, round(e.ts, 3)) for e in ev]
        if k == 4:
            assert zones.occupancy()[0, 0] == 1  # track 1 entered at 0.2
            assert zones.end(np.array([2]), ts=0.4) == []  # track 2 was never inside
    assert events == [("zone_enter", 1, 0.2), ("zone_enter", 2, 0.8)]
    assert zones.flags(bits).tolist() == [[True], [True]] and zones.occupancy()[0, 0] == 2
