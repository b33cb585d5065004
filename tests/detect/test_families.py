"""Model families are one table: a family registered once is decoded, configured and converted."""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from edgecv.config import load_settings
from edgecv.config.sections import ModelConfig
from edgecv.convert.checkpoint import Checkpoint
from edgecv.convert.cli import add_arguments
from edgecv.convert.converter import _box_format, _preprocessing
from edgecv.convert.options import ConvertOptions
from edgecv.detect.decode import TensorInfo, build_decoder
from edgecv.detect.decode.yolo import YoloDecoder
from edgecv.detect.families import (
    FAMILIES,
    HeadLayout,
    HeadShape,
    ModelFamily,
    default_resize,
    layouts,
    normalization,
    register_family,
)
from edgecv.detect.metadata import ModelMetadata
from edgecv.detections import Detections
from edgecv.errors import ConfigError, ModelError

INPUT_HW = (64, 64)  # grid cells at strides 8/16/32: 64 + 16 + 4 = 84


class ToyDecoder:
    """Decodes nothing; remembers what build_decoder handed it."""

    family = "toy"

    def __init__(self, head: HeadLayout | None) -> None:
        self.head = head
        self.num_classes = head.channels - 6 if head is not None else None

    def __call__(self, arrays: list[np.ndarray], conf: float, classes: np.ndarray | None) -> Detections:
        return Detections.empty()

    def describe(self) -> str:
        return "toy"


def build_toy(
    outputs: list[TensorInfo], input_hw: tuple[int, int], metadata: ModelMetadata, head: HeadLayout | None
) -> ToyDecoder:
    return ToyDecoder(head)


TOY = ModelFamily(
    name="toy",
    description="toy heads (6 + classes channels, 2 anchors per cell)",
    decoder=build_toy,
    head=HeadShape(leading=6, anchors_per_cell=2),
    mean=(1.0, 2.0, 3.0),
    std=(4.0, 5.0, 6.0),
    resize="stretch",
)


@pytest.fixture
def toy() -> Iterator[ModelFamily]:
    register_family(TOY)
    yield TOY
    FAMILIES.unregister(TOY.name)


def head(shape: tuple[int, ...]) -> list[TensorInfo]:
    return [TensorInfo(0, "output0", shape, np.dtype(np.int8), 0.004, -128)]


def test_builtin_families_in_precedence_order() -> None:
    assert layouts() == ("auto", "ssd", "yolov8", "yolov5")
    assert normalization("ssd") == ((127.5,) * 3, (127.5,) * 3)
    assert (
        normalization("yolov8")
        == normalization(None)
        == normalization("unknown")
        == ((0.0,) * 3, (255.0,) * 3)
    )
    assert (default_resize("ssd"), default_resize("yolov5"), default_resize(None)) == (
        "stretch",
        "letterbox",
        "letterbox",
    )


def test_a_registered_family_is_picked_by_its_shape_rule_and_by_name(toy: ModelFamily) -> None:
    decoder = build_decoder(head((1, 9, 2 * 84)), INPUT_HW)  # 2 anchors per cell, 6 + 3 channels
    assert isinstance(decoder, ToyDecoder) and decoder.head is not None
    assert (decoder.head.anchors, decoder.head.channels, decoder.head.channels_first) == (168, 9, True)
    # Named outright, it wins over the anchor count of another family.
    assert isinstance(build_decoder(head((1, 84, 9)), INPUT_HW, layout="toy"), ToyDecoder)
    assert isinstance(build_decoder(head((1, 84, 9)), INPUT_HW, ModelMetadata(family="toy")), ToyDecoder)
    # ... and by its class count when no grid fits.
    assert isinstance(build_decoder(head((1, 9, 100)), INPUT_HW, num_labels=3), ToyDecoder)
    assert normalization("toy") == ((1.0, 2.0, 3.0), (4.0, 5.0, 6.0))
    assert default_resize("toy") == "stretch"


def test_a_new_family_never_takes_models_from_the_builtins() -> None:
    """Same rule as yolov8, default precedence: yolov8 models stay yolov8."""
    clone = ModelFamily(name="clone", description="clone", decoder=build_toy, head=HeadShape(4, 1))
    register_family(clone)
    try:
        assert layouts()[-1] == "clone"
        decoder = build_decoder(head((1, 84, 84)), INPUT_HW)
        assert isinstance(decoder, YoloDecoder) and decoder.family == "yolov8"
    finally:
        FAMILIES.unregister("clone")


