"""Small images and tiny detectors, built in the test, for the converter tests (seconds each)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

NAMES = ["circle", "square", "triangle"]


def draw_images(folder: Path, count: int, seed: int = 0, size: tuple[int, int] = (96, 128)) -> list[Path]:
    """Textured frames with a few filled shapes: enough structure for calibration ranges to mean something."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for k in range(count):
        coarse = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
        image = cv2.resize(coarse, (size[1], size[0]), interpolation=cv2.INTER_CUBIC)
        for _ in range(3):
            centre = (int(rng.integers(10, size[1] - 10)), int(rng.integers(10, size[0] - 10)))
            colour = tuple(int(c) for c in rng.integers(0, 256, 3))
            cv2.circle(image, centre, int(rng.integers(5, 20)), colour, -1)
        path = folder / f"img_{k:03d}.png"
        cv2.imwrite(str(path), image)
        paths.append(path)
    return paths


@pytest.fixture(scope="session")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("calibration")
    draw_images(folder, 20)
    return folder


@pytest.fixture(scope="session")
def labels_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("labels") / "labels.txt"
    path.write_text("\n".join(NAMES) + "\n")
    return path


@pytest.fixture(scope="session")
def yolo_labels(images: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One made-up box per image: enough for pycocotools to produce a figure."""
    folder = tmp_path_factory.mktemp("yolo_labels")
    for path in sorted(images.glob("*.png")):
        (folder / f"{path.stem}.txt").write_text("0 0.5 0.5 0.3 0.4\n")
    return folder
