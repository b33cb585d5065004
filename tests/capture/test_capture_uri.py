from __future__ import annotations

from pathlib import Path

import pytest

from edgecv.capture import ImageFolderSource, LiveSource, VideoFileSource, open_source
from edgecv.capture.opencv import OpenCVCamera, OpenCVStream
from edgecv.capture.picamera2 import Picamera2Device
from edgecv.capture.uri import mask_credentials, resolve
from edgecv.config.sections import SourceConfig
from edgecv.errors import SourceError


@pytest.mark.parametrize(
    ("uri", "kind", "target"),
    [
        ("0", "camera", 0),
        (" 2 ", "camera", 2),
        ("/dev/video1", "camera", "/dev/video1"),
        ("/dev/v4l/by-id/usb-cam-video-index0", "camera", "/dev/v4l/by-id/usb-cam-video-index0"),
        ("rtsp://cam.local:554/stream1", "stream", "rtsp://cam.local:554/stream1"),
        ("rtsps://cam.local/s", "stream", "rtsps://cam.local/s"),
        ("http://cam.local/video.mjpg", "stream", "http://cam.local/video.mjpg"),
        ("https://cam.local/live", "stream", "https://cam.local/live"),
        ("picamera2", "picamera2", 0),
        ("picamera2:1", "picamera2", 1),
        ("shots/*.jpg", "images", "shots/*.jpg"),
        ("shots/frame_??.png", "images", "shots/frame_??.png"),
        ("shots/[ab].png", "images", "shots/[ab].png"),
    ],
)
def test_resolve_by_uri(uri: str, kind: str, target: object) -> None:
    spec = resolve(uri)
    assert (spec.kind, spec.target) == (kind, target)


def test_resolve_existing_paths(video: Path, image_dir: Path) -> None:
    assert resolve(str(video)).kind == "video"
    assert resolve(str(image_dir)).kind == "images"
    assert resolve(str(image_dir / "a.png")).kind == "images"  # a single photo is a folder of one


@pytest.mark.parametrize(("uri", "number"), [(None, 0), ("", 0), ("1", 1), ("picamera2:2", 2)])
def test_resolve_picamera2_type(uri: str | None, number: int) -> None:
    spec = resolve(uri, "picamera2")
    assert (spec.kind, spec.target) == ("picamera2", number)


def test_resolve_picamera2_type_rejects_a_path() -> None:
    with pytest.raises(SourceError, match=r"source\.type is picamera2"):
        resolve("clip.mp4", "picamera2")


def test_a_folder_is_images_for_type_images_and_an_error_for_type_opencv(image_dir: Path) -> None:
    assert resolve(str(image_dir), "images").kind == "images"
    with pytest.raises(SourceError, match=r"it is a folder.*source\.type to images"):
        resolve(str(image_dir), "opencv")


def test_missing_path_names_it_and_what_uri_accepts(tmp_path: Path) -> None:
    missing = tmp_path / "foo.mp4"
    with pytest.raises(SourceError) as info:
        open_source(SourceConfig(uri=str(missing)))
    text = str(info.value)
    assert f"cannot open video source '{missing}': file not found" in text
    assert "source.uri takes a camera index" in text
    assert "\n" not in text


def test_no_uri_and_no_default_is_an_error() -> None:
    with pytest.raises(SourceError, match="no source given"):
        open_source(SourceConfig())


def test_default_uri_is_used_when_config_has_none(video: Path) -> None:
    source = open_source(SourceConfig(), default_uri=str(video))
    assert isinstance(source, VideoFileSource)


def test_stream_credentials_are_masked_in_names() -> None:
    assert mask_credentials("rtsp://admin:hunter2@10.0.0.5:554/h264") == "rtsp://admin:***@10.0.0.5:554/h264"
    assert mask_credentials("rtsp://10.0.0.5/h264") == "rtsp://10.0.0.5/h264"
    source = open_source(SourceConfig(uri="rtsp://admin:hunter2@10.0.0.5/h264"))
    assert "hunter2" not in source.name


def test_open_source_builds_without_opening(video: Path, image_dir: Path) -> None:
    # Building must not touch hardware: these cameras and hosts do not exist here.
    config = dict(width=320, height=240, loop=True)
    cases = [
        ("0", OpenCVCamera),
        ("/dev/video7", OpenCVCamera),
        ("rtsp://nowhere.invalid/s", OpenCVStream),
        ("picamera2:1", Picamera2Device),
    ]
    for uri, device_type in cases:
        source = open_source(SourceConfig(uri=uri, **config), source_id="cam-a")
        assert isinstance(source, LiveSource) and source.live
        assert isinstance(source._device, device_type)
        assert source.source_id == "cam-a"
    for uri, source_type in [(str(video), VideoFileSource), (str(image_dir), ImageFolderSource)]:
        source = open_source(SourceConfig(uri=uri, **config))
        assert isinstance(source, source_type) and not source.live
