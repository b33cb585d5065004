"""YOLOv5 / Ultralytics ``.pt`` pickles: read without their code, refused when unknown, export heads checked.

The Ultralytics fixtures are real checkpoints written by the ``ultralytics`` package
(``tools/convert/make_ultralytics_fixture.py``), with the package's own forward output on a fixed input
beside each (``*.expected.npy``); neither ultralytics nor yolov5 is installed here.
"""

from __future__ import annotations

import pickle
import sys
import types
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from edgecv.convert.checkpoint import load_checkpoint  # noqa: E402
from edgecv.convert.pickle_scan import LIGHTNING, MODULE, STATE_DICT, ULTRALYTICS, YOLOV5, scan  # noqa: E402
from edgecv.convert.yolo.heads import V5Detect, V8Detect  # noqa: E402
from edgecv.convert.yolo.load import load_yolo  # noqa: E402
from edgecv.convert.yolo.unpickler import unknown_globals  # noqa: E402
from edgecv.errors import ModelError  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ultralytics"
ARCHS = [p.name.removesuffix("_tiny_shapes.pt") for p in sorted(FIXTURES.glob("*_tiny_shapes.pt"))]
SHAPES = ["circle", "square", "triangle"]


def fixed_input(size: int) -> torch.Tensor:
    """The input make_ultralytics_fixture.py ran the real package on."""
    return (torch.arange(3 * size * size, dtype=torch.float32) * 0.618034 % 1.0).reshape(1, 3, size, size)


def test_fixtures_present() -> None:
    assert "yolov8" in ARCHS


@pytest.mark.parametrize("arch", ARCHS)
def test_ultralytics_fixture_scans_as_ultralytics(arch: str) -> None:
    scanned = scan(FIXTURES / f"{arch}_tiny_shapes.pt")
    assert scanned is not None and scanned.kind == ULTRALYTICS
    assert ("ultralytics.nn.tasks", "DetectionModel") in scanned.globals
    assert unknown_globals(scanned.globals) == []


@pytest.mark.parametrize("arch", ARCHS)
def test_ultralytics_forward_matches_the_real_package(arch: str) -> None:
    """edgecv's modules and stock decode reproduce what ultralytics computed; the export head matches both."""
    path = FIXTURES / f"{arch}_tiny_shapes.pt"
    loaded = load_yolo(path, scan(path), trust=False)  # type: ignore[arg-type]
    assert loaded.names == SHAPES and loaded.input_hw == (160, 160) and loaded.family == "yolov8"
    model = loaded.model
    model.prepare((160, 160))
    assert isinstance(model.head(), V8Detect)
    x = fixed_input(160)
    expected = np.load(FIXTURES / f"{arch}_tiny_shapes.expected.npy")
    with torch.no_grad():
        features = model.features(x)
        stock = model.head().reference(features).numpy()
        ours = model(x).numpy()
    # The real package ran unfused fp32 weights; edgecv folds batch norms: float rounding only.
    np.testing.assert_allclose(stock, expected, atol=2e-3, rtol=1e-3)
    # The export head: boxes normalised to the input and stopped at its far edge (1.0), scores unchanged.
    np.testing.assert_allclose(ours[:, :4], np.minimum(expected[:, :4] / 160, 1.0), atol=1e-4)
    np.testing.assert_allclose(ours[:, 4:], expected[:, 4:], atol=1e-4)
    assert model.verify(x) <= 1e-5


def test_yolov5n_reads_without_its_code(shared_assets: Path) -> None:
    path = shared_assets / "models" / "yolov5n_pt" / "yolov5n.pt"
    scanned = scan(path)
    assert scanned is not None and scanned.kind == YOLOV5
    assert "models" not in sys.modules or not hasattr(sys.modules["models"], "yolo")
    checkpoint = load_checkpoint(path)
    assert checkpoint.metadata["family"] == "yolov5" and len(checkpoint.metadata["names"]) == 80
    assert checkpoint.input_hw == (640, 640) and checkpoint.output_range == (0.0, 1.0)
    model = checkpoint.model
    model.prepare((320, 320))
    head = model.head()
    assert isinstance(head, V5Detect)
    x = torch.rand(1, 3, 320, 320, generator=torch.Generator().manual_seed(0))
    assert model.verify(x) <= 1e-5
    assert tuple(model(x).shape) == (1, 85, 3 * (40 * 40 + 20 * 20 + 10 * 10))
    assert "models" not in sys.modules  # nothing imported the YOLOv5 code


