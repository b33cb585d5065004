"""YOLO head decoding on hand-built tensors: every layout, dtype and box format against a plain reference."""

from __future__ import annotations

import numpy as np
import pytest

from edgecv.detect.decode import TensorInfo, build_decoder
from edgecv.detect.decode.yolo import YoloDecoder
from edgecv.detect.metadata import ModelMetadata

INPUT_HW = (160, 160)  # a v8 head has 20² + 10² + 5² = 525 anchors, a v5 head three times that
ANCHORS = {"yolov8": 525, "yolov5": 1575}
NUM_CLASSES = 7
# (dtype, scale, zero point): int8 like Ultralytics' full-integer export, uint8 with an odd zero point.
QUANT = {
    "int8": (np.int8, 0.0039063194, -128),
    "uint8": (np.uint8, 0.004, 3),
    "float32": (np.float32, 0.0, 0),
}


def quantize(values: np.ndarray, dtype: type, scale: float, zero_point: int) -> np.ndarray:
    if np.dtype(dtype).kind == "f":
        return values.astype(dtype)
    info = np.iinfo(dtype)
    return np.clip(np.round(values / scale + zero_point), info.min, info.max).astype(dtype)


def dequantize(values: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    if values.dtype.kind == "f":
        return values.astype(np.float32)
    return (values.astype(np.float32) - zero_point) * np.float32(scale)


def make_head(
    rng: np.random.Generator, family: str, anchors: int, num_classes: int = NUM_CLASSES
) -> np.ndarray:
    """Channels-first float head: normalized xywh, (objectness), class scores mostly low, a few high."""
    first = 5 if family == "yolov5" else 4
    head = np.empty((first + num_classes, anchors), np.float32)
    head[0:2] = rng.uniform(0.05, 0.95, (2, anchors))
    head[2:4] = rng.uniform(0.02, 0.5, (2, anchors))
    if family == "yolov5":
        head[4] = rng.uniform(0.0, 1.0, anchors)
    head[first:] = rng.uniform(0.0, 0.2, (num_classes, anchors))
    hot = rng.choice(anchors, anchors // 5, replace=False)
    head[first + rng.integers(0, num_classes, hot.size), hot] = rng.uniform(0.2, 1.0, hot.size)
    return head


def reference_decode(
    head: np.ndarray, family: str, conf: float, classes: list[int] | None, box_scale: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-anchor Python: best (allowed) class, score (× objectness for v5), threshold, xywh → xyxy."""
    first = 5 if family == "yolov5" else 4
    num_classes = head.shape[0] - first
    allowed = [c for c in (range(num_classes) if classes is None else classes) if 0 <= c < num_classes]
    boxes, scores, ids = [], [], []
    for i in range(head.shape[1]):
        if not allowed:
            break
        values = head[first:, i][allowed]
        j = int(np.argmax(values))
        score = values[j] * head[4, i] if family == "yolov5" else values[j]
        if score >= conf:
            cx, cy, w, h = head[:4, i] * box_scale
            boxes.append([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
            scores.append(score)
            ids.append(allowed[j])
    return (
        np.array(boxes, np.float32).reshape(-1, 4),
        np.array(scores, np.float32),
        np.array(ids, np.int32),
    )


def as_layout(head: np.ndarray, channels_first: bool) -> np.ndarray:
    return head[None] if channels_first else np.ascontiguousarray(head.T)[None]


def tensor(array: np.ndarray, scale: float = 0.0, zero_point: int = 0, name: str = "output0") -> TensorInfo:
    return TensorInfo(0, name, tuple(array.shape), array.dtype, scale, zero_point)


def assert_same(got, expected) -> None:
    boxes, scores, ids = expected
    np.testing.assert_array_equal(got.class_ids, ids)
    np.testing.assert_allclose(got.scores, scores, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(got.boxes, boxes, rtol=1e-5, atol=1e-3)
    assert (
        got.boxes.dtype == np.float32 and got.scores.dtype == np.float32 and got.class_ids.dtype == np.int32
    )


@pytest.mark.parametrize("family", ["yolov8", "yolov5"])
@pytest.mark.parametrize("channels_first", [True, False], ids=["channels-first", "channels-last"])
@pytest.mark.parametrize("kind", list(QUANT))
def test_decoder_matches_reference(family: str, channels_first: bool, kind: str) -> None:
    rng = np.random.default_rng(7)
    dtype, scale, zp = QUANT[kind]
    raw = as_layout(quantize(make_head(rng, family, ANCHORS[family]), dtype, scale, zp), channels_first)
    info = tensor(raw, scale, zp)
    decoder = build_decoder([info], INPUT_HW)
    assert isinstance(decoder, YoloDecoder)
    assert (decoder.family, decoder.channels_first) == (family, channels_first)
    assert (decoder.num_classes, decoder.anchors) == (NUM_CLASSES, ANCHORS[family])
    # The reference sees the whole tensor dequantized, channels-first.
    dequant = dequantize(raw[0] if channels_first else raw[0].T, scale, zp)
    scale_px = np.array([160, 160, 160, 160], np.float32)
    for conf in (0.25, 0.5, 0.05):
        got = decoder([raw], conf, None)
        assert len(got) > 0
        assert_same(got, reference_decode(dequant, family, conf, None, scale_px))


@pytest.mark.parametrize("family", ["yolov8", "yolov5"])
@pytest.mark.parametrize("channels_first", [True, False], ids=["channels-first", "channels-last"])
@pytest.mark.parametrize("declared", [None, "pixels"], ids=["guessed", "from-metadata"])
def test_float_boxes_in_pixels(family: str, channels_first: bool, declared: str | None) -> None:
    rng = np.random.default_rng(11)
    head = make_head(rng, family, ANCHORS[family])
    head[:4] *= 160  # pixel coordinates of the 160×160 input
    raw = as_layout(head, channels_first)
    decoder = build_decoder([tensor(raw)], INPUT_HW, ModelMetadata(box_format=declared))
    got = decoder([raw], 0.25, None)
    assert decoder.box_format == "pixels"
    assert_same(got, reference_decode(head, family, 0.25, None, np.ones(4, np.float32)))


def test_float_normalized_boxes_are_guessed_normalized() -> None:
    head = make_head(np.random.default_rng(3), "yolov8", 525)
    decoder = build_decoder([tensor(head[None])], INPUT_HW)
    got = decoder([head[None]], 0.25, None)
    assert decoder.box_format == "normalized"
    assert_same(got, reference_decode(head, "yolov8", 0.25, None, np.full(4, 160, np.float32)))


def test_non_square_input_scales_x_and_y_apart() -> None:
    input_hw = (96, 160)  # 12·20 + 6·10 + 3·5 = 315 anchors
    head = make_head(np.random.default_rng(5), "yolov8", 315)
    decoder = build_decoder([tensor(head[None])], input_hw)
    got = decoder([head[None]], 0.25, None)
    assert_same(got, reference_decode(head, "yolov8", 0.25, None, np.array([160, 96, 160, 96], np.float32)))


@pytest.mark.parametrize("family", ["yolov8", "yolov5"])
@pytest.mark.parametrize("kind", ["int8", "float32"])
def test_class_allowlist(family: str, kind: str) -> None:
    dtype, scale, zp = QUANT[kind]
    raw = quantize(make_head(np.random.default_rng(13), family, ANCHORS[family]), dtype, scale, zp)[None]
    decoder = build_decoder([tensor(raw, scale, zp)], INPUT_HW)
    dequant = dequantize(raw[0], scale, zp)
    scale_px = np.full(4, 160, np.float32)
    allow = np.array([1, 4], np.int64)
    got = decoder([raw], 0.2, allow)
    assert set(got.class_ids.tolist()) == {1, 4}
    assert_same(got, reference_decode(dequant, family, 0.2, [1, 4], scale_px))
    # Ids the head does not have are ignored; an allowlist of only those keeps nothing.
    got = decoder([raw], 0.2, np.array([-1, 4, 99], np.int64))
    assert_same(got, reference_decode(dequant, family, 0.2, [4], scale_px))
    assert len(decoder([raw], 0.0, np.array([99], np.int64))) == 0
    assert len(decoder([raw], 0.2, np.zeros(0, np.int64))) == 0


def _levels_head(family: str, dtype: type, scale: float, zp: int) -> np.ndarray:
    """A quantized channels-first head whose anchors' best scores walk through every quantized level."""
    info = np.iinfo(dtype)
    levels = np.arange(info.min, info.max + 1)
    n = levels.size
    first = 5 if family == "yolov5" else 4
    head = np.full((first + 3, n), zp, dtype)
    head[0:2] = quantize(np.full((2, n), 0.5), dtype, scale, zp)
    head[2:4] = quantize(np.full((2, n), 0.1), dtype, scale, zp)
    head[first + 1] = levels  # the best class, everything else sits at zero
    if family == "yolov5":
        head[4] = levels[::-1]  # objectness walks the other way, so products cover many values
        head[first + 1] = np.roll(levels, 37)
    return head


@pytest.mark.parametrize("family", ["yolov8", "yolov5"])
@pytest.mark.parametrize("kind", ["int8", "uint8"])
def test_quantized_prefilter_never_drops_an_anchor_at_or_above_conf(family: str, kind: str) -> None:
    dtype, scale, zp = QUANT[kind]
    head = _levels_head(family, dtype, scale, zp)
    raw = head[None]
    decoder = YoloDecoder(tensor(raw, scale, zp), INPUT_HW, family, True, "normalized")
    dequant = dequantize(head, scale, zp)
    first = 5 if family == "yolov5" else 4
    best = dequant[first + 1] * dequant[4] if family == "yolov5" else dequant[first + 1]
    # Every exact dequantized level is a boundary: conf equal to a score must keep that anchor.
    confs = {float(v) for v in np.unique(best) if v > 0}
    confs |= {float(np.nextafter(np.float32(c), np.float32(2))) for c in list(confs)[::7]}
    confs |= {float(np.nextafter(np.float32(c), np.float32(-1))) for c in list(confs)[::5]}
    for conf in sorted(confs):
        kept = decoder([raw], conf, None)
        expected = np.flatnonzero(best >= conf)
        # Anchors come back in anchor order; their scores identify them.
        np.testing.assert_array_equal(np.sort(kept.scores), np.sort(best[expected]), err_msg=f"conf={conf!r}")
        assert np.all(kept.scores >= np.float32(conf))


def test_float_head_boundary_is_inclusive() -> None:
    head = np.zeros((4 + 2, 525), np.float32)
    head[:4] = 0.5
    head[4, :3] = [0.25, np.nextafter(np.float32(0.25), np.float32(0)), 0.3]
    decoder = build_decoder([tensor(head[None])], INPUT_HW)
    kept = decoder([head[None]], 0.25, None)
    np.testing.assert_array_equal(kept.scores, np.array([0.25, 0.3], np.float32))


def test_nothing_above_threshold_gives_empty_detections() -> None:
    dtype, scale, zp = QUANT["int8"]
    raw = np.full((1, 4 + NUM_CLASSES, 525), zp, dtype)
    decoder = build_decoder([tensor(raw, scale, zp)], INPUT_HW)
    got = decoder([raw], 0.25, None)
    assert len(got) == 0 and got.boxes.shape == (0, 4)


def test_decoder_reads_any_leading_shape() -> None:
    """Some exports drop the batch axis: [channels, anchors] decodes like [1, channels, anchors]."""
    head = make_head(np.random.default_rng(17), "yolov8", 525)
    decoder = build_decoder([tensor(head)], INPUT_HW)
    got = decoder([head], 0.25, None)
    assert_same(got, reference_decode(head, "yolov8", 0.25, None, np.full(4, 160, np.float32)))
