"""Frame → model input: letterbox like Ultralytics, stretch, quantization, colour order, unmapping."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edgecv.detect.preprocess import PAD_VALUE, InputSpec, Preprocessor, Transform, letterbox_geometry

INT8_YOLO = {"dtype": np.dtype(np.int8), "scale": 1 / 255, "zero_point": -128}  # q = pixel - 128
UINT8_YOLO = {"dtype": np.dtype(np.uint8), "scale": 1 / 255, "zero_point": 0}  # q = pixel


def frame(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def ultralytics_letterbox(img: np.ndarray, new_shape: tuple[int, int]) -> tuple[np.ndarray, float, tuple]:
    """Ultralytics' ``LetterBox`` (auto=False, scaleup=True, centre=True), restated for comparison."""
    shape = img.shape[:2]
    r = min(new_shape[0] / shape[0], new_shape[1] / shape[1])
    new_unpad = round(shape[1] * r), round(shape[0] * r)
    dw, dh = (new_shape[1] - new_unpad[0]) / 2, (new_shape[0] - new_unpad[1]) / 2
    if shape[::-1] != new_unpad:
        img = cv2.resize(img, new_unpad, interpolation=cv2.INTER_LINEAR)
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    img = cv2.copyMakeBorder(img, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(114, 114, 114))
    return img, r, (left, top)


SIZES = [
    (426, 640),
    (640, 586),
    (480, 640),
    (720, 1280),
    (375, 500),
    (100, 1000),
    (640, 640),
    (50, 60),
    (333, 333),
]


@pytest.mark.parametrize(("h", "w"), SIZES)
@pytest.mark.parametrize("dst", [(640, 640), (320, 320), (384, 640)])
def test_letterbox_matches_ultralytics(h: int, w: int, dst: tuple[int, int]) -> None:
    src = frame(h, w)
    expected, r, (left, top) = ultralytics_letterbox(src, dst)
    assert expected.shape[:2] == dst
    pre = Preprocessor(InputSpec(dst[0], dst[1], rgb=False, **UINT8_YOLO))
    out, transform = pre(src)
    np.testing.assert_array_equal(out[0], expected)
    assert (transform.pad_x, transform.pad_y) == (left, top)
    assert transform.scale_x == pytest.approx(r, rel=2 / min(h, w))
    assert letterbox_geometry(h, w, *dst) == transform


def test_int8_input_is_pixel_minus_128_with_quantized_pad() -> None:
    src = frame(426, 640, seed=1)
    pre = Preprocessor(InputSpec(640, 640, **INT8_YOLO))
    out, transform = pre(src)
    assert out.dtype == np.int8 and out.shape == (1, 640, 640, 3)
    rgb = cv2.cvtColor(ultralytics_letterbox(src, (640, 640))[0], cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(out[0].astype(np.int16), rgb.astype(np.int16) - 128)
    assert transform.pad_y == 107
    assert np.all(out[0, :107] == PAD_VALUE - 128) and np.all(out[0, -107:] == PAD_VALUE - 128)


def test_uint8_identity_input() -> None:
    src = frame(640, 640, seed=2)
    out, _ = Preprocessor(InputSpec(640, 640, **UINT8_YOLO))(src)
    np.testing.assert_array_equal(out[0], src[..., ::-1])


def test_ssd_style_input_is_fed_raw_pixels() -> None:
    """(q - 128) / 128 declared for a graph trained on (p - 127.5) / 127.5: the raw pixel, as exported."""
    spec = InputSpec(
        300, 300, np.dtype(np.uint8), 0.0078125, 128, (127.5,) * 3, (127.5,) * 3, resize="stretch"
    )
    src = frame(300, 300, seed=3)
    out, _ = Preprocessor(spec)(src)
    np.testing.assert_array_equal(out[0], src[..., ::-1])


def test_quantization_follows_scale_and_zero_point() -> None:
    """A scale that is not a pixel step: q = round((p - mean) / std / scale + zp), clipped."""
    spec = InputSpec(4, 4, np.dtype(np.int8), 0.02, 5, (0.0,) * 3, (255.0,) * 3, resize="stretch")
    src = np.arange(48, dtype=np.uint8).reshape(4, 4, 3) * 5
    out, _ = Preprocessor(spec)(src)
    rgb = src[..., ::-1].astype(np.float64)
    expected = np.clip(np.round(rgb / 255 / 0.02 + 5), -128, 127).astype(np.int8)
    np.testing.assert_array_equal(out[0], expected)


def test_float_input_with_per_channel_normalization() -> None:
    mean, std = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)  # ImageNet, RGB order
    spec = InputSpec(64, 64, np.dtype(np.float32), mean=mean, std=std)
    src = frame(32, 64, seed=4)
    out, transform = Preprocessor(spec)(src)
    assert out.dtype == np.float32
    boxed = cv2.cvtColor(ultralytics_letterbox(src, (64, 64))[0], cv2.COLOR_BGR2RGB).astype(np.float32)
    expected = (boxed - np.array(mean, np.float32)) / np.array(std, np.float32)
    np.testing.assert_allclose(out[0], expected, rtol=1e-6, atol=1e-6)
    assert transform.pad_y == 16


