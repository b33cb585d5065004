"""The motion gate a camera's capture thread asks: built from the camera's motion section at its first frame."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from edgecv.config.scene import MotionConfig
from edgecv.scene.motion import FrameGate, build_motion


def motion(**values: object) -> MotionConfig:
    return MotionConfig.model_validate({"enabled": True, **values})


def test_masks_outside_the_frame_or_covering_it_warn_naming_them() -> None:
    config = motion(
        masks=[
            {"polygon": [[0, 0], [0.5, 0], [0.5, 0.1]], "units": "relative"},
            {"polygon": [[600, 0], [700, 0], [700, 50]]},
        ]
    )
    _, warnings = build_motion(config, 640, 480, "front")
    assert warnings == [
        "camera front: motion mask 1 reaches outside the 640x480 frame: "
        "[[600.0, 0.0], [700.0, 0.0], [700.0, 50.0]]"
    ]
    blind = motion(masks=[{"polygon": [[0, 0], [1, 0], [1, 1], [0, 1]], "units": "relative"}])
    detector, warnings = build_motion(blind, 640, 480)
    assert detector.blind
    assert warnings == [
        "motion masks cover the whole 640x480 frame: no motion is ever seen, so the detector runs only "
        "every motion.max_skip_s (5.0 s); shrink the masks or set motion.enabled: false"
    ]


def test_the_gate_is_built_at_the_first_frame_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    gate = FrameGate(motion(max_skip_s=1.0, masks=[{"polygon": [[0, 0], [900, 0], [900, 40]]}]), "front")
    still = np.full((360, 480, 3), 120, np.uint8)
    with caplog.at_level(logging.WARNING):
        decisions = [gate.decide(still, k / 10, enabled=True, tracks_moving=False) for k in range(25)]
    assert gate.detector is not None and gate.detector.size == (160, 120)  # 480 px: every 3rd pixel
    assert [k for k, d in enumerate(decisions) if d] == [0, 10, 20]  # first frame, then every max_skip_s
    assert [r.message for r in caplog.records].count(
        "camera front: motion mask 0 reaches outside the 480x360 frame: "
        "[[0.0, 0.0], [900.0, 0.0], [900.0, 40.0]]"
    ) == 1


def test_gating_switched_off_detects_every_frame_and_restarts_its_background() -> None:
    gate = FrameGate(motion(max_skip_s=10.0))
    dark, bright = np.full((48, 64, 3), 20, np.uint8), np.full((48, 64, 3), 200, np.uint8)
    assert gate.decide(dark, 0.0, enabled=True, tracks_moving=False)  # the first frame
    assert not gate.decide(dark, 0.1, enabled=True, tracks_moving=False)
    assert gate.decide(dark, 0.2, enabled=True, tracks_moving=True)  # a track moves
    assert all(gate.decide(bright, 0.3 + k / 10, enabled=False, tracks_moving=False) for k in range(5))
    # Back on: the background starts again from the scene as it is now, not from before the pause.
    assert not gate.decide(bright, 0.9, enabled=True, tracks_moving=False)
    assert not gate.decide(bright, 1.0, enabled=True, tracks_moving=False)
    assert gate.decide(dark, 1.1, enabled=True, tracks_moving=False)  # the lights went out: motion


def test_a_reloaded_motion_section_takes_over_at_the_next_frame() -> None:
    """A reload hands the camera a new motion section: the gate is placed again, and keeps the new rate."""
    gate = FrameGate(motion(max_skip_s=10.0))
    still = np.full((48, 64, 3), 90, np.uint8)
    assert [gate.decide(still, k / 10, enabled=True, tracks_moving=False) for k in range(3)] == [1, 0, 0]
    gate.configure(
        motion(max_skip_s=0.5, masks=[{"polygon": [[0, 0], [0.5, 0], [0.5, 1]], "units": "relative"}])
    )
    assert gate.detector is None  # placed again at the next frame: its masks need the frame's size
    decisions = [gate.decide(still, 1 + k / 10, enabled=True, tracks_moving=False) for k in range(12)]
    assert [k for k, d in enumerate(decisions) if d] == [0, 5, 10]  # detected at once, then every 0.5 s
    assert gate.detector is not None and gate.detector.size == (64, 48)  # placed on the frame it first saw
