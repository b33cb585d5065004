"""The fast per-frame serializer and the pydantic contracts cannot drift apart."""

from __future__ import annotations

import numpy as np

from edgecv.contracts import DetectionJson, FrameJson, detections_json
from edgecv.detections import Detections
from edgecv.labels import Labels


def sample(n: int, tracked: bool = False) -> Detections:
    rng = np.random.default_rng(n)
    xy = rng.uniform(0, 500, (n, 2)).astype(np.float32)
    boxes = np.concatenate([xy, xy + rng.uniform(1, 100, (n, 2)).astype(np.float32)], axis=1)
    return Detections(
        boxes,
        rng.uniform(0, 1, n).astype(np.float32),
        rng.integers(0, 5, n).astype(np.int32),
        np.where(rng.uniform(size=n) > 0.3, np.arange(n), -1) if tracked else None,
    )


def test_frame_lines_validate_against_the_contract() -> None:
    labels = Labels(["person", None, "car"])
    for tracked in (False, True):
        items = detections_json(sample(50, tracked), labels, decimals=2)
        FrameJson.model_validate(
            {"type": "frame", "camera": "cam0", "seq": 0, "ts": 1.5, "detections": items}
        )
        assert {d["label"] for d in items} <= {"person", "car", "class_1", "class_3", "class_4"}
        if tracked:
            assert any("track_id" in d for d in items) and any("track_id" not in d for d in items)


def test_serialized_values_round_as_promised() -> None:
    dets = Detections(
        np.array([[1.23456, 2.5, 3.75, 4.0]], np.float32),
        np.array([0.876543], np.float32),
        np.array([2], np.int32),
    )
    (item,) = detections_json(dets, Labels(["a", "b", "c"]), decimals=1)
    assert item == {"label": "c", "class_id": 2, "score": 0.8765, "box": [1.2, 2.5, 3.8, 4.0]}
    DetectionJson.model_validate(item)


def test_empty() -> None:
    assert detections_json(Detections.empty(), Labels()) == []


def test_event_lines_validate_against_the_contract() -> None:
    import io

    from edgecv.contracts import EventJson
    from edgecv.frame import Frame
    from edgecv.output.stdout import StdoutSink
    from edgecv.track.events import TrackEvent

    stream = io.StringIO()
    sink = StdoutSink(Labels(["person"]), stream=stream)
    event = TrackEvent("new", 7, 0, 0.8, 0.9, np.array([1.0, 2.0, 30.0, 40.0]), 100.0, 101.5)
    sink.write_events(Frame(np.zeros((4, 4, 3), np.uint8), 3, 101.5, source_id="door"), [event])
    import json

    line = json.loads(stream.getvalue())
    EventJson.model_validate(line)
    assert line["event"] == "new" and line["label"] == "person" and line["age"] == 1.5 and line["seq"] == 3
    assert line["camera"] == "door"  # events name their camera, as frame lines do
