"""tracker.high_score left unset follows the model family's score scale; set, it is used as given."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgecv.config import load_settings
from edgecv.detect.detector import Detector
from edgecv.pipeline.build import build_tracker


def high_score(detector: Detector, environ: dict[str, str]) -> float:
    tracker = build_tracker(load_settings(environ=environ).tracker, detector)
    assert tracker is not None
    return tracker.config.high_score


@pytest.mark.shared
def test_ssd_models_track_from_their_own_default(shared_assets: Path) -> None:
    ssd = Detector(shared_assets / "models/ssd_mobilenet_v1_coco_quant/detect.tflite", threads=1)
    assert ssd.decoder.family == "ssd"
    assert high_score(ssd, {}) == 0.5
    assert high_score(ssd, {"EDGECV_TRACKER__HIGH_SCORE": "0.65"}) == 0.65


def test_other_families_keep_the_config_default(demo_model: Path) -> None:
    demo = Detector(demo_model, threads=1)
    assert demo.decoder.family != "ssd"
    assert high_score(demo, {}) == 0.65
    assert high_score(demo, {"EDGECV_TRACKER__HIGH_SCORE": "0.4"}) == 0.4
