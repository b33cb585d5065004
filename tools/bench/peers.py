"""Peers whose pins conflict with ours (numpy<2, opencv-python) run in venvs of their own, made on first use."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np


def ensure_venv(venv: Path, packages: list[str]) -> Path:
    """The venv's python, creating the venv with ``packages`` when it does not exist yet."""
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating {venv} ({' '.join(packages)})", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *packages], check=True)
    return python


def float_decode(
    head: np.ndarray, scale: float, zero_point: int, size: tuple[int, int], conf: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The usual YOLOv8 post-processing before NMS: dequantize all of ``[1, 84, N]``, best class, threshold.

    Shared by every NMS peer (numpy only, so it also imports in a peer's own venv). Returns
    ``(boxes xyxy, xywh, scores, class_ids)`` of the anchors at or above ``conf``.
    """
    pred = ((head[0].astype(np.float32) - zero_point) * np.float32(scale)).T  # [N, 84]
    class_scores = pred[:, 4:]
    class_ids = class_scores.argmax(axis=1)
    scores = class_scores.max(axis=1)
    mask = scores >= conf
    xywh = pred[mask, :4] * np.array([size[1], size[0], size[1], size[0]], np.float32)
    boxes = np.empty_like(xywh)
    boxes[:, :2] = xywh[:, :2] - xywh[:, 2:] / 2
    boxes[:, 2:] = xywh[:, :2] + xywh[:, 2:] / 2
    return boxes, xywh, scores[mask], class_ids[mask]
