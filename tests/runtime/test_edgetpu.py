"""The Edge TPU path through a stand-in with the runtime's API (no accelerator here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgecv.detect import runtime
from edgecv.errors import ModelError, RuntimeUnavailableError


class FakeInterpreter:
    created: list[dict] = []

    def __init__(self, model_path: str, num_threads: int, experimental_delegates: list | None = None) -> None:
        FakeInterpreter.created.append(
            {"model_path": model_path, "num_threads": num_threads, "delegates": experimental_delegates}
        )
        if experimental_delegates is None and "edgetpu" in model_path:
            # what LiteRT says for an _edgetpu model run without the delegate
            raise RuntimeError("Encountered unresolved custom op: edgetpu-custom-op.")

    def allocate_tensors(self) -> None:
        pass


def fake_runtime(calls: list) -> runtime.Runtime:
    def load_delegate(library: str, options: dict) -> str:
        calls.append((library, options))
        return f"delegate:{options.get('device', 'any')}"

    return runtime.Runtime("fake", FakeInterpreter, load_delegate)


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "ssd_edgetpu.tflite"
    path.write_bytes(b"\x1c\x00\x00\x00TFL3" + b"\x00" * 64)
    return path


def test_delegate_is_loaded_with_the_device(monkeypatch: pytest.MonkeyPatch, model_file: Path) -> None:
    calls: list = []
    monkeypatch.setattr(runtime, "import_runtime", lambda: fake_runtime(calls))
    monkeypatch.setattr(runtime.ctypes, "CDLL", lambda name: object())
    FakeInterpreter.created.clear()
    runtime.load_interpreter(model_file, threads=2, edgetpu="usb:0")
    assert calls == [("libedgetpu.so.1", {"device": "usb:0"})]
    assert FakeInterpreter.created[-1]["delegates"] == ["delegate:usb:0"]
    runtime.load_interpreter(model_file, threads=2, edgetpu="")
    assert calls[-1] == ("libedgetpu.so.1", {})


def test_missing_library_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, model_file: Path) -> None:
    def no_library(name: str) -> None:
        raise OSError(f"{name}: cannot open shared object file: No such file or directory")

    monkeypatch.setattr(runtime, "import_runtime", lambda: fake_runtime([]))
    monkeypatch.setattr(runtime.ctypes, "CDLL", no_library)
    with pytest.raises(RuntimeUnavailableError, match="libedgetpu1-std"):
        runtime.load_interpreter(model_file, edgetpu="pci")


def test_edgetpu_model_on_cpu_says_to_enable_the_delegate(
    monkeypatch: pytest.MonkeyPatch, model_file: Path
) -> None:
    monkeypatch.setattr(runtime, "import_runtime", lambda: fake_runtime([]))
    with pytest.raises(ModelError, match="model.edgetpu"):
        runtime.load_interpreter(model_file)


def test_no_runtime_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def blocked(name: str, *args, **kwargs):
        if name.split(".")[0] in {"ai_edge_litert", "tflite_runtime", "tensorflow"}:
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", blocked)
    with pytest.raises(RuntimeUnavailableError, match="pip install ai-edge-litert"):
        runtime.import_runtime()