def test_float_input_zero_to_one_pads_with_114_over_255() -> None:
    out, _ = Preprocessor(InputSpec(64, 64, np.dtype(np.float32)))(frame(32, 64))
    np.testing.assert_allclose(out[0, :16], PAD_VALUE / 255, rtol=1e-6)


def test_stretch_fills_the_input_without_pad() -> None:
    src = frame(200, 100, seed=5)
    out, transform = Preprocessor(InputSpec(300, 300, resize="stretch", rgb=False, **UINT8_YOLO))(src)
    np.testing.assert_array_equal(out[0], cv2.resize(src, (300, 300), interpolation=cv2.INTER_LINEAR))
    assert transform == Transform(3.0, 1.5, 0.0, 0.0, 100, 200)


def test_colour_order() -> None:
    src = np.zeros((8, 8, 3), np.uint8)
    src[..., 0] = 200  # blue in OpenCV's BGR
    rgb, _ = Preprocessor(InputSpec(8, 8, resize="stretch", rgb=True, **UINT8_YOLO))(src)
    bgr, _ = Preprocessor(InputSpec(8, 8, resize="stretch", rgb=False, **UINT8_YOLO))(src)
    assert rgb[0, 0, 0].tolist() == [0, 0, 200]
    assert bgr[0, 0, 0].tolist() == [200, 0, 0]


def test_reused_buffer_is_repadded_when_geometry_changes() -> None:
    pre = Preprocessor(InputSpec(64, 64, **INT8_YOLO))
    buffer = pre.new_buffer()
    for h, w in [(64, 32), (32, 64), (64, 64), (20, 64), (20, 64)]:
        out, _ = pre(frame(h, w, seed=h + w), buffer)
        assert out is buffer
        rgb = cv2.cvtColor(ultralytics_letterbox(frame(h, w, seed=h + w), (64, 64))[0], cv2.COLOR_BGR2RGB)
        np.testing.assert_array_equal(out[0].astype(np.int16), rgb.astype(np.int16) - 128)


def test_fresh_buffers_are_always_padded() -> None:
    pre = Preprocessor(InputSpec(64, 64, **INT8_YOLO))
    for seed in range(5):
        out, _ = pre(frame(32, 64, seed=seed))
        assert np.all(out[0, :16] == PAD_VALUE - 128) and np.all(out[0, 48:] == PAD_VALUE - 128)


def test_rejects_frames_that_are_not_bgr_uint8() -> None:
    pre = Preprocessor(InputSpec(64, 64, **INT8_YOLO))
    with pytest.raises(ValueError, match=r"H×W×3 uint8 BGR frame, got shape \(64, 64\)"):
        pre(np.zeros((64, 64), np.uint8))
    with pytest.raises(ValueError, match="dtype float32"):
        pre(np.zeros((64, 64, 3), np.float32))


@pytest.mark.parametrize("resize", ["letterbox", "stretch"])
@pytest.mark.parametrize(("h", "w"), [(426, 640), (640, 586), (1080, 1920)])
def test_unmap_round_trip(resize: str, h: int, w: int) -> None:
    _, transform = Preprocessor(InputSpec(640, 640, resize=resize, **INT8_YOLO))(frame(h, w))
    rng = np.random.default_rng(6)
    xy = rng.uniform(0, [w, h], (50, 2))
    wh = rng.uniform(1, [w / 4, h / 4], (50, 2))
    boxes = np.concatenate([xy, np.minimum(xy + wh, [w, h])], axis=1).astype(np.float32)
    mapped = boxes.copy()
    mapped[:, 0::2] = boxes[:, 0::2] * transform.scale_x + transform.pad_x
    mapped[:, 1::2] = boxes[:, 1::2] * transform.scale_y + transform.pad_y
    back = transform.unmap(mapped)
    assert back.dtype == np.float32
    np.testing.assert_allclose(back, boxes, atol=1e-2)


def test_unmap_clips_to_the_image() -> None:
    transform = letterbox_geometry(320, 640, 640, 640)  # pad 160 above and below, scale 1
    boxes = np.array([[-20, 100, 700, 200], [10, 480, 50, 600], [5, 170, 15, 180]], np.float32)
    np.testing.assert_allclose(
        transform.unmap(boxes), [[0, 0, 640, 40], [10, 320, 50, 320], [5, 10, 15, 20]], atol=1e-4
    )
