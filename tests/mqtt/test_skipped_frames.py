"""Frames the detector skipped (motion gating) over MQTT: no detections, counts stand, stats count them."""

from __future__ import annotations

import dataclasses
import time

from edgecv.labels import Labels
from edgecv.mqtt.payloads import StatsMessage
from edgecv.mqtt.sink import MqttSink

LABELS = Labels(["person", "car"])


def test_skipped_frames_publish_nothing_but_count_in_stats(broker, subscribe, mq) -> None:
    sub = subscribe(broker.port, ["edgecv/dev/cam/#"])
    sink = MqttSink(mq.config(broker.port, detections_include_empty=True), LABELS)
    try:
        assert mq.wait_until(lambda: sink.publisher.online)
        sink.write_frame(mq.frame(0), mq.detections([0, 0], [1, 2]))
        for seq in (1, 2, 3):  # nothing moved: two people still there, unseen by the sleeping detector
            sink.write_frame(dataclasses.replace(mq.frame(seq), skipped=True), mq.detections([], []))
        sink.write_frame(mq.frame(4), mq.detections([0, 0], [1, 2]))
        sink.publish_stats()
        assert mq.wait_until(lambda: sub.json("/stats"))
        time.sleep(0.2)
    finally:
        sink.close()
    assert [m["seq"] for m in sub.json("/detections")] == [0, 4]
    # 2 from the first frame on, never 0 on the skipped ones; zeroed when the sink closes.
    assert [m["count"] for m in sub.json("/counts/person")] == [2, 0]
    stats = sub.json("/stats")[-1]
    StatsMessage.model_validate(stats)
    assert (stats["frames"], stats["skipped_frames"]) == (5, 3)
