"""CameraScene: the glue the post thread calls (filters, zones and lines, rebuilds, totals), on hand-built
tracked frames. The real command around it is tested in tests/pipeline/test_scene_run.py."""

from __future__ import annotations

import numpy as np
import pytest

from edgecv.config.scene import SceneConfig
from edgecv.detections import Detections
from edgecv.frame import Frame
from edgecv.labels import Labels
from edgecv.scene.rules import CameraScene

from .helpers import person, tracked

LABELS = Labels(["person", "car"])
ZONE = {"polygon": [[0, 0], [100, 0], [100, 100], [0, 100]], "inertia_s": 0}
LINE = {"points": [[200, 0], [200, 200]]}


def frame(t: float, width: int = 400, height: int = 200) -> Frame:
    return Frame(np.zeros((height, width, 3), np.uint8), seq=int(t * 10), ts=1000 + t, mono=t)


def step(scene: CameraScene, dets: Detections, t: float, **size: int) -> tuple[Detections, list]:
    kept = scene.filter(dets, frame(t, **size))
    return scene.update(kept, 1000 + t, t)


def test_zone_names_per_confirmed_detection_and_events() -> None:
    scene = CameraScene("cam", SceneConfig(zones={"a": ZONE, "b": {**ZONE, "classes": ["car"]}}), LABELS)
    dets = tracked([person(50, 50), person(300, 50), person(60, 60)], [1, 2, -1])
    out, events = step(scene, dets, 0.0)
    assert out.zones is not None
    assert out.zones.tolist() == [("a",), (), None]  # b takes cars only; -1 has no confirmed track
    assert [(e.kind, e.track_id, e.rule) for e in events] == [("zone_enter", 1, "a")]
    assert scene.occupancy() == {"a": {"person": 1}, "b": {"car": 0}}
    # A car inside both zones: both names, in config order.
    out, _ = step(scene, tracked([person(50, 50)], [3], classes=[1]), 0.1)
    assert out.zones is not None and out.zones.tolist() == [("a", "b")]


def test_tracker_end_and_finish_close_zone_stays() -> None:
    scene = CameraScene("cam", SceneConfig(zones={"a": ZONE}), LABELS)
    step(scene, tracked([person(50, 50), person(60, 50)], [1, 2]), 0.0)
    ended = scene.end(np.array([1]), 1000.5)
    assert [(e.kind, e.track_id, e.ts) for e in ended] == [("zone_exit", 1, 1000.5)]
    finished = scene.finish(1001.0)
    assert [(e.kind, e.track_id) for e in finished] == [("zone_exit", 2)]
    assert scene.occupancy() == {"a": {"person": 0}}
    assert scene.zone_totals() == {"a": {"entered": {"person": 2}}}


def test_filters_drop_before_tracking() -> None:
    config = SceneConfig(
        masks=[{"polygon": [[0, 150], [400, 150], [400, 200], [0, 200]]}],
        filters={"person": {"min_area": 0.01, "max_ratio": 1.0}},  # 0.01 of 400x200: 800 px
    )
    scene = CameraScene("cam", config, LABELS)
    boxes = [person(50, 100), person(50, 180), person(50, 100, w=10, h=20), person(50, 100, w=80, h=40)]
    dets = tracked(boxes, [-1] * 4)
    kept = scene.filter(Detections(dets.boxes, dets.scores, dets.class_ids), frame(0.0))
    # masked (anchor at y 180), too small (200 px), too wide (ratio 2) dropped; the first kept
    assert kept.boxes.tolist() == [person(50, 100)]


