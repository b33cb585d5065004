"""The image topic's schedule (decided on the post thread) and its encoder thread."""

from __future__ import annotations

import threading

import cv2
import numpy as np

from edgecv.detections import Detections
from edgecv.labels import Labels
from edgecv.mqtt.image import AnnotatedJpeg, ImageEncoder, ImageSchedule
from edgecv.track.events import TrackEvent


def tracked(n: int) -> Detections:
    boxes = np.tile(np.array([[10, 20, 60, 90]], np.float32), (n, 1))
    return Detections(boxes, np.full(n, 0.9, np.float32), np.zeros(n, np.int32), np.arange(1, n + 1))


def event(kind: str) -> TrackEvent:
    return TrackEvent(kind, 1, 0, 0.9, 0.9, np.array([10, 20, 60, 90], np.float32), 0.0, 0.0)  # type: ignore[arg-type]


def test_due_on_each_new_track_and_at_most_every_interval_while_tracks_are_in_view() -> None:
    schedule = ImageSchedule(10.0)
    assert not schedule.due(Detections.empty(), [], 0.0)  # nothing in view: nothing due
    assert schedule.due(tracked(1), [event("new")], 1.0)  # a new track: at once
    assert schedule.due(tracked(2), [event("new")], 1.5)  # another new track: at once again
    assert not schedule.due(tracked(2), [event("update")], 5.0)
    assert not schedule.due(tracked(2), [], 11.4)
    assert schedule.due(tracked(2), [], 11.5)  # 10 s after the last one, tracks still in view
    assert not schedule.due(Detections.empty(), [], 30.0)  # gone: no refresh
    untracked = Detections(tracked(1).boxes, tracked(1).scores, tracked(1).class_ids)
    assert not schedule.due(untracked, [], 40.0)  # detections without a tracker are not tracks


def test_a_request_makes_the_next_frame_due_and_zero_interval_never_refreshes() -> None:
    schedule = ImageSchedule(0.0)
    assert schedule.due(tracked(1), [event("new")], 0.0)
    assert not schedule.due(tracked(1), [], 100.0)
    schedule.request()
    assert schedule.due(Detections.empty(), [], 100.1)  # set/snapshot: even with nothing in view
    assert not schedule.due(Detections.empty(), [], 100.2)  # once


def test_encoder_publishes_the_annotated_jpeg_off_the_callers_thread() -> None:
    image = np.full((120, 160, 3), 60, np.uint8)
    published: list[tuple[str, bytes, str]] = []
    done = threading.Event()

    def publish(camera: str, jpeg: bytes) -> None:
        published.append((camera, jpeg, threading.current_thread().name))
        done.set()

    encoder = ImageEncoder(AnnotatedJpeg(Labels(["person"]), {}, 640, 80), publish)
    encoder.submit("front", image, tracked(1))
    image[:] = 0  # the source reuses its buffer: the encoder drew its own copy
    assert done.wait(5)
    encoder.close()
    camera, jpeg, thread = published[0]
    assert camera == "front" and thread == "edgecv-mqtt-image"
    drawn = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert drawn.shape == (120, 160, 3)
    assert abs(int(drawn[5, 5].mean()) - 60) < 8  # the frame as it was when submitted
    assert (np.abs(drawn.astype(int) - 60).sum(axis=2) > 100).any()  # a box was drawn on it
