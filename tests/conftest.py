"""Fixtures shared by every test package."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _private_state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test, and every edgecv it starts, keeps its state (the MQTT spool) under its own tmp_path:
    never in the real ~/.local/state or a service's $STATE_DIRECTORY, and never shared between tests."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_assets(repo_root: Path) -> Path:
    """``../shared/assets`` beside the checkout: real models, photographs and video (never copied in)."""
    assets = (repo_root / ".." / "shared" / "assets").resolve()
    if not assets.is_dir():
        pytest.skip("../shared/assets not present")
    return assets


@pytest.fixture(scope="session")
def demo_model(repo_root: Path) -> Path:
    """The bundled demo detector (models/), present in every checkout once built by tools/demo."""
    path = repo_root / "models" / "demo_int8.tflite"
    if not path.exists():
        pytest.skip("bundled demo model not built yet (tools/demo)")
    return path


@pytest.fixture(scope="session")
def yolov8n(shared_assets: Path) -> Path:
    return shared_assets / "models" / "yolov8n_int8" / "yolov8n_full_integer_quant.tflite"


@pytest.fixture(scope="session")
def ssd_mobilenet(shared_assets: Path) -> Path:
    return shared_assets / "models" / "ssd_mobilenet_v1_coco_quant" / "detect.tflite"


class FakeClock:
    """libfaketime for a child process: its wall clock is ours plus what :meth:`set` last wrote, its
    monotonic clock untouched (``DONT_FAKE_MONOTONIC``), as when NTP steps a real clock. The machine's clock
    is never touched: the offset lives in a file the preloaded library reads (at most once a second).

    libfaketime 0.9.10 breaks ``time.sleep`` in that mode (``clock_nanosleep`` on the monotonic clock fails
    with EINVAL) once the wall clock is set back further than the machine's uptime: children that must
    not fail that way avoid ``source.max_fps`` (the one sleep in edgecv's run loop).
    """

    def __init__(self, library: Path, path: Path) -> None:
        self.path = path
        self.set("+0")
        self.env = {
            "LD_PRELOAD": str(library),
            "FAKETIME_TIMESTAMP_FILE": str(path),
            "FAKETIME_CACHE_DURATION": "1",
            "DONT_FAKE_MONOTONIC": "1",
        }

    def set(self, spec: str) -> None:
        """A libfaketime time spec: ``+10800`` (seconds ahead), ``-10800``, ``@2020-01-01 00:00:00``."""
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(spec + "\n")
        tmp.replace(self.path)  # atomic: the library never reads half a line


@pytest.fixture
def faketime(tmp_path: Path) -> FakeClock:
    """Skips where Debian's ``faketime`` is missing (``make test`` installs it)."""
    found = sorted(Path("/usr/lib").glob("*/faketime/libfaketimeMT.so.1")) + sorted(
        Path("/usr/lib").glob("faketime/libfaketimeMT.so.1")
    )
    if not found:
        pytest.skip("faketime not installed: apt-get install faketime (as root; or: make test)")
    return FakeClock(found[0], tmp_path / "faketime.rc")
