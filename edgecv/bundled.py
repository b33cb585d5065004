"""The demo that ships with the package: a small int8 detector, its labels and a generated clip.

They live in the repository's ``models/`` folder, installed as the package ``edgecv.models``, so
``edgecv run`` with no arguments works from a checkout and after a plain ``pip install`` alike.
"""

from __future__ import annotations

from pathlib import Path

DEMO_MODEL = "demo_int8.tflite"
DEMO_LABELS = "demo_labels.txt"
DEMO_CLIP = "demo_clip.mp4"


def models_dir() -> Path:
    try:
        from importlib.resources import files

        return Path(str(files("edgecv.models")))
    except (ModuleNotFoundError, TypeError):
        return Path(__file__).resolve().parent.parent / "models"


def demo_model() -> Path:
    return models_dir() / DEMO_MODEL


def demo_labels() -> Path:
    return models_dir() / DEMO_LABELS


def demo_clip() -> Path:
    return models_dir() / DEMO_CLIP
