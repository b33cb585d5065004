"""Custom op options read by hand from a ``.tflite`` (``edgecv.detect.custom_ops``), checked against the
flatbuffers library and the schema LiteRT bundles, on the shared SSD model."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgecv.detect.custom_ops import custom_ops
from edgecv.detect.decode.ssd import POSTPROCESS_OP
from edgecv.detect.metadata import read_metadata, write_metadata


def reference_options(model: Path) -> dict[str, dict[str, object]]:
    """The same question answered by LiteRT's generated schema and flatbuffers' own flexbuffer reader."""
    schema = pytest.importorskip("ai_edge_litert.schema_py_generated")
    flexbuffers = pytest.importorskip("flatbuffers.flexbuffers")
    buf = model.read_bytes()
    root = schema.Model.GetRootAsModel(buf, 0)
    codes = [root.OperatorCodes(i).CustomCode() for i in range(root.OperatorCodesLength())]
    found: dict[str, dict[str, object]] = {}
    for s in range(root.SubgraphsLength()):
        subgraph = root.Subgraphs(s)
        for o in range(subgraph.OperatorsLength()):
            op = subgraph.Operators(o)
            name = codes[op.OpcodeIndex()]
            if name and name.decode() not in found:
                found[name.decode()] = flexbuffers.Loads(op.CustomOptionsAsNumpy().tobytes())
    return found


def test_ssd_post_process_options_match_the_reference(ssd_mobilenet: Path) -> None:
    options = custom_ops(ssd_mobilenet)
    assert options[POSTPROCESS_OP]["num_classes"] == 90  # COCO's ids, the background not counted
    assert options[POSTPROCESS_OP]["max_detections"] == 10
    assert options == reference_options(ssd_mobilenet)  # every key and value, floats bit for bit


def test_ssd_class_count_reaches_the_decoder(ssd_mobilenet: Path) -> None:
    from edgecv.detect.detector import Detector

    assert read_metadata(ssd_mobilenet).custom_ops[POSTPROCESS_OP]["num_classes"] == 90
    assert Detector(ssd_mobilenet, threads=1).decoder.num_classes == 90


def test_models_without_custom_ops(yolov8n: Path, repo_root: Path) -> None:
    assert custom_ops(yolov8n) == {}
    assert custom_ops(repo_root / "tests" / "data" / "two_outputs_int8.tflite") == {}


@pytest.mark.parametrize("cut", [0, 8, 64, 4096, -2])
def test_truncated_or_foreign_files_give_nothing(tmp_path: Path, ssd_mobilenet: Path, cut: int) -> None:
    """A broken file is the interpreter's to report; this reader only must not crash or run away."""
    data = ssd_mobilenet.read_bytes()
    path = tmp_path / "cut.tflite"
    path.write_bytes(data[:cut])
    assert isinstance(custom_ops(path), dict)
    path.write_bytes(b"<html>not a model</html>" * 100)
    assert custom_ops(path) == {}
    assert custom_ops(tmp_path / "missing.tflite") == {}


def test_custom_ops_are_never_written_as_metadata(tmp_path: Path, ssd_mobilenet: Path) -> None:
    copy = tmp_path / "ssd.tflite"
    copy.write_bytes(ssd_mobilenet.read_bytes())
    meta = read_metadata(copy)
    write_metadata(copy, meta)
    again = read_metadata(copy)
    assert again.producer == "edgecv" and again.custom_ops == meta.custom_ops  # from the graph, not the zip
    assert "custom_ops" not in again.extra
