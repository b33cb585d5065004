"""annotate draws what the web view and the MQTT image show; encode_jpeg sizes and encodes it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edgecv.config.scene import SceneConfig
from edgecv.detections import Detections
from edgecv.labels import Labels
from edgecv.output.annotate import (
    CANDIDATE_COLOUR,
    HATCH_COLOUR,
    LINE_COLOUR,
    annotate,
    class_colour,
    encode_jpeg,
)

LABELS = Labels(["person", "bicycle", "car"])
GREY = 90


def blank(height: int = 360, width: int = 480) -> np.ndarray:
    return np.full((height, width, 3), GREY, np.uint8)


def dets(
    boxes: list[list[float]], scores: list[float], classes: list[int], tracks: list[int] | None = None
) -> Detections:
    return Detections(
        np.array(boxes, np.float32).reshape(-1, 4),
        np.array(scores, np.float32),
        np.array(classes, np.int32),
        None if tracks is None else np.array(tracks, np.int64),
    )


def has_colour(image: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    return (image == np.array(colour, np.uint8)).all(axis=2)


def test_returns_a_copy_and_leaves_the_frame_alone() -> None:
    image = blank()
    out = annotate(image, dets([[10, 20, 110, 220]], [0.9], [0], [3]), LABELS)
    assert (image == GREY).all()
    assert out.shape == image.shape and out.dtype == np.uint8
    assert not np.shares_memory(out, image)


def test_box_edges_in_the_class_colour_and_inside_untouched() -> None:
    out = annotate(blank(), dets([[100, 100, 300, 300], [20, 20, 60, 60]], [0.9, 0.7], [0, 2]), LABELS)
    green = has_colour(out, class_colour(0))
    assert green[200, 100] and green[200, 300] and green[300, 200]  # left, right and bottom edges
    assert (out[150:250, 150:250] == GREY).all()  # the box's inside is not filled
    assert has_colour(out, class_colour(2))[40, 20]
    assert class_colour(0) != class_colour(2)


def test_empty_detections_and_no_scene_draw_nothing() -> None:
    out = annotate(blank(), Detections.empty(), LABELS, candidates=Detections.empty())
    assert (out == GREY).all()


def test_candidates_are_dashed_grey_and_under_the_detections() -> None:
    out = annotate(blank(), Detections.empty(), LABELS, candidates=dets([[100, 100, 300, 200]], [0.2], [0]))
    top = has_colour(out, CANDIDATE_COLOUR)[100, 100:300]
    # Dashes: some of the top edge is drawn, some of it is gap.
    assert 0.3 < top.mean() < 0.8
    assert not has_colour(out, class_colour(0)).any()


def test_relative_zone_and_mask_land_on_their_pixels() -> None:
    scene = SceneConfig.model_validate(
        {
            "zones": {
                "door": {"polygon": [[0.5, 0.5], [0.9, 0.5], [0.9, 0.9], [0.5, 0.9]], "units": "relative"}
            },
            "masks": [{"polygon": [[0, 0], [200, 0], [200, 100], [0, 100]]}],
        }
    )
    out = annotate(blank(), Detections.empty(), LABELS, scene=scene)
    inside_zone = out[250:300, 300:400].reshape(-1, 3)
    assert (inside_zone != GREY).any(axis=1).mean() > 0.9  # tinted
    assert (out[330:, :200] == GREY).all()  # outside both
    assert has_colour(out[10:90, 10:190], HATCH_COLOUR).any()


@pytest.mark.parametrize(
    ("points", "in_side"), [([[240, 0], [240, 360]], "left"), ([[240, 360], [240, 0]], "right")]
)
def test_line_arrow_points_to_its_in_side(points: list[list[float]], in_side: str) -> None:
    out = annotate(
        blank(),
        Detections.empty(),
        LABELS,
        scene=SceneConfig.model_validate({"lines": {"gate": {"points": points}}}),
    )
    amber = has_colour(out, LINE_COLOUR)
    row = amber[175:186]  # around the midpoint's height, where the arrow is
    left, right = row[:, 180:236].sum(), row[:, 245:300].sum()
    assert (left > right) if in_side == "left" else (right > left)


def test_encode_jpeg_shrinks_to_width_and_never_enlarges() -> None:
    image = annotate(blank(), dets([[10, 20, 110, 220]], [0.9], [0]), LABELS)
    small = cv2.imdecode(np.frombuffer(encode_jpeg(image, 240), np.uint8), cv2.IMREAD_COLOR)
    assert small.shape == (180, 240, 3)
    same = cv2.imdecode(np.frombuffer(encode_jpeg(image, 1920), np.uint8), cv2.IMREAD_COLOR)
    assert same.shape == image.shape
    full = cv2.imdecode(np.frombuffer(encode_jpeg(image, None), np.uint8), cv2.IMREAD_COLOR)
    assert full.shape == image.shape
    with pytest.raises(ValueError, match="quality"):
        encode_jpeg(image, None, quality=0)
