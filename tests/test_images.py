"""edgecv.images: one suffix list, and every command that lists a folder picks the same files from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgecv.capture.images import list_uri_images
from edgecv.cli.detect import expand
from edgecv.convert.calibration import find_images
from edgecv.evaluate.detection import find_eval_images
from edgecv.images import IMAGE_SUFFIXES, has_image_suffix, is_glob, list_images


@pytest.fixture
def mixed_folder(tmp_path: Path) -> Path:
    """Every image suffix (one in upper case), files that are not images, a folder named like an image."""
    folder = tmp_path / "shots"
    folder.mkdir()
    for number, suffix in enumerate(sorted(IMAGE_SUFFIXES)):
        (folder / f"img{number:02d}{suffix}").write_bytes(b"")
    (folder / "upper.PPM").write_bytes(b"")
    for name in ("notes.txt", "clip.mp4", "labels.json", "noext"):
        (folder / name).write_bytes(b"")
    (folder / "album.jpg").mkdir()
    (folder / "sub").mkdir()
    (folder / "sub" / "deep.png").write_bytes(b"")
    return folder


def test_every_command_lists_the_same_images(mixed_folder: Path) -> None:
    direct = list_images(mixed_folder)
    assert len(direct) == len(IMAGE_SUFFIXES) + 1  # every suffix, plus upper.PPM; no folder, no sub/deep.png
    assert [p.name for p in direct] == sorted(p.name for p in direct)
    assert find_eval_images(mixed_folder) == direct  # edgecv eval detect --images
    assert list_uri_images(str(mixed_folder)) == direct  # source.uri: DIR
    assert [Path(p) for p in expand([str(mixed_folder)])] == direct  # edgecv detect DIR
    below = find_images(mixed_folder)  # edgecv convert --calibration searches below the folder
    assert below == sorted([*direct, mixed_folder / "sub" / "deep.png"])
    assert list_images(mixed_folder, recursive=True) == below


def test_suffix_and_glob_checks() -> None:
    assert {".ppm", ".jpg", ".tiff", ".webp"} <= IMAGE_SUFFIXES
    assert has_image_suffix("a/B.JPEG") and has_image_suffix(Path("x.pnm"))
    assert not has_image_suffix("clip.mp4") and not has_image_suffix("jpg")
    assert is_glob("shots/*.jpg") and is_glob("frame_?.png") and is_glob("[ab].png")
    assert not is_glob("shots/frame.png")
