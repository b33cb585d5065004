"""edgecv.boxes: the vectorised IoU against the pair-by-pair reference, and the layout conversions."""

from __future__ import annotations

import numpy as np
import pytest

from edgecv.boxes import (
    box_areas,
    cxcywh_to_xywh,
    cxcywh_to_xyxy,
    iou_one_to_many,
    iou_reference,
    pairwise_buffered_iou,
    pairwise_iou,
    xywh_to_xyxy,
    xyxy_to_cxcywh,
    xyxy_to_xywh,
)


def random_boxes(rng: np.random.Generator, n: int, *, coarse: bool = False) -> np.ndarray:
    """Clustered ``xyxy`` boxes so that many overlap, with zero-area, inverted and duplicate ones mixed in."""
    centres = rng.uniform(0, 200, (max(1, n // 5), 2))
    picked = centres[rng.integers(0, len(centres), n)] + rng.normal(0, 8, (n, 2))
    size = rng.uniform(1, 60, (n, 2))
    boxes = np.concatenate([picked - size / 2, picked + size / 2], axis=1)
    if coarse:
        boxes = np.round(boxes / 8) * 8  # identical boxes, shared edges, zero-area ones
    kind = rng.random(n)
    boxes[kind < 0.05, 2] = boxes[kind < 0.05, 0]  # zero width
    boxes[(kind >= 0.05) & (kind < 0.08), 3] = boxes[(kind >= 0.05) & (kind < 0.08), 1]  # zero height
    inverted = (kind >= 0.08) & (kind < 0.1)
    boxes[inverted] = boxes[inverted][:, [2, 3, 0, 1]]  # x2 < x1 and y2 < y1
    return boxes


@pytest.mark.parametrize("coarse", [False, True], ids=["continuous", "coarse"])
def test_pairwise_equals_the_reference_exactly_in_float64(coarse: bool) -> None:
    rng = np.random.default_rng(11)
    for _ in range(40):
        a = random_boxes(rng, int(rng.integers(1, 40)), coarse=coarse)
        b = random_boxes(rng, int(rng.integers(1, 40)), coarse=coarse)
        np.testing.assert_array_equal(pairwise_iou(a, b), iou_reference(a, b))
        np.testing.assert_array_equal(pairwise_iou(a, a), iou_reference(a, a))


def test_buffered_iou_is_the_iou_of_the_widened_pair() -> None:
    """Each pair (i, j): both boxes widened by row i's margin, then the plain definition."""
    rng = np.random.default_rng(12)
    for _ in range(20):
        a = random_boxes(rng, int(rng.integers(1, 25)))
        b = random_boxes(rng, int(rng.integers(1, 25)))
        margin = rng.uniform(0, 15, (len(a), 2))
        margin[::3] = 0.0  # some rows without a margin
        expected = np.array(
            [
                [iou_reference([a[i] + grow], [b[j] + grow])[0, 0] for j in range(len(b))]
                for i, grow in enumerate(np.concatenate([-margin, margin], axis=1))
            ]
        )
        np.testing.assert_allclose(pairwise_buffered_iou(a, b, margin), expected, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(pairwise_buffered_iou(a, b, np.zeros((len(a), 2))), pairwise_iou(a, b))


def test_buffered_iou_on_hand_made_boxes() -> None:
    a = np.array([[0.0, 0, 10, 10]], np.float32)
    b = np.array([[12.0, 0, 22, 10], [0, 0, 10, 10]], np.float32)
    iou = pairwise_buffered_iou(a, b, np.array([[2.0, 0.0]], np.float32))
    assert iou.dtype == np.float32
    # Widened by 2 px left and right: [-2, 12] and [10, 24] overlap by 2 of 26 px; identical boxes stay at 1.
    np.testing.assert_allclose(iou, [[2 / 26, 1.0]], rtol=1e-6)
    with pytest.raises(ValueError, match=r"margin must have shape \[1, 2\]"):
        pairwise_buffered_iou(a, b, np.zeros((2, 2)))


def test_self_iou_takes_the_shortcut_without_changing_a_bit() -> None:
    boxes = random_boxes(np.random.default_rng(3), 200)
    same = pairwise_iou(boxes, boxes)
    np.testing.assert_array_equal(same, pairwise_iou(boxes, boxes.copy()))
    has_area = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    np.testing.assert_array_equal(np.diag(same), has_area.astype(np.float64))  # 1 with itself, 0 if empty


def test_one_to_many_equals_the_matrix_rows_exactly() -> None:
    rng = np.random.default_rng(5)
    boxes = random_boxes(rng, 150, coarse=True)
    matrix = pairwise_iou(boxes, boxes)
    areas = box_areas(boxes)
    for i in range(0, 150, 7):
        np.testing.assert_array_equal(iou_one_to_many(boxes[i], boxes), matrix[i])
        np.testing.assert_array_equal(iou_one_to_many(boxes[i], boxes[i:], areas[i:]), matrix[i, i:])


def test_float32_stays_float32_and_mixed_inputs_widen() -> None:
    rng = np.random.default_rng(8)
    a, b = random_boxes(rng, 30), random_boxes(rng, 20)
    a32, b32 = a.astype(np.float32), b.astype(np.float32)
    got = pairwise_iou(a32, b32)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, iou_reference(a32, b32), rtol=1e-4, atol=1e-5)
    mixed = pairwise_iou(a, b32)  # the tracker: float64 predictions against float32 detections
    assert mixed.dtype == np.float64
    np.testing.assert_allclose(mixed, iou_reference(a, b32), rtol=1e-6, atol=1e-7)
    assert iou_one_to_many(a32[0], b32).dtype == np.float32


def test_values_on_hand_made_boxes() -> None:
    a = np.array([[0, 0, 10, 10]], np.float64)
    b = np.array([[0, 0, 10, 5], [10, 0, 20, 10], [20, 20, 30, 30], [0, 0, 10, 10], [5, 5, 5, 9]], np.float64)
    np.testing.assert_array_equal(pairwise_iou(a, b), [[0.5, 0.0, 0.0, 1.0, 0.0]])
    np.testing.assert_array_equal(iou_reference(a, b), [[0.5, 0.0, 0.0, 1.0, 0.0]])
    # Two zero-area boxes at the same place: no 0 / 0.
    point = np.array([[3, 3, 3, 3]], np.float64)
    assert pairwise_iou(point, point).tolist() == [[0.0]]


@pytest.mark.parametrize(("n", "m"), [(0, 5), (5, 0), (0, 0)])
def test_empty_inputs_give_empty_results_of_the_right_shape(n: int, m: int) -> None:
    rng = np.random.default_rng(1)
    a, b = random_boxes(rng, 5)[:n], random_boxes(rng, 5)[:m]
    assert pairwise_iou(a, b).shape == (n, m)
    assert iou_reference(a, b).shape == (n, m)
    assert iou_one_to_many(random_boxes(rng, 1)[0], b).shape == (m,)


def test_wrong_shapes_say_what_was_expected() -> None:
    with pytest.raises(ValueError, match=r"shape \[N, 4\], found shape \[3, 5\]"):
        pairwise_iou(np.zeros((3, 5)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"one box of shape \[4\]"):
        iou_one_to_many(np.zeros((1, 4)), np.zeros((2, 4)))


def test_conversions_on_known_values() -> None:
    xyxy = np.array([[10, 20, 50, 100], [0, 0, 3, 1]], np.float64)
    xywh = np.array([[10, 20, 40, 80], [0, 0, 3, 1]], np.float64)
    cxcywh = np.array([[30, 60, 40, 80], [1.5, 0.5, 3, 1]], np.float64)
    np.testing.assert_array_equal(xyxy_to_xywh(xyxy), xywh)
    np.testing.assert_array_equal(xywh_to_xyxy(xywh), xyxy)
    np.testing.assert_array_equal(xyxy_to_cxcywh(xyxy), cxcywh)
    np.testing.assert_array_equal(cxcywh_to_xyxy(cxcywh), xyxy)
    np.testing.assert_array_equal(cxcywh_to_xywh(cxcywh), xywh)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conversions_round_trip_keep_dtype_and_handle_empty(dtype: type) -> None:
    rng = np.random.default_rng(2)
    xyxy = random_boxes(rng, 50).astype(dtype)
    for forward, back in ((xyxy_to_xywh, xywh_to_xyxy), (xyxy_to_cxcywh, cxcywh_to_xyxy)):
        there = forward(xyxy)
        assert there.dtype == dtype and there.shape == (50, 4)
        np.testing.assert_allclose(back(there), xyxy, rtol=1e-6, atol=1e-4)
        assert forward(xyxy[:0]).shape == (0, 4)
    np.testing.assert_allclose(cxcywh_to_xywh(xyxy_to_cxcywh(xyxy)), xyxy_to_xywh(xyxy), rtol=1e-6, atol=1e-4)


def test_centre_conversions_keep_a_coordinate_major_layout() -> None:
    # The tracker keeps its state coordinate-major (Fortran order); a C-ordered copy would cost a transpose.
    state = np.asfortranarray(random_boxes(np.random.default_rng(4), 12))
    assert cxcywh_to_xyxy(state).flags.f_contiguous
    assert xyxy_to_cxcywh(state).flags.f_contiguous