def test_frame_size_change_rebuilds_keeping_counts() -> None:
    relative = {"points": [[0.5, 0], [0.5, 1]], "units": "relative"}
    scene = CameraScene("cam", SceneConfig(zones={"a": ZONE}, lines={"mid": relative}), LABELS)
    step(scene, tracked([person(150, 50)], [1]), 0.0)
    _, events = step(scene, tracked([person(250, 50)], [1]), 0.1)  # 400 wide: mid at x 200, crossed
    assert [(e.kind, e.direction) for e in events] == [("line_cross", "out")]
    step(scene, tracked([person(50, 50)], [2]), 0.2)
    # 800 wide now: mid moves to x 400; the stay in a closes (exit) and enters again after the rebuild.
    _, events = step(scene, tracked([person(50, 50)], [2]), 0.3, width=800)
    assert [(e.kind, e.track_id) for e in events] == [("zone_exit", 2), ("zone_enter", 2)]
    step(scene, tracked([person(300, 50)], [3]), 0.4, width=800)
    _, events = step(scene, tracked([person(500, 50)], [3]), 0.5, width=800)
    assert [(e.rule, e.direction) for e in events] == [("mid", "out")]
    assert scene.line_totals() == {"mid": {"in": {}, "out": {"person": 2}}}
    assert scene.zone_totals() == {"a": {"entered": {"person": 2}}}


def test_configure_takes_effect_next_frame_keeping_counts_by_name() -> None:
    scene = CameraScene("cam", SceneConfig(lines={"door": LINE, "gone": LINE}), LABELS)
    step(scene, tracked([person(150, 50)], [1]), 0.0)
    step(scene, tracked([person(250, 50)], [1]), 0.1)
    with pytest.raises(ValueError, match=r"lines\.door\.classes: class 'cat'"):
        scene.configure(SceneConfig(lines={"door": {**LINE, "classes": ["cat"]}}))
    scene.configure(SceneConfig(lines={"door": LINE, "new": LINE}))
    out = {"in": {}, "out": {"person": 1}}
    assert scene.line_totals() == {"door": out, "gone": out}  # until the next frame
    # The rebuild starts every track afresh: its first observation under the new rules sets its side.
    step(scene, tracked([person(150, 50)], [1]), 0.2)
    step(scene, tracked([person(250, 50)], [1]), 0.3)
    out = {"in": {}, "out": {"person": 1}}
    assert scene.line_totals() == {"door": {"in": {}, "out": {"person": 2}}, "new": out}


def test_unknown_class_names_the_key() -> None:
    for config, key in (
        (SceneConfig(zones={"z": {**ZONE, "classes": ["dog"]}}), "zones.z.classes"),
        (SceneConfig(filters={"dog": {"min_area": 5}}), "detect.filters"),
    ):
        with pytest.raises(ValueError, match=rf"^{key}: class 'dog' is not in the labels"):
            CameraScene("cam", config, LABELS)


def test_rules_without_frames_report_empty_totals() -> None:
    scene = CameraScene("cam", SceneConfig(zones={"a": ZONE}, lines={"l": LINE}), LABELS)
    assert scene.line_totals() == {"l": {"in": {}, "out": {}}}
    assert scene.zone_totals() == {"a": {"entered": {}}}
    assert not CameraScene("cam", SceneConfig(), LABELS).active


def test_reload_keeps_zones_that_did_not_change() -> None:
    scene = CameraScene("cam", SceneConfig(zones={"a": ZONE}), LABELS)
    step(scene, tracked([person(50, 50)], [1]), 0.0)
    scene.configure(SceneConfig(zones={"a": ZONE}, lines={"door": LINE}))
    _, events = step(scene, tracked([person(50, 50)], [1]), 0.1)
    assert events == []  # still inside a: no exit, no second entry
    assert scene.occupancy() == {"a": {"person": 1}} and scene.zone_totals() == {
        "a": {"entered": {"person": 1}}
    }
    scene.configure(SceneConfig(zones={"a": {**ZONE, "loiter_s": 5}}, lines={"door": LINE}))
    _, events = step(scene, tracked([person(50, 50)], [1]), 0.2)
    assert [(e.kind, e.rule) for e in events] == [("zone_exit", "a"), ("zone_enter", "a")]
    assert scene.zone_totals() == {"a": {"entered": {"person": 2}}}


