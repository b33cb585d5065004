"""Fixtures shared by every test package."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


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
