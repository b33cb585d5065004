"""Representative images: found, split into calibration and held-out sets, preprocessed like ``edgecv run``.

Preprocessing is :class:`edgecv.detect.preprocess.Preprocessor`, the very function the device runs, so the
int8 ranges are measured on the pixels the model will see (same letterbox, colour order, normalisation).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from ..detect.preprocess import InputSpec, Preprocessor, ResizeMode
from ..errors import ConfigError
from ..images import IMAGE_SUFFIXES_TEXT, list_images

log = logging.getLogger(__name__)

RECOMMENDED_IMAGES = 300  # fewer and rare activations (bright scenes, large objects) get clipped ranges


def find_images(folder: Path, flag: str = "--calibration") -> list[Path]:
    """Image files directly in ``folder`` or below it, sorted so a run is repeatable."""
    if not folder.exists():
        raise ConfigError(f"{flag} folder not found: {folder}", "give a folder of representative images")
    if not folder.is_dir():
        raise ConfigError(f"{flag} {folder} is not a folder", "give a folder of images, not a single file")
    paths = list_images(folder, recursive=True)
    if not paths:
        raise ConfigError(
            f"{flag} folder {folder} holds no images ({IMAGE_SUFFIXES_TEXT})",
            "add a few hundred images like the ones the camera will see",
        )
    return paths


def split_holdout(paths: list[Path], holdout: int, seed: int = 0) -> tuple[list[Path], list[Path]]:
    """Keep ``holdout`` images (at most a fifth of them) out of calibration, for an honest drift report."""
    count = min(holdout, len(paths) // 5)
    if count == 0:
        # Too few to split: the drift is then measured on calibration images, which flatters the int8 model.
        log.warning("only %d images: the drift report reuses calibration images", len(paths))
        return paths, paths
    shuffled = paths.copy()
    random.Random(seed).shuffle(shuffled)
    held = sorted(shuffled[:count])
    return sorted(shuffled[count:]), held


def warn_if_few(count: int) -> None:
    if count < RECOMMENDED_IMAGES:
        log.warning(
            "calibrating on %d images; %d or more give steadier int8 ranges", count, RECOMMENDED_IMAGES
        )


def read_image(path: Path) -> np.ndarray | None:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        log.warning("skipping unreadable image %s", path)
    return image


def float_spec(
    height: int,
    width: int,
    mean: tuple[float, float, float],
    std: tuple[float, float, float],
    resize: str,
    rgb: bool,
) -> InputSpec:
    """The float model's input: ``(pixel - mean) / std`` as float32, placed as on the device."""
    # The device stretches only for "stretch" and letterboxes anything else; calibrate the same way.
    mode: ResizeMode = "stretch" if resize == "stretch" else "letterbox"
    return InputSpec(
        height=height, width=width, dtype=np.dtype(np.float32), mean=mean, std=std, resize=mode, rgb=rgb
    )


def batches(paths: list[Path], spec: InputSpec, desc: str) -> Iterator[np.ndarray]:
    """One ``[1, H, W, 3]`` input per readable image, with a progress bar; unreadable ones are skipped."""
    from tqdm import tqdm

    preprocess = Preprocessor(spec)
    produced = 0
    for path in tqdm(paths, desc=desc, unit="img", leave=False):
        image = read_image(path)
        if image is None:
            continue
        tensor, _ = preprocess(image)
        produced += 1
        yield tensor
    if produced == 0:
        raise ConfigError(
            f"none of the {len(paths)} images in the {desc} set could be read",
            "check the files are JPEG/PNG images OpenCV can open",
        )


def load_all(paths: list[Path], spec: InputSpec, desc: str) -> list[np.ndarray]:
    """Preprocess once and keep the tensors: both backends may walk the calibration set more than once."""
    return list(batches(paths, spec, desc))
