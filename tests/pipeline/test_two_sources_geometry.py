"""Two sources of different frame sizes share one Detector: each frame keeps its own letterbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from edgecv import bundled
from edgecv.capture.images import ImageFolderSource
from edgecv.detect.detector import Detector
from edgecv.detect.preprocess import Transform, letterbox_geometry
from edgecv.detections import Detections
from edgecv.frame import Frame
from edgecv.output.base import SinkBase
from edgecv.pipeline.loop import Pipeline

FRAMES = 120  # every frame of the demo clip, per source


class Recorder(SinkBase):
    """Keeps every frame with its detections and the transform they were unmapped with."""

    def __init__(self, transforms: list[Transform]) -> None:
        self.transforms = transforms  # the last one is this frame's: filled on the same (post) thread
        self.seen: dict[tuple[str, int], tuple[np.ndarray, Detections, Transform]] = {}

    def write_frame(self, frame: Frame, detections: Detections) -> None:
        self.seen[(frame.source_id, frame.seq)] = (frame.image.copy(), detections, self.transforms[-1])


def clip_frames() -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(bundled.demo_clip()))
    frames = []
    while len(frames) < FRAMES:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    capture.release()
    return frames


def write_folder(folder: Path, images: list[np.ndarray]) -> str:
    folder.mkdir()
    for i, image in enumerate(images):
        cv2.imwrite(str(folder / f"{i:04d}.png"), image)
    return str(folder)


@pytest.fixture
def two_folders(tmp_path: Path) -> tuple[str, str]:
    frames = clip_frames()
    if not frames:
        pytest.skip("the demo clip does not decode here")
    # Wide frames pad above and below, tall ones left and right: a borrowed transform moves every box.
    wide = [cv2.resize(f, (320, 240), interpolation=cv2.INTER_AREA) for f in frames]
    tall = [cv2.rotate(cv2.resize(f, (400, 300)), cv2.ROTATE_90_CLOCKWISE) for f in frames]
    return write_folder(tmp_path / "wide", wide), write_folder(tmp_path / "tall", tall)


def test_concurrent_sources_match_a_single_source_run(demo_model: Path, two_folders: tuple[str, str]) -> None:
    detector = Detector(demo_model, labels=bundled.demo_labels(), threads=1)
    transforms: list[Transform] = []
    finish = detector.finish

    def recording_finish(outputs: list[np.ndarray], transform: Transform) -> Detections:
        transforms.append(transform)
        return finish(outputs, transform)

    detector.finish = recording_finish  # type: ignore[method-assign]
    recorder = Recorder(transforms)
    sources: list[Any] = [ImageFolderSource(uri, source_id=str(i)) for i, uri in enumerate(two_folders)]
    for source in sources:
        source.open()
    result = Pipeline(detector, sources, [recorder]).run()

    assert result.frames == 2 * FRAMES and not result.errors
    size = detector.input_hw
    alone = Detector(demo_model, labels=bundled.demo_labels(), threads=1)  # nothing shared with the run
    wrong = []
    found = 0
    for (source_id, seq), (image, detections, transform) in sorted(recorder.seen.items()):
        expected = alone.detect(image)
        found += len(expected)
        if transform != letterbox_geometry(*image.shape[:2], *size):
            wrong.append(f"source {source_id} frame {seq}: {transform}")
        elif not (
            np.array_equal(detections.boxes, expected.boxes)
            and np.array_equal(detections.scores, expected.scores)
            and np.array_equal(detections.class_ids, expected.class_ids)
        ):
            wrong.append(f"source {source_id} frame {seq}: detections differ")
    assert not wrong, f"{len(wrong)} of {2 * FRAMES} frames wrong, first: {wrong[0]}"
    assert found >= FRAMES, "too few detections for the comparison to mean anything"