def test_model_layout_accepts_registered_families_only(toy: ModelFamily) -> None:
    assert load_settings(environ={"EDGECV_MODEL__LAYOUT": "toy"}).model.layout == "toy"
    assert ModelConfig.model_json_schema()["properties"]["layout"]["enum"] == [
        "auto",
        "ssd",
        "yolov8",
        "yolov5",
        "toy",
    ]
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"EDGECV_MODEL__LAYOUT": "yolox"})
    message = str(caught.value)
    assert "\n" not in message
    assert "model.layout = 'yolox'" in message and "auto, ssd, yolov8, yolov5, toy" in message


def test_unregistered_family_is_refused_everywhere() -> None:
    with pytest.raises(ConfigError, match=r"model\.layout = 'toy'.*use one of: auto, ssd, yolov8, yolov5"):
        load_settings(environ={"EDGECV_MODEL__LAYOUT": "toy"})
    with pytest.raises(ModelError, match=r"model\.layout 'toy'.*auto, ssd, yolov8, yolov5"):
        build_decoder(head((1, 84, 84)), INPUT_HW, layout="toy")
    with pytest.raises(ConfigError, match=r"--layout 'toy'"):
        ConvertOptions(Path("m.pt2"), Path("calib"), Path("out.tflite"), layout="toy")


def test_convert_offers_and_uses_a_registered_family(toy: ModelFamily) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["m.pt2", "--calibration", "calib", "-o", "out.tflite", "--layout", "toy"])
    assert args.layout == "toy"
    options = ConvertOptions(Path("m.pt2"), Path("calib"), Path("out.tflite"), layout="toy")
    prep = _preprocessing(options, Checkpoint("torch", None, (64, 64)))
    assert prep.resize == "stretch"  # the family's own default
    # No box-format rule: the family's boxes come one way, nothing to measure on the float model.
    assert _box_format(b"", np.zeros((1, 64, 64, 3), np.float32), "toy") is None


TOY_MODULE = '''
"""A family added the documented way: this one file, nothing else."""

from __future__ import annotations

from edgecv.detections import Detections
from edgecv.detect.families import HeadShape, ModelFamily, register_family


class FileToyDecoder:
    family = "filetoy"

    def __init__(self, head):
        self.head = head
        self.num_classes = head.channels - 7  # what a label file must name, checked by edgecv

    def __call__(self, arrays, conf, classes):
        return Detections.empty()

    def describe(self):
        return "filetoy"


register_family(
    ModelFamily(
        name="filetoy",
        description="file toy heads (7 + classes channels)",
        decoder=lambda outputs, input_hw, metadata, head: FileToyDecoder(head),
        head=HeadShape(leading=7, anchors_per_cell=5),
    )
)
'''

CHECK_SCRIPT = """
import contextlib, io, json, sys
import numpy as np
import edgecv.detect.decode as decode

decode.__path__.append(sys.argv[1])  # as if filetoy.py sat in edgecv/detect/decode/

from edgecv.cli import main
from edgecv.detect.decode import TensorInfo, build_decoder

decoder = build_decoder([TensorInfo(0, "out", (1, 10, 5 * 84), np.dtype(np.int8), 0.004, -128)], (64, 64))
assert decoder.family == "filetoy", decoder.family
schema = io.StringIO()
with contextlib.redirect_stdout(schema):
    assert main(["config", "--schema"]) == 0
enum = json.loads(schema.getvalue())["$defs"]["ModelConfig"]["properties"]["layout"]["enum"]
assert enum == ["auto", "ssd", "yolov8", "yolov5", "filetoy"], enum
helped = io.StringIO()
with contextlib.redirect_stdout(helped), contextlib.suppress(SystemExit):
    main(["convert", "--help"])
assert "{auto,ssd,yolov8,yolov5,filetoy}" in helped.getvalue(), helped.getvalue()
print("ok")
"""


def test_one_new_module_is_all_a_family_needs(tmp_path: Path) -> None:
    """The real commands, in a fresh interpreter: decoder choice, config schema and convert's choices."""
    (tmp_path / "filetoy.py").write_text(textwrap.dedent(TOY_MODULE))
    result = subprocess.run(
        [sys.executable, "-c", CHECK_SCRIPT, str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
