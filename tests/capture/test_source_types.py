"""Source types register themselves: config choices, ``auto`` and ``open_source`` all follow the registry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from edgecv.capture import SOURCES, SourceBase, SourceSpec, SourceType, open_source, source_type_choices
from edgecv.capture.pattern import PatternSource
from edgecv.capture.stats import SourceStats
from edgecv.capture.uri import resolve
from edgecv.config import Settings, load_settings
from edgecv.config.sections import SourceConfig
from edgecv.errors import ConfigError, SourceError
from edgecv.frame import Frame

BUILT_IN = ("camera", "stream", "video", "images", "picamera2", "opencv", "pattern")


class FlatSource(SourceBase):
    """A test-only source type: ``flat:LEVEL`` gives three frames of that grey."""

    live = False

    def __init__(self, level: int, source_id: str) -> None:
        self.name = f"flat {level}"
        self.source_id = source_id
        self.stats = SourceStats()
        self.level = level
        self.opened = self.closed = False

    def open(self) -> None:
        self.opened = True

    def read(self, timeout: float) -> Frame | None:
        if self.stats.frames == 3:
            return None
        self.stats.frames += 1
        image = np.full((48, 64, 3), self.level, np.uint8)
        return Frame(
            image=image, seq=self.stats.frames - 1, ts=float(self.stats.frames), source_id=self.source_id
        )

    def close(self) -> None:
        self.closed = True


def _flat_spec(uri: str) -> SourceSpec | None:
    return SourceSpec("flat", int(uri[5:]), uri) if uri.startswith("flat:") and uri[5:].isdigit() else None


def _flat_resolve(uri: str) -> SourceSpec:
    spec = _flat_spec(uri)
    if spec is None:
        raise SourceError(f"source.type is flat but source.uri is '{uri}'", "use flat:LEVEL")
    return spec


FLAT = SourceType(
    _flat_resolve, lambda spec, config, source_id: FlatSource(int(spec.target), source_id), _flat_spec
)


@pytest.fixture
def flat() -> Iterator[None]:
    """``flat`` registered for one test, as a plug-in module would register it."""
    SOURCES.register("flat", FLAT)
    yield
    SOURCES.unregister("flat")


def test_every_built_in_type_is_registered_and_a_choice() -> None:
    assert set(BUILT_IN) <= set(SOURCES.names())
    assert source_type_choices()[0] == "auto"
    schema = Settings.model_json_schema()["$defs"]["SourceConfig"]["properties"]["type"]
    assert schema["enum"] == list(source_type_choices())


def test_an_unknown_type_is_a_one_line_error_listing_the_choices() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(overrides={"source": {"type": "webcam"}}, environ={})
    text = str(info.value)
    assert "source.type = 'webcam': unknown source type 'webcam'; use one of: auto, " in text
    assert all(name in text for name in BUILT_IN) and "\n" not in text
    with pytest.raises(SourceError, match="unknown source type 'webcam'"):
        resolve("0", "webcam")


def test_a_type_registered_at_test_time_is_a_choice_claims_auto_uris_and_builds(flat: None) -> None:
    assert SourceConfig(type="flat").type == "flat"
    assert "flat" in Settings.model_json_schema()["$defs"]["SourceConfig"]["properties"]["type"]["enum"]
    assert resolve("flat:7") == SourceSpec("flat", 7, "flat:7")  # auto
    with open_source(SourceConfig(uri="flat:200"), source_id="cam") as source:
        frames = [source.read(0.1) for _ in range(4)]
    assert isinstance(source, FlatSource) and source.closed
    assert [f.seq for f in frames if f] == [0, 1, 2] and frames[3] is None
    assert all(f.source_id == "cam" and int(f.image[0, 0, 0]) == 200 for f in frames if f)
    with pytest.raises(SourceError, match="use flat:LEVEL"):
        open_source(SourceConfig(type="flat", uri="clip.mp4"))


def test_named_types_take_only_their_own_uris(video: Path) -> None:
    assert resolve("3", "camera") == SourceSpec("camera", 3, "camera 3")
    assert resolve("rtsp://u:p@cam/s", "stream").name == "rtsp://u:***@cam/s"
    assert resolve(str(video), "video").kind == "video"
    assert resolve(str(video), "opencv").kind == "video"
    assert resolve("/dev/video0", "opencv").kind == "camera"
    with pytest.raises(SourceError, match="source.type is camera but source.uri is 'clip.mp4'"):
        resolve("clip.mp4", "camera")
    with pytest.raises(SourceError, match="source.type is stream but source.uri is '0'"):
        resolve("0", "stream")
    with pytest.raises(SourceError, match="is a Pi camera but source.type is video"):
        resolve("picamera2", "video")


def test_a_named_type_reads_an_unset_uri_its_own_way(video: Path) -> None:
    # The CLI's default (the demo clip) is for source.type auto; picamera2 alone means camera 0.
    source = open_source(SourceConfig(type="picamera2"), default_uri=str(video))
    assert source.name == "picamera2:0"
    pattern = open_source(SourceConfig(type="pattern"), default_uri=str(video))
    assert isinstance(pattern, PatternSource)
    assert isinstance(open_source(SourceConfig(), default_uri=str(video)), SourceBase)


def test_pattern_source_by_auto_and_by_name() -> None:
    with open_source(SourceConfig(uri="pattern://64x48?frames=3")) as source:
        frames = [source.read(0.1) for _ in range(4)]
    assert isinstance(source, PatternSource) and not source.live and source.lost_since is None
    assert [f.image.shape for f in frames if f] == [(48, 64, 3)] * 3 and frames[3] is None
    with open_source(SourceConfig(type="pattern", uri="pattern://32x16?frames=1", loop=True)) as source:
        assert all(source.read(0.1) is not None for _ in range(5))
    with pytest.raises(SourceError, match=r"use a uri such as pattern://320x240\?frames=100"):
        open_source(SourceConfig(type="pattern", uri="pattern://big"))


def test_file_sources_speak_the_whole_protocol(video: Path, image_dir: Path) -> None:
    # source_id and lost_since used to be read with getattr; now every source has them.
    for uri in (str(video), str(image_dir), "pattern://"):
        source = open_source(SourceConfig(uri=uri), source_id="s1")
        assert source.source_id == "s1" and source.lost_since is None and not source.live
