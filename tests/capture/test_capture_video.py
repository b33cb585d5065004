from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from edgecv.capture import FrameSource, VideoFileSource, open_source
from edgecv.config.sections import SourceConfig
from edgecv.errors import SourceError

if TYPE_CHECKING:
    from conftest import SyntheticMedia


def read_all(source: FrameSource, limit: int = 1000) -> list:
    frames = []
    while len(frames) < limit and (frame := source.read(1.0)) is not None:
        frames.append(frame)
    return frames


def test_reads_every_frame_in_order_then_ends(video: Path, media: SyntheticMedia) -> None:
    before = time.time()
    with open_source(SourceConfig(uri=str(video)), source_id="door") as source:
        assert not source.live
        frames = read_all(source)
        assert source.read(1.0) is None  # the end stays the end
        assert source.stats.frames == 10
    assert [media.index_of(f.image) for f in frames] == list(range(10))
    assert [f.seq for f in frames] == list(range(10))
    assert all(f.source_id == "door" for f in frames)
    assert all(
        f.image.shape == (media.size[1], media.size[0], 3) and f.image.dtype == "uint8" for f in frames
    )
    stamps = [f.ts for f in frames]
    # media time: opened now, then one frame interval apart, however fast they were read
    assert stamps == sorted(stamps) and before <= stamps[0] <= time.time()


def test_two_runs_see_the_same_frames(video: Path) -> None:
    runs = []
    for _ in range(2):
        with open_source(SourceConfig(uri=str(video))) as source:
            runs.append([f.image.tobytes() for f in read_all(source)])
    assert runs[0] == runs[1]


def test_loop_starts_again_and_seq_keeps_counting(video: Path, media: SyntheticMedia) -> None:
    with open_source(SourceConfig(uri=str(video), loop=True)) as source:
        frames = read_all(source, limit=25)
    assert [f.seq for f in frames] == list(range(25))
    assert [media.index_of(f.image) for f in frames] == [i % 10 for i in range(25)]


def test_mp4v_mp4_is_read_too(tmp_path: Path, media: SyntheticMedia) -> None:
    clip = media.write_video(tmp_path / "clip.mp4", 5, fourcc="mp4v")
    with open_source(SourceConfig(uri=str(clip))) as source:
        assert [media.index_of(f.image) for f in read_all(source)] == list(range(5))


def test_max_fps_paces_a_file(video: Path) -> None:
    with open_source(SourceConfig(uri=str(video), max_fps=50)) as source:
        start = time.monotonic()
        for _ in range(6):
            assert source.read(1.0) is not None
        elapsed = time.monotonic() - start
    assert elapsed >= 5 / 50 * 0.95


def test_a_file_that_is_not_a_video_fails_to_open_with_a_hint(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00not a video at all" * 64)
    source = open_source(SourceConfig(uri=str(junk)))
    with pytest.raises(SourceError, match=r"cannot open video source .*junk\.mp4': OpenCV cannot decode it"):
        source.open()


def test_missing_file_opened_directly(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="file not found"):
        VideoFileSource(tmp_path / "gone.mp4").open()


def test_read_before_open_is_an_error(video: Path) -> None:
    with pytest.raises(SourceError, match="not open"):
        VideoFileSource(video).read(1.0)


@pytest.mark.shared
def test_shared_vtest_clip(shared_assets: Path) -> None:
    clip = shared_assets / "video" / "vtest.mp4"
    if not clip.exists():
        pytest.skip(f"{clip} is absent")
    with open_source(SourceConfig(uri=str(clip))) as source:
        frames = 0
        while (frame := source.read(1.0)) is not None:
            assert frame.image.shape == (360, 480, 3)
            assert frame.seq == frames
            frames += 1
    assert frames == 795
