"""``edgecv convert --iou``: the drift report's NMS threshold (it was fixed at 0.45), recorded in the report.

Before: ``--iou`` was an unknown flag; both models of the drift report always ran at IoU 0.45, whatever
``detect.iou`` the converted model would run with.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from edgecv.convert.cli import add_arguments, run


def convert(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return run(parser.parse_args(list(argv)))


def test_drift_report_runs_at_the_given_iou(
    tmp_path: Path, images: Path, yolo_labels: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("litert_torch")
    pytest.importorskip("ai_edge_quantizer")

    class Tiny(torch.nn.Module):  # a box + 3 classes head over a P3-P5 grid of a 64x64 input
        def __init__(self) -> None:
            super().__init__()
            self.stem = torch.nn.Conv2d(3, 8, 3, 8, 1)
            self.head = torch.nn.Conv2d(8, 7, 1)
            self.pool = torch.nn.AvgPool2d(2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            p3 = self.stem(x)
            p4 = self.pool(p3)
            p5 = self.pool(p4)
            return torch.cat([self.head(p).flatten(2) for p in (p3, p4, p5)], 2).sigmoid()

    torch.manual_seed(0)
    checkpoint = tmp_path / "tiny.pt2"
    program = torch.export.export(Tiny().eval(), (torch.zeros(1, 3, 64, 64),))
    torch.export.save(program, str(checkpoint))
    output = tmp_path / "tiny_int8.tflite"
    status = convert(
        str(checkpoint), "--calibration", str(images), "-o", str(output),
        "--val-images", str(images), "--val-annotations", str(yolo_labels), "--iou", "0.3",
    )  # fmt: skip
    assert status == 0, capsys.readouterr().err
    report = json.loads(output.with_suffix(".drift.json").read_text())
    assert report["iou"] == 0.3
    assert report["map_float"] is not None and report["map_int8"] is not None
    assert "NMS IoU 0.3" in capsys.readouterr().out


@pytest.mark.parametrize("iou", ["0", "1.5", "-0.2"])
def test_iou_outside_0_1_is_refused(
    tmp_path: Path, images: Path, iou: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = convert(
        str(tmp_path / "model.pt2"),
        "--calibration",
        str(images),
        "-o",
        str(tmp_path / "m.tflite"),
        "--iou",
        iou,
    )
    assert status == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("edgecv convert: error: --iou must be in (0, 1]") and len(err.splitlines()) == 1