def test_a_model_without_names_counts_each_class_apart() -> None:
    scene = CameraScene("cam", SceneConfig(lines={"door": LINE}), Labels(), num_classes=80)
    step(scene, tracked([person(150, 50), person(150, 150)], [1, 2], classes=[5, 7]), 0.0)
    step(scene, tracked([person(250, 50), person(250, 150)], [1, 2], classes=[5, 7]), 0.1)
    assert scene.line_totals() == {"door": {"in": {}, "out": {"class_5": 1, "class_7": 1}}}


def test_outside_frame_warning_is_logged_once_per_geometry(caplog: pytest.LogCaptureFixture) -> None:
    scene = CameraScene("cam", SceneConfig(lines={"far": {"points": [[10, 10], [500, 10]]}}), LABELS)
    with caplog.at_level("WARNING", logger="edgecv.scene.rules"):
        for t, width in enumerate([400, 400, 800, 400, 800]):
            step(scene, tracked([person(50, 50)], [1]), t / 10, width=width)
    assert [r.getMessage() for r in caplog.records] == [
        "camera cam: line 'far' reaches outside the 400x200 frame: [[10.0, 10.0], [500.0, 10.0]]"
    ]


def test_held_tracks_keep_zone_timers_on_time_between_detections() -> None:
    """A skipped frame's held tracks (CameraScene.hold) fire the pending enter and the loiter when due, as
    detecting every frame would; without them both wait for the next detection."""
    config = SceneConfig(
        zones={"a": {**ZONE, "inertia_s": 0.5, "loiter_s": 1.0}}, lines={"door": LINE, "far": LINE}
    )
    still = tracked([person(50, 50), person(300, 50)], [1, 2])  # one inside a, one beside the lines
    every, gated = CameraScene("cam", config, LABELS), CameraScene("cam", config, LABELS)
    times = [round(k / 10, 1) for k in range(31)]
    detected = [(t, e.kind) for t in times for e in step(every, still, t)[1]]
    held = []
    for t in times:
        if t in (0.0, 3.0):  # detections; the frames between skipped
            held += [(t, e.kind) for e in step(gated, still, t)[1]]
        else:
            held += [(t, e.kind) for e in gated.hold(still, 1000 + t, t)]
    assert held == detected == [(0.5, "zone_enter"), (1.0, "loiter")]  # loiter_s counts from inside
    unheld = CameraScene("cam", config, LABELS)
    late = [(t, e.kind) for t in (0.0, 3.0) for e in step(unheld, still, t)[1]]
    assert late == [(3.0, "zone_enter"), (3.0, "loiter")]  # what skipped frames without the hold gave
    assert gated.occupancy() == {"a": {"person": 1}}
    assert gated.line_totals() == {n: {"in": {}, "out": {}} for n in ("door", "far")}


def test_hold_before_any_rule_is_placed_or_without_zones_and_lines_does_nothing() -> None:
    scene = CameraScene("cam", SceneConfig(zones={"a": ZONE}), LABELS)
    assert not scene.follows_tracks and scene.hold(tracked([person(50, 50)], [1]), 1000.0, 0.0) == []
    step(scene, tracked([person(50, 50)], [1]), 0.0)
    assert scene.follows_tracks
    masks_only = CameraScene("cam", SceneConfig(masks=[{"polygon": [[0, 0], [10, 0], [10, 10]]}]), LABELS)
    step(masks_only, tracked([person(50, 50)], [1]), 0.0)
    assert not masks_only.follows_tracks


def test_totals_list_the_rules_classes_at_zero_and_any_label_that_counted() -> None:
    scene = CameraScene(
        "cam",
        SceneConfig(
            zones={"a": {**ZONE, "classes": ["car"]}}, lines={"l": {**LINE, "classes": ["car"]}, "m": LINE}
        ),
        LABELS,
    )
    step(scene, tracked([person(50, 50)], [1]), 0.0)
    assert scene.line_totals() == {"l": {"in": {"car": 0}, "out": {"car": 0}}, "m": {"in": {}, "out": {}}}
    assert scene.zone_totals() == {"a": {"entered": {"car": 0}}}  # the person is no car: not counted
    step(scene, tracked([person(50, 50)], [2], classes=[1]), 0.1)
    assert scene.zone_totals() == {"a": {"entered": {"car": 1}}}
