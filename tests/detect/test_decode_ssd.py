"""SSD ``TFLite_Detection_PostProcess`` outputs: found by shape and name or content, never by index."""

from __future__ import annotations

import numpy as np
import pytest

from edgecv.detect.decode import TensorInfo
from edgecv.detect.decode.ssd import SsdDecoder
from edgecv.errors import ModelError

INPUT_HW = (300, 400)  # h, w: not square, so x and y scaling are told apart
F32 = np.dtype(np.float32)

# Eight detection slots, five filled; the rest hold what the op leaves there (zeros).
BOXES = np.zeros((1, 8, 4), np.float32)
BOXES[0, :5] = [
    [0.1, 0.2, 0.5, 0.6],  # ymin, xmin, ymax, xmax
    [0.0, 0.0, 1.0, 1.0],
    [-0.05, 0.5, 0.4, 1.1],  # slightly outside: clipped to the input
    [0.3, 0.3, 0.35, 0.32],
    [0.6, 0.1, 0.9, 0.2],
]
CLASSES = np.array([[0, 2, 0, 17, 2, 0, 0, 0]], np.float32)
SCORES = np.array([[0.91, 0.75, 0.5, 0.3, 0.1, 0, 0, 0]], np.float32)
COUNT = np.array([5], np.float32)


def expected_boxes(rows: list[int]) -> np.ndarray:
    yx = np.clip(BOXES[0, rows], 0, 1)
    h, w = INPUT_HW
    return yx[:, [1, 0, 3, 2]] * np.array([w, h, w, h], np.float32)


def outputs_in(order: list[str], names: dict[str, str]) -> tuple[list[TensorInfo], list[np.ndarray]]:
    arrays = {"boxes": BOXES, "classes": CLASSES, "scores": SCORES, "count": COUNT}
    infos = [TensorInfo(100 + i, names[k], arrays[k].shape, F32) for i, k in enumerate(order)]
    return infos, [arrays[k] for k in order]


TF1_NAMES = {
    "boxes": "TFLite_Detection_PostProcess",
    "classes": "TFLite_Detection_PostProcess:1",
    "scores": "TFLite_Detection_PostProcess:2",
    "count": "TFLite_Detection_PostProcess:3",
}
# TF2 exports name outputs after the serving signature; the suffixes say nothing about content.
TF2_NAMES = {
    "scores": "StatefulPartitionedCall:1",
    "boxes": "StatefulPartitionedCall:3",
    "count": "StatefulPartitionedCall:0",
    "classes": "StatefulPartitionedCall:2",
}
ORDERS = [
    ["boxes", "classes", "scores", "count"],  # TF1
    ["scores", "boxes", "count", "classes"],  # common TF2 order
    ["count", "scores", "classes", "boxes"],
    ["classes", "count", "boxes", "scores"],
]


@pytest.mark.parametrize("order", ORDERS, ids=["-".join(o) for o in ORDERS])
@pytest.mark.parametrize("names", [TF1_NAMES, TF2_NAMES], ids=["tf1-names", "tf2-names"])
def test_outputs_in_any_order(order: list[str], names: dict[str, str]) -> None:
    infos, arrays = outputs_in(order, names)
    decoder = SsdDecoder(infos, INPUT_HW)
    got = decoder(arrays, 0.25, None)
    np.testing.assert_array_equal(got.class_ids, [0, 2, 0, 17])
    np.testing.assert_allclose(got.scores, SCORES[0, :4])
    np.testing.assert_allclose(got.boxes, expected_boxes([0, 1, 2, 3]), rtol=1e-6)
    assert got.boxes.dtype == np.float32 and got.class_ids.dtype == np.int32


def test_count_below_slots_and_threshold() -> None:
    infos, arrays = outputs_in(ORDERS[0], TF1_NAMES)
    decoder = SsdDecoder(infos, INPUT_HW)
    assert len(decoder(arrays, 0.0, None)) == 5  # slots past count are ignored even at conf 0
    assert len(decoder(arrays, 0.5, None)) == 3  # the boundary is inclusive
    arrays[3] = np.array([2], np.float32)
    np.testing.assert_array_equal(decoder(arrays, 0.0, None).class_ids, [0, 2])
    arrays[3] = np.array([0], np.float32)
    assert len(decoder(arrays, 0.0, None)) == 0
    arrays[3] = np.array([99], np.float32)  # a count past the slots is capped
    assert len(decoder(arrays, 0.0, None)) == 8


def test_class_allowlist() -> None:
    infos, arrays = outputs_in(ORDERS[1], TF2_NAMES)
    decoder = SsdDecoder(infos, INPUT_HW)
    got = decoder(arrays, 0.0, np.array([2, 17]))
    np.testing.assert_array_equal(got.class_ids, [2, 17, 2])
    np.testing.assert_allclose(got.boxes, expected_boxes([1, 3, 4]), rtol=1e-6)
    assert len(decoder(arrays, 0.0, np.array([5]))) == 0


def test_content_decision_waits_for_a_telling_frame() -> None:
    """A frame with nothing detected cannot tell classes from scores; a later one can, and it sticks."""
    order = ["scores", "boxes", "count", "classes"]
    infos, _ = outputs_in(order, TF2_NAMES)
    decoder = SsdDecoder(infos, INPUT_HW)
    empty = [np.zeros((1, 8), np.float32), np.zeros((1, 8, 4), np.float32), np.zeros(1, np.float32)]
    assert len(decoder([*empty, np.zeros((1, 8), np.float32)], 0.0, None)) == 0
    _, arrays = outputs_in(order, TF2_NAMES)
    np.testing.assert_array_equal(decoder(arrays, 0.25, None).class_ids, [0, 2, 0, 17])


def test_frame_of_class_zero_only_is_told_apart() -> None:
    """Person-only frames have no class id >= 1: whole numbers against fractions still decide."""
    order = ["scores", "boxes", "count", "classes"]
    infos, _ = outputs_in(order, TF2_NAMES)
    decoder = SsdDecoder(infos, INPUT_HW)
    classes = np.zeros((1, 8), np.float32)
    got = decoder([SCORES, BOXES, COUNT, classes], 0.25, None)
    np.testing.assert_allclose(got.scores, SCORES[0, :4])
    np.testing.assert_array_equal(got.class_ids, [0, 0, 0, 0])


def test_non_ssd_outputs_are_refused() -> None:
    infos = [TensorInfo(0, "output0", (1, 84, 8400), np.dtype(np.int8), 0.004, -128)]
    with pytest.raises(ModelError, match=r"model\.layout"):
        SsdDecoder(infos, INPUT_HW)
