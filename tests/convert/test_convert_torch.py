"""PyTorch detectors (.pt2 programs and state_dicts with a factory) → full int8 through litert-torch."""

from __future__ import annotations

import argparse
import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("litert_torch")
pytest.importorskip("ai_edge_quantizer")

from edgecv.convert.cli import add_arguments, run  # noqa: E402
from edgecv.convert.inspect_ops import float_ops, io_types  # noqa: E402
from edgecv.detect.detector import Detector  # noqa: E402
from edgecv.detect.metadata import read_metadata  # noqa: E402

IMGSZ = 64
NAMES = ["circle", "square", "triangle"]  # as written by the labels_file fixture

# Written to a file so the state_dict test can import it through --model-factory, like a user's package.
MODEL_SOURCE = textwrap.dedent(
    """
    import torch
    from torch import nn


    class Tiny(nn.Module):
        def __init__(self, classes=3, objectness=False):
            super().__init__()
            c = 4 + classes + int(objectness)
            self.objectness = objectness
            self.p3 = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 16, 3, 2, 1), nn.ReLU(),
                                    nn.Conv2d(16, 16, 3, 2, 1), nn.ReLU())
            self.p4 = nn.Sequential(nn.Conv2d(16, 24, 3, 2, 1), nn.ReLU())
            self.p5 = nn.Sequential(nn.Conv2d(24, 32, 3, 2, 1), nn.ReLU())
            self.up = nn.Upsample(scale_factor=2.0, mode="nearest")
            self.n4 = nn.Sequential(nn.Conv2d(56, 24, 3, 1, 1), nn.ReLU())
            self.n3 = nn.Sequential(nn.Conv2d(40, 16, 3, 1, 1), nn.ReLU())
            self.heads = nn.ModuleList(nn.Conv2d(k, c, 1) for k in (16, 24, 32))

        def forward(self, x):
            p3 = self.p3(x)
            p4 = self.p4(p3)
            p5 = self.p5(p4)
            n4 = self.n4(torch.cat([self.up(p5), p4], 1))
            n3 = self.n3(torch.cat([self.up(n4), p3], 1))
            out = torch.cat([h(f).flatten(2) for h, f in zip(self.heads, (n3, n4, p5))], 2).sigmoid()
            return out.transpose(1, 2) if self.objectness else out  # v5: [1, N, 5+C]; v8: [1, 4+C, N]


    def build():
        torch.manual_seed(0)
        return Tiny()
    """
)


@pytest.fixture(scope="module")
def factory_module(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("factory")
    (folder / "edgecv_tiny_torch.py").write_text(MODEL_SOURCE)
    return folder


def export(module: torch.nn.Module, path: Path, meta: dict | None = None) -> Path:
    program = torch.export.export(module.eval(), (torch.zeros(1, 3, IMGSZ, IMGSZ),))
    extra = {"edgecv_meta.json": json.dumps(meta)} if meta else None
    torch.export.save(program, str(path), extra_files=extra)
    return path


def convert(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return run(parser.parse_args(list(argv)))


@pytest.fixture(scope="module")
def yolov8(tmp_path_factory: pytest.TempPathFactory, factory_module: Path, images: Path) -> Path:
    import sys

    sys.path.insert(0, str(factory_module))
    try:
        import edgecv_tiny_torch
    finally:
        sys.path.remove(str(factory_module))
    tmp = tmp_path_factory.mktemp("t8")
    checkpoint = export(edgecv_tiny_torch.build(), tmp / "tiny.pt2", {"names": NAMES})
    output = tmp / "tiny_int8.tflite"
    assert convert(str(checkpoint), "--calibration", str(images), "-o", str(output)) == 0
    return output


def test_full_int8_with_metadata(yolov8: Path) -> None:
    assert float_ops(yolov8) == []
    assert io_types(yolov8) == (["int8"], ["int8"])
    meta = read_metadata(yolov8)
    assert (meta.names, meta.family, meta.imgsz) == (NAMES, "yolov8", [IMGSZ, IMGSZ])


def test_detector_loads_without_flags(yolov8: Path) -> None:
    detector = Detector(yolov8, threads=1)
    assert detector.labels.names == NAMES
    assert detector.input.dtype == np.int8
    detector.detect(np.full((100, 140, 3), 60, np.uint8))


def test_cosine_per_output(yolov8: Path) -> None:
    report = json.loads(yolov8.with_suffix(".drift.json").read_text())
    assert report["outputs"] and all(o["cosine"] >= 0.99 for o in report["outputs"])


def test_state_dict_with_factory(
    tmp_path: Path, factory_module: Path, images: Path, labels_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(factory_module))
    import edgecv_tiny_torch

    weights = tmp_path / "weights.pt"
    torch.save(edgecv_tiny_torch.build().state_dict(), weights)
    output = tmp_path / "sd.tflite"
    status = convert(
        str(weights), "--model-factory", "edgecv_tiny_torch:build", "--input-size", str(IMGSZ),
        "--calibration", str(images), "--labels", str(labels_file), "-o", str(output),
    )  # fmt: skip
    assert status == 0
    assert float_ops(output) == []


def test_yolov5_layout(
    tmp_path: Path, factory_module: Path, images: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(factory_module))
    import edgecv_tiny_torch

    torch.manual_seed(1)
    checkpoint = export(edgecv_tiny_torch.Tiny(objectness=True), tmp_path / "v5.pt2")
    output = tmp_path / "v5.tflite"
    assert (
        convert(str(checkpoint), "--calibration", str(images), "--layout", "yolov5", "-o", str(output)) == 0
    )
    assert read_metadata(output).family == "yolov5"
    assert Detector(output, threads=1).decoder.family == "yolov5"


def test_uint8_io_and_int16_layers_from_the_command_line(
    tmp_path: Path, factory_module: Path, images: Path, labels_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from edgecv.convert.inspect_ops import edgetpu_unsupported

    monkeypatch.syspath_prepend(str(factory_module))
    import edgecv_tiny_torch

    weights = tmp_path / "weights.pt"
    torch.save(edgecv_tiny_torch.build().state_dict(), weights)
    output = tmp_path / "u8.tflite"
    status = convert(
        str(weights), "--model-factory", "edgecv_tiny_torch:build", "--input-size", str(IMGSZ),
        "--calibration", str(images), "--labels", str(labels_file), "-o", str(output),
        "--io", "uint8", "--int16-activations", "p3",
    )  # fmt: skip
    assert status == 0
    assert io_types(output) == (["uint8"], ["uint8"]) and float_ops(output) == []
    assert read_metadata(output).extra["int16_layers"] == ["p3"]
    assert any(op.endswith("(int16)") for op in edgetpu_unsupported(output))
    layers = json.loads(output.with_suffix(".drift.json").read_text())["layers"]
    names = [r["name"] for r in layers if r["kind"] == "layer"]  # in the order their outputs are computed
    assert names[:3] == ["p3", "p4", "p5"] and {"n4", "n3", "up"} <= set(names)
    Detector(output, threads=1).detect(np.full((100, 140, 3), 60, np.uint8))
