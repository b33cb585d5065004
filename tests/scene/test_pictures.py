"""The README's scene pictures are drawn from what the engine does (each drawing asserts its own claim)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "scene_pictures.py"


def test_pictures_draw_and_their_claims_hold() -> None:
    spec = importlib.util.spec_from_file_location("scene_pictures", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for draw in (module.zone_picture, module.line_picture, module.jitter_picture):
        img = draw()  # the jitter and line pictures assert the engine counts what they show
        assert img.shape == (module.H, module.W, 3) and img.dtype == np.uint8
        assert (img != 255).any()
