"""Telling the decoder from output shapes, metadata and ``model.layout``; errors that say what to set."""

from __future__ import annotations

import numpy as np
import pytest

from edgecv.detect.decode import TensorInfo, build_decoder
from edgecv.detect.decode.ssd import SsdDecoder
from edgecv.detect.decode.yolo import YoloDecoder
from edgecv.detect.metadata import ModelMetadata
from edgecv.errors import ModelError


def head(shape: tuple[int, ...], dtype: type = np.int8, name: str = "output0") -> TensorInfo:
    quantized = np.dtype(dtype).kind in "iu"
    return TensorInfo(0, name, shape, np.dtype(dtype), 0.0039 if quantized else 0.0, -128 if quantized else 0)


def ssd_outputs() -> list[TensorInfo]:
    name = "TFLite_Detection_PostProcess"
    f32 = np.dtype(np.float32)
    return [
        TensorInfo(10, name, (1, 10, 4), f32),
        TensorInfo(11, name + ":1", (1, 10), f32),
        TensorInfo(12, name + ":2", (1, 10), f32),
        TensorInfo(13, name + ":3", (1,), f32),
    ]


@pytest.mark.parametrize(
    ("input_hw", "anchors", "family"),
    [
        ((640, 640), 8400, "yolov8"),  # 80² + 40² + 20²
        ((320, 320), 2100, "yolov8"),
        ((640, 640), 25200, "yolov5"),  # three anchors per cell
        ((320, 320), 6300, "yolov5"),
        ((480, 640), 6300, "yolov8"),  # 60·80 + 30·40 + 15·20
        ((640, 640), 8500, "yolov8"),  # P6: strides 8, 16, 32, 64
        ((1280, 1280), 34000, "yolov8"),
        ((1280, 1280), 102000, "yolov5"),
    ],
)
@pytest.mark.parametrize("channels_first", [True, False], ids=["channels-first", "channels-last"])
def test_anchor_count_tells_family_and_axis(
    input_hw: tuple[int, int], anchors: int, family: str, channels_first: bool
) -> None:
    channels = 85 if family == "yolov5" else 84
    shape = (1, channels, anchors) if channels_first else (1, anchors, channels)
    decoder = build_decoder([head(shape)], input_hw)
    assert isinstance(decoder, YoloDecoder)
    assert decoder.family == family
    assert decoder.channels_first is channels_first
    assert (decoder.anchors, decoder.num_classes) == (anchors, 80)
    assert family in decoder.describe() and f"{anchors} anchors" in decoder.describe()


@pytest.mark.parametrize("classes", [1, 3, 80])
def test_any_class_count_with_standard_anchors(classes: int) -> None:
    decoder = build_decoder([head((1, 4 + classes, 8400))], (640, 640))
    assert (decoder.family, decoder.num_classes) == ("yolov8", classes)
    decoder = build_decoder([head((1, 25200, 5 + classes), np.uint8)], (640, 640))
    assert (decoder.family, decoder.num_classes) == ("yolov5", classes)


@pytest.mark.parametrize(
    ("shape", "labels", "family", "channels_first"),
    [
        ((1, 84, 1000), 80, "yolov8", True),
        ((1, 1000, 84), 80, "yolov8", False),
        ((1, 85, 1000), 80, "yolov5", True),
        ((1, 1000, 85), 80, "yolov5", False),
        ((1, 85, 1000), 81, "yolov8", True),
    ],
)
def test_class_count_from_labels_tells_family(
    shape: tuple[int, ...], labels: int, family: str, channels_first: bool
) -> None:
    """An input the anchor counts do not fit (custom strides): the labels' class count decides."""
    by_count = build_decoder([head(shape)], (640, 640), num_labels=labels)
    by_names = build_decoder([head(shape)], (640, 640), ModelMetadata(names=[f"c{i}" for i in range(labels)]))
    for decoder in (by_count, by_names):
        assert (decoder.family, decoder.channels_first, decoder.num_classes) == (
            family,
            channels_first,
            labels,
        )


def test_metadata_family_and_layout_override() -> None:
    shape = (1, 85, 1000)
    assert build_decoder([head(shape)], (640, 640), ModelMetadata(family="yolov5")).family == "yolov5"
    # model.layout wins over metadata.
    decoder = build_decoder([head(shape)], (640, 640), ModelMetadata(family="yolov5"), layout="yolov8")
    assert (decoder.family, decoder.num_classes) == ("yolov8", 81)
    # The override also wins over the anchor count.
    assert build_decoder([head((1, 85, 8400))], (640, 640), layout="yolov5").family == "yolov5"


def test_undecidable_head_names_shapes_and_key() -> None:
    with pytest.raises(ModelError) as caught:
        build_decoder([head((1, 84, 1000), name="Identity")], (640, 640))
    message = str(caught.value)
    assert "[1, 84, 1000]" in message and "640x640" in message
    assert "model.layout" in message and "yolov8" in message and "yolov5" in message


@pytest.mark.parametrize(
    "shapes",
    [
        [(1, 80, 80, 255), (1, 40, 40, 255), (1, 20, 20, 255)],  # raw YOLOv5 grids, no concat
        [(1, 8400, 4), (1, 8400, 80)],  # boxes and scores apart
        [(1, 3, 84, 8400)],  # rank 4
    ],
)
def test_unsupported_outputs_name_shapes_and_key(shapes: list[tuple[int, ...]]) -> None:
    outputs = [head(s, name=f"out{i}") for i, s in enumerate(shapes)]
    with pytest.raises(ModelError) as caught:
        build_decoder(outputs, (640, 640))
    message = str(caught.value)
    assert "unsupported output layout" in message
    assert f"{len(shapes)} output(s)" in message
    for shape in shapes:
        assert str(list(shape)) in message
    assert "model.layout" in message


def test_unknown_layout_name_lists_choices() -> None:
    with pytest.raises(ModelError, match=r"model\.layout 'yolox'.*auto, ssd, yolov8, yolov5"):
        build_decoder([head((1, 84, 8400))], (640, 640), layout="yolox")


def test_ssd_layout_on_a_yolo_head_is_refused() -> None:
    with pytest.raises(ModelError, match=r"model\.layout is 'ssd'.*\[1, 84, 8400\]"):
        build_decoder([head((1, 84, 8400))], (640, 640), layout="ssd")


def test_too_few_channels_for_the_family() -> None:
    with pytest.raises(ModelError, match=r"4 channels, too few for a yolov8 head.*model\.layout"):
        build_decoder([head((1, 4, 8400))], (640, 640))
    with pytest.raises(ModelError, match=r"5 channels, too few for a yolov5 head"):
        build_decoder([head((1, 25200, 5))], (640, 640))


def test_ssd_found_by_shapes_in_any_order() -> None:
    outputs = ssd_outputs()
    for order in ([0, 1, 2, 3], [2, 0, 3, 1], [3, 2, 1, 0]):
        decoder = build_decoder([outputs[i] for i in order], (300, 300))
        assert isinstance(decoder, SsdDecoder) and decoder.family == "ssd"
    assert isinstance(build_decoder(outputs, (300, 300), ModelMetadata(family="ssd")), SsdDecoder)
