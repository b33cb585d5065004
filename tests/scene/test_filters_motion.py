"""Masks, size filters, motion measurement and the motion gate; the config and the rules builder."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from edgecv.config.scene import LineConfig, SceneConfig, ZoneConfig
from edgecv.detections import Detections
from edgecv.labels import Labels
from edgecv.scene.events import SceneEvent, SceneEventJson, scene_event_json
from edgecv.scene.filters import DetectionFilter, MaskRule, SizeRule
from edgecv.scene.motion import MotionDetector, MotionGate
from edgecv.scene.rules import build_rules

from .helpers import person

LABELS = Labels(["person", "bicycle", "car"])


def dets(boxes: list[list[float]], classes: list[int]) -> Detections:
    n = len(boxes)
    return Detections(np.array(boxes, np.float32), np.full(n, 0.9, np.float32), np.array(classes, np.int32))


def test_mask_drops_detections_anchored_inside() -> None:
    mask = MaskRule(np.array([[0, 0], [200, 0], [200, 40], [0, 40]], np.float32))
    f = DetectionFilter([mask], {}, 3, 640, 480)
    d = dets([person(100, 30), person(100, 100, h=90), person(300, 30)], [0, 0, 0])
    # the second box reaches into the mask, but its anchor (feet) is outside
    assert f.keep(d).tolist() == [False, True, True]


def test_size_bounds_per_class() -> None:
    f = DetectionFilter(
        [], {0: SizeRule(min_area=400, max_ratio=1.2), 2: SizeRule(min_area=3072)}, 3, 640, 480
    )
    boxes = [[0, 0, 10, 30], [0, 0, 20, 40], [0, 0, 60, 40], [0, 0, 50, 50], [0, 0, 60, 60], [0, 0, 5, 5]]
    assert f.keep(dets(boxes, [0, 0, 0, 2, 2, 1])).tolist() == [False, True, False, False, True, True]


def test_builder_resolves_names_fractions_and_warns_outside() -> None:
    scene = SceneConfig.model_validate(
        {
            "zones": {
                "driveway": {"polygon": [[0, 0.5], [1, 0.5], [1, 1.2]], "units": "pixels", "classes": ["car"]}
            },
            "lines": {"door": {"points": [[0.5, 0.1], [0.5, 0.9]], "units": "relative"}},
            "masks": [{"polygon": [[0, 0], [700, 0], [700, 40]]}],
            "filters": {"car": {"min_area": 0.01}},
        }
    )
    rules = build_rules(scene, LABELS, 640, 480, camera="front")
    assert rules.lines.rules[0].points.tolist() == [[320, 48], [320, 432]]
    assert rules.zones.rules[0].class_ids == (2,)
    assert rules.filter._bounds[2, 0] == pytest.approx(3072)
    assert rules.warnings == [
        "camera front: mask 0 reaches outside the 640x480 frame: [[0.0, 0.0], [700.0, 0.0], [700.0, 40.0]]"
    ]


def test_unknown_class_is_one_clear_error() -> None:
    scene = SceneConfig.model_validate(
        {"lines": {"door": {"points": [[1, 1], [5, 5]], "classes": ["persn"]}}}
    )
    with pytest.raises(ValueError, match="line 'door': class 'persn' is not in the labels"):
        build_rules(scene, LABELS, 640, 480)


@pytest.mark.parametrize(
    ("model", "value", "match"),
    [
        (LineConfig, {"points": [[1, 1], [1, 1]]}, "two distinct points"),
        (LineConfig, {"points": [[0, 0], [2, 1]], "units": "relative"}, "fractions from 0 to 1"),
        (ZoneConfig, {"polygon": [[0, 0], [1, 1]]}, "at least 3"),
        (ZoneConfig, {"polygon": [[0, 0], [1, 1], [1, 0]], "inertia": 1}, "Extra inputs"),
        (SceneConfig, {"zones": {"a/b": {"polygon": [[0, 0], [1, 1], [1, 0]]}}}, "MQTT topic level"),
    ],
)
def test_bad_config_is_refused(model: type, value: dict[str, object], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        model.model_validate(value)


def test_motion_sees_a_walker_and_not_noise() -> None:
    rng = np.random.default_rng(1)
    still = rng.integers(60, 200, (480, 640, 3), np.uint8)
    detector = MotionDetector(640, 480, threshold=25, min_area=0.002)
    for _ in range(5):
        noisy = np.clip(still.astype(np.int16) + rng.integers(-6, 7, still.shape), 0, 255).astype(np.uint8)
        assert not detector.measure(noisy).moving
    walker = still.copy()
    walker[200:320, 300:340] = 10  # a dark 40x120 px figure: 1.6% of the frame
    motion = detector.measure(walker)
    assert motion.moving and 0.01 < motion.changed < 0.03


def test_motion_masks_hide_change() -> None:
    still = np.full((480, 640, 3), 128, np.uint8)
    mask = np.array([[280, 180], [360, 180], [360, 340], [280, 340]], np.float32)
    detector = MotionDetector(640, 480, masks=[mask])
    detector.measure(still)
    walker = still.copy()
    walker[200:320, 300:340] = 10
    assert not detector.measure(walker).moving


def test_gate_runs_on_motion_moving_tracks_and_every_max_skip() -> None:
    gate = MotionGate(max_skip_s=1.0)
    decisions = [gate.decide(False, False, t / 10) for t in range(25)]
    assert [t for t, d in enumerate(decisions) if d] == [0, 10, 20]
    assert gate.skipped == 22
    assert (
        gate.decide(True, False, 2.5) and gate.decide(False, True, 2.6) and not gate.decide(False, False, 2.7)
    )


def test_scene_event_json_validates() -> None:
    labels = LABELS
    cross = scene_event_json(SceneEvent("line_cross", 3, 0, "door", 12.5, "in"), "front", labels)
    assert SceneEventJson.model_validate(cross).model_dump(exclude_none=True) == cross
    assert cross == {
        "type": "event",
        "event": "line_cross",
        "camera": "front",
        "track_id": 3,
        "label": "person",
        "line": "door",
        "direction": "in",
        "ts": 12.5,
    }
    enter = scene_event_json(SceneEvent("zone_enter", 4, 2, "driveway", 13.0), "front", labels)
    assert SceneEventJson.model_validate(enter).model_dump(exclude_none=True) == enter
    assert "box" not in enter and "score" not in enter and enter["zone"] == "driveway"
