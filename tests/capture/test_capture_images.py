from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pytest

from edgecv.capture import FrameSource, ImageFolderSource, open_source
from edgecv.config.sections import SourceConfig
from edgecv.errors import SourceError

if TYPE_CHECKING:
    from conftest import SyntheticMedia


def read_all(source: FrameSource, limit: int = 100) -> list:
    frames = []
    while len(frames) < limit and (frame := source.read(1.0)) is not None:
        frames.append(frame)
    return frames


def test_folder_is_read_in_sorted_order_and_ends(image_dir: Path, media: SyntheticMedia) -> None:
    with open_source(SourceConfig(uri=str(image_dir))) as source:
        frames = read_all(source)
        assert source.read(1.0) is None
        assert source.stats.frames == 4 and source.stats.failures == 0  # notes.txt is not even tried
    assert [media.index_of(f.image) for f in frames] == [0, 1, 2, 3]
    assert [f.seq for f in frames] == [0, 1, 2, 3]


def test_unreadable_image_is_skipped_with_a_warning(
    image_dir: Path, caplog: pytest.LogCaptureFixture, media: SyntheticMedia
) -> None:
    (image_dir / "b2.jpg").write_bytes(b"\xff\xd8 truncated jpeg")
    with caplog.at_level(logging.WARNING), open_source(SourceConfig(uri=str(image_dir))) as source:
        frames = read_all(source)
        assert source.stats.failures == 1
    assert [media.index_of(f.image) for f in frames] == [0, 1, 2, 3]
    assert [f.seq for f in frames] == [0, 1, 2, 3]  # no gap where the bad file was
    assert any("b2.jpg" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


def test_loop_warns_about_a_bad_image_once(
    image_dir: Path, caplog: pytest.LogCaptureFixture, media: SyntheticMedia
) -> None:
    (image_dir / "b2.jpg").write_bytes(b"garbage")
    with caplog.at_level(logging.WARNING), open_source(SourceConfig(uri=str(image_dir), loop=True)) as source:
        frames = read_all(source, limit=10)
        assert source.stats.failures == 1
    assert [media.index_of(f.image) for f in frames] == [0, 1, 2, 3, 0, 1, 2, 3, 0, 1]
    assert sum("b2.jpg" in r.getMessage() for r in caplog.records) == 1


def test_glob_selects_matching_files(image_dir: Path, media: SyntheticMedia) -> None:
    with open_source(SourceConfig(uri=str(image_dir / "[bd].png"))) as source:
        assert [media.index_of(f.image) for f in read_all(source)] == [1, 3]


def test_recursive_glob(image_dir: Path, media: SyntheticMedia) -> None:
    nested = image_dir / "more"
    nested.mkdir()
    cv2.imwrite(str(nested / "e.png"), media.image(4))
    with open_source(SourceConfig(uri=str(image_dir / "**" / "*.png"))) as source:
        assert sorted(media.index_of(f.image) for f in read_all(source)) == [0, 1, 2, 3, 4]


def test_grey_and_alpha_images_come_out_bgr(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "grey.png"), np.full((8, 8), 90, np.uint8))
    cv2.imwrite(str(tmp_path / "rgba.png"), np.full((8, 8, 4), 90, np.uint8))
    with open_source(SourceConfig(uri=str(tmp_path))) as source:
        assert [f.image.shape for f in read_all(source)] == [(8, 8, 3), (8, 8, 3)]


def test_empty_folder_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("no images here")
    with pytest.raises(SourceError, match=r"the folder matches no image files"):
        open_source(SourceConfig(uri=str(tmp_path))).open()


def test_glob_matching_nothing_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"the pattern matches no image files"):
        open_source(SourceConfig(uri=str(tmp_path / "*.jpg"))).open()


@pytest.mark.parametrize("loop", [False, True])
def test_all_images_unreadable_is_an_error_not_a_spin(tmp_path: Path, loop: bool) -> None:
    for name in ("a.jpg", "b.jpg"):
        (tmp_path / name).write_bytes(b"garbage")
    with open_source(SourceConfig(uri=str(tmp_path), loop=loop)) as source:
        with pytest.raises(SourceError, match="could be read as an image"):
            source.read(1.0)
        assert source.stats.failures == 2
        assert source.read(1.0) is None


def test_single_image_file(image_dir: Path, media: SyntheticMedia) -> None:
    source = open_source(SourceConfig(uri=str(image_dir / "c.png")))
    assert isinstance(source, ImageFolderSource)
    with source:
        assert [media.index_of(f.image) for f in read_all(source)] == [2]
