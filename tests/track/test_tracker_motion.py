"""What motion gating asks of the tracker: whether a track needs the detector, and holding tracks on skipped
frames without ageing the ones still in view."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from edgecv.config.tracker import TrackerConfig
from edgecv.detect.detector import Detector
from edgecv.detections import Detections
from edgecv.track.tracker import ByteTracker

FPS = 10
# A single miss after 0.3 s unseen ends a track; every person SSD finds (its people score 0.4-0.8) starts one.
SHORT_MEMORY = TrackerConfig(lost_s=0.3, lost_frames=0, high_score=0.5, new_track_score=0.5)


def walk(tracker: ByteTracker, dets, box, frames: int, speed: float, t0: float = 0.0) -> float:
    """``frames`` frames of one person moving at ``speed`` px/s; returns the next frame's time."""
    t = t0
    for _ in range(frames):
        tracker.update(dets([box(100 + speed * t, 100)]), t)
        t += 1 / FPS
    return t


def test_tentative_moving_and_still_lost_tracks_need_the_detector(dets, box) -> None:
    tracker = ByteTracker()
    assert not tracker.needs_detection()  # no tracks
    tracker.update(dets([box(100, 100)]), 0.0)
    assert tracker.needs_detection()  # tentative: waits for its confirming hits
    t = walk(tracker, dets, box, 10, 0.0, 0.1)
    assert not tracker.needs_detection()  # confirmed and standing still
    tracker.update(dets([]), t)
    assert tracker.needs_detection()  # missed in place: looked for again on the next frame

    walker = ByteTracker()
    t = walk(walker, dets, box, 10, 80.0)  # 0.8 box heights per second
    assert walker.needs_detection()
    walker.update(dets([]), t)
    # Gone while walking: if it were in view, motion would show it; a still frame ages it as a miss.
    assert not walker.needs_detection()
    slow = ByteTracker()
    walk(slow, dets, box, 10, 3.0)  # 0.03 heights per second: someone shifting their weight
    assert not slow.needs_detection()


def test_a_lost_track_ages_on_skipped_frames_and_ends_as_without_gating(dets, box) -> None:
    config = TrackerConfig(lost_s=1.0, lost_frames=10)
    gated, plain = ByteTracker(config), ByteTracker(config)
    for tracker in (gated, plain):
        t = walk(tracker, dets, box, 10, 80.0)
        tracker.update(dets([]), t)  # the walker left
    held = [k for k in range(1, 30) for e in gated.hold(t + k / FPS) if e.kind == "end"]
    missed = [k for k in range(1, 30) for e in plain.update(dets([]), t + k / FPS)[1] if e.kind == "end"]
    assert held == missed == [10]  # unseen for more than lost_s and lost_frames frames


@pytest.fixture(scope="module")
def still_people(shared_assets: Path) -> Detections:
    """SSD MobileNet v1's detections of the people in one frame of vtest (PETS09-S2L1)."""
    model = shared_assets / "models" / "ssd_mobilenet_v1_coco_quant"
    detector = Detector(model / "detect.tflite", labels=model / "labelmap.txt", threads=1)
    capture = cv2.VideoCapture(str(shared_assets / "video" / "vtest.mp4"))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 100)
    ok, image = capture.read()
    if not ok:
        pytest.skip("vtest.mp4 does not decode here")
    detections = detector.detect(image)
    people = (detections.class_ids == 0) & (detections.scores >= 0.5)
    if people.sum() < 2:
        pytest.fail(f"SSD finds {people.sum()} people in vtest frame 100; the test needs two or more")
    return Detections(detections.boxes[people], detections.scores[people], detections.class_ids[people])


@pytest.mark.parametrize("hold", [True, False])
def test_still_people_keep_their_ids_when_a_detection_after_a_skipped_stretch_misses_one(
    still_people: Detections, hold: bool
) -> None:
    tracker = ByteTracker(SHORT_MEMORY)
    t = 0.0
    for _ in range(5):
        out, _ = tracker.update(still_people, t)
        t += 1 / FPS
    ids = sorted(out.track_ids.tolist())
    assert -1 not in ids
    for _ in range(30):  # 3 s on which nothing moved: the detector skipped
        if hold:
            tracker.hold(t)
        t += 1 / FPS
    # The next detection misses one of them (SSD's score dips under the threshold), the one after finds it.
    missing = Detections(still_people.boxes[1:], still_people.scores[1:], still_people.class_ids[1:])
    _, events = tracker.update(missing, t)
    out, more = tracker.update(still_people, t + 1 / FPS)
    events += more
    if hold:
        assert sorted(out.track_ids.tolist()) == ids
        assert not [e for e in events if e.kind in ("new", "end")]
    else:  # without the hold the stillness counts as 3 s unseen: the missed person's track ends
        assert [e.kind for e in events if e.kind in ("new", "end")] == ["end"]


def test_held_gives_the_confirmed_tracks_where_the_last_detection_saw_them(dets, box) -> None:
    tracker = ByteTracker(TrackerConfig(lost_s=1.0, lost_frames=10))
    assert len(tracker.held()) == 0  # no tracks
    t = 0.0
    for _ in range(5):  # a still person (id 1) and a walker who then leaves (lost)
        reported, _ = tracker.update(dets([box(100, 100), box(300 + 80 * t, 100)], [0.8, 0.7], [0, 2]), t)
        t += 1 / FPS
    reported, _ = tracker.update(dets([box(100, 100), box(500, 300)], [0.6, 0.9]), t)  # + a newcomer
    tracker.hold(t + 0.1)
    held = tracker.held()
    # Only the still person: the walker is lost (out of view), the newcomer tentative (no id yet).
    assert reported.track_ids is not None and reported.track_ids.tolist() == [1, -1]
    assert held.track_ids is not None and held.track_ids.tolist() == [1]
    assert held.boxes.tolist() == reported.boxes[:1].tolist()
    assert held.scores.tolist() == reported.scores[:1].tolist()
    assert held.class_ids.tolist() == [0]
    assert tracker.held().boxes.tolist() == held.boxes.tolist()  # holding moves nothing