def _fake_module(dotted: str, cls: type, monkeypatch: pytest.MonkeyPatch) -> None:
    """Register ``cls`` as ``dotted.<its name>`` (parents included) so pickle can name it; undone after."""
    parts = dotted.split(".")
    for k in range(1, len(parts) + 1):
        name = ".".join(parts[:k])
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    setattr(sys.modules[dotted], cls.__name__, cls)
    cls.__module__, cls.__qualname__ = dotted, cls.__name__


def _save_with_fake_module(
    obj: object, module_name: str, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pickle ``obj`` whose class claims to live in ``module_name`` (registered only while saving)."""
    with monkeypatch.context() as patch:
        _fake_module(module_name, type(obj), patch)
        torch.save({"model": obj}, path)


class EvilModel:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        import os

        return (os.makedirs, (str(Path(self.marker)),))  # type: ignore[attr-defined]

    marker = ""


def test_unknown_classes_are_refused_before_any_code_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "ran"
    EvilModel.marker = str(marker)
    path = tmp_path / "evil.pt"

    class DetectionModel:  # named like Ultralytics' model: the file reads as an Ultralytics checkpoint
        pass

    with monkeypatch.context() as patch:
        _fake_module("ultralytics.nn.tasks", DetectionModel, patch)
        torch.save({"model": DetectionModel(), "callback": EvilModel()}, path)
    scanned = scan(path)
    assert scanned is not None and scanned.kind == ULTRALYTICS
    with pytest.raises(ModelError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert "os.makedirs" in message and "--trust-checkpoint" in message
    assert not marker.exists()


def test_trust_needs_the_framework_importable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Foreign(torch.nn.Module):
        pass

    path = tmp_path / "foreign.pt"
    _save_with_fake_module(Foreign(), "ultralytics.nn.extra", path, monkeypatch)
    monkeypatch.setitem(sys.modules, "ultralytics", None)  # "not importable", whatever this machine has
    with pytest.raises(ModelError, match="importable"):
        load_checkpoint(path, trust=True)


class Plain(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 7, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.conv(x)).flatten(2)


def test_pickled_module_of_unknown_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "plain.pt"
    module_name = "edgecv_test_user_models"
    _fake_module(module_name, Plain, monkeypatch)
    torch.save(Plain(), path)
    scanned = scan(path)
    assert scanned is not None and scanned.kind == MODULE
    with pytest.raises(ModelError, match=f"{module_name}.Plain") as info:
        load_checkpoint(path)
    assert "--trust-checkpoint" in str(info.value)
    trusted = load_checkpoint(path, trust=True)  # the code is importable here: it is the user's choice
    assert isinstance(trusted.model, Plain) and not trusted.model.training


def test_state_dict_and_lightning_scans(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    weights = tmp_path / "weights.pt"
    torch.save(Plain().state_dict(), weights)
    assert scan(weights).kind == STATE_DICT  # type: ignore[union-attr]
    lightning = tmp_path / "lightning.ckpt"

    class AttributeDict(dict):  # type: ignore[type-arg]
        pass

    with monkeypatch.context() as patch:
        _fake_module("pytorch_lightning.utilities.parsing", AttributeDict, patch)
        torch.save({"state_dict": Plain().state_dict(), "hyper_parameters": AttributeDict(lr=1)}, lightning)
    assert scan(lightning).kind == LIGHTNING  # type: ignore[union-attr]
    with pytest.raises(ModelError, match="Lightning checkpoint"):
        load_checkpoint(lightning)


def test_not_a_pickle(tmp_path: Path) -> None:
    path = tmp_path / "junk.pt"
    path.write_bytes(pickle.dumps([1, 2, 3]))  # a bare pickle, not a torch.save zip
    assert scan(path) is None
    with pytest.raises(ModelError):
        load_checkpoint(path)
