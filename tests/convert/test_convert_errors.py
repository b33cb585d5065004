"""Bad inputs to ``edgecv convert``: one-line errors, the right exit code, no framework needed to fail."""

from __future__ import annotations

import argparse
import zipfile
from pathlib import Path

import pytest

from edgecv.convert.cli import add_arguments, run


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_missing_checkpoint(images: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = run(
        parse(str(tmp_path / "nope.pt2"), "--calibration", str(images), "-o", str(tmp_path / "m.tflite"))
    )
    err = capsys.readouterr().err.strip()
    assert status == 2  # an input to fix, as everywhere in edgecv
    assert "checkpoint not found" in err and len(err.splitlines()) == 1


def test_empty_calibration_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    status = run(
        parse(str(tmp_path / "m.keras"), "--calibration", str(empty), "-o", str(tmp_path / "m.tflite"))
    )
    err = capsys.readouterr().err
    assert status == 2
    assert "holds no images" in err


def test_missing_calibration_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = run(
        parse("m.keras", "--calibration", str(tmp_path / "nowhere"), "-o", str(tmp_path / "m.tflite"))
    )
    assert status == 2
    assert "folder not found" in capsys.readouterr().err


def test_unreadable_images_are_refused(tmp_path: Path) -> None:
    from edgecv.convert.calibration import float_spec, load_all
    from edgecv.errors import ConfigError

    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    spec = float_spec(32, 32, (0, 0, 0), (255, 255, 255), "letterbox", True)
    with pytest.raises(ConfigError, match="could be read"):
        load_all([broken], spec, "calibration")


def test_few_images_warn(images: Path, caplog: pytest.LogCaptureFixture) -> None:
    from edgecv.convert.calibration import warn_if_few

    warn_if_few(20)
    assert "300 or more" in caplog.text


def test_torchscript_is_refused_with_export_instructions(tmp_path: Path) -> None:
    from edgecv.convert.checkpoint import load_checkpoint
    from edgecv.errors import ModelError

    pytest.importorskip("torch")
    scripted = tmp_path / "model.pt"
    with zipfile.ZipFile(scripted, "w") as archive:  # the layout torch.jit.save writes
        archive.writestr("model/constants.pkl", b"")
        archive.writestr("model/code/__torch__.py", b"")
    with pytest.raises(ModelError, match="TorchScript") as info:
        load_checkpoint(scripted)
    assert "torch.export.save" in str(info.value)


def test_state_dict_needs_a_factory(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from edgecv.convert.checkpoint import load_checkpoint
    from edgecv.errors import ModelError

    path = tmp_path / "weights.pt"
    torch.save({"w": torch.zeros(1)}, path)
    with pytest.raises(ModelError, match="--model-factory"):
        load_checkpoint(path)


@pytest.mark.parametrize("text", ["0", "axb", "1x2x3", "-5"])
def test_bad_input_size(text: str) -> None:
    with pytest.raises(SystemExit):
        parse("m.pt2", "--calibration", "x", "-o", "y", "--input-size", text)


def test_max_map_drop_needs_annotations(
    images: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = run(
        parse("m.pt2", "--calibration", str(images), "-o", str(tmp_path / "m.tflite"), "--max-map-drop", "1")
    )
    assert status == 2
    assert "--val-annotations" in capsys.readouterr().err
