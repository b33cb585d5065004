"""Small media files made on the fly: capture tests never depend on a camera or on ../shared.

Helpers are handed out as the ``media`` fixture rather than imported: the suite runs with
``--import-mode=importlib``, where test folders are not on ``sys.path``.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest


class SyntheticMedia:
    """Frame i is a flat grey of ``level(i)``: its index survives lossy compression and is read back."""

    size = (64, 48)  # width, height
    step = 20

    def level(self, index: int) -> int:
        return 10 + index * self.step

    def index_of(self, image: np.ndarray) -> int:
        return round((float(image.mean()) - 10) / self.step)

    def image(self, index: int) -> np.ndarray:
        return np.full((self.size[1], self.size[0], 3), self.level(index), np.uint8)

    def write_video(self, path: Path, frames: int, fourcc: str = "MJPG") -> Path:
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 25, self.size)
        assert writer.isOpened(), f"this OpenCV cannot write {fourcc}"
        for i in range(frames):
            writer.write(self.image(i))
        writer.release()
        return path


@pytest.fixture
def media() -> SyntheticMedia:
    return SyntheticMedia()


@pytest.fixture
def video(tmp_path: Path, media: SyntheticMedia) -> Path:
    """A 10-frame MJPG clip; frame i is ``media.image(i)``."""
    return media.write_video(tmp_path / "clip.avi", 10)


@pytest.fixture
def image_dir(tmp_path: Path, media: SyntheticMedia) -> Path:
    """a.png … d.png holding images 0 … 3, plus a non-image file that must be ignored."""
    folder = tmp_path / "shots"
    folder.mkdir()
    for i, name in enumerate(["a.png", "b.png", "c.png", "d.png"]):
        cv2.imwrite(str(folder / name), media.image(i))
    (folder / "notes.txt").write_text("not an image")
    return folder
