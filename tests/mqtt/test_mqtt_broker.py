"""edgecv against a real mosquitto: availability and last will, outages, restarts, spool, counts,
discovery and a shared-subscription fleet. Publishers are driven with synthetic frames and events."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from edgecv.labels import Labels
from edgecv.mqtt.sink import MqttSink

LABELS = Labels(["person", "car"])


def _events_by_track(sub) -> set[int]:
    return {m["track_id"] for m in sub.json("/events")}


def test_availability_online_then_offline_and_last_will_on_kill(broker, subscribe, mq) -> None:
    camera = subscribe(broker.port, ["edgecv/dev/cam/availability"])
    sink = MqttSink(mq.config(broker.port), LABELS)
    assert mq.wait_until(lambda: sink.publisher.online)
    # A camera is online only once the watchdog says its frames flow.
    assert mq.wait_until(lambda: camera.on("/availability"))
    assert camera.on("/availability")[-1][1] == b"offline"
    sink.camera_state("cam", True)
    assert mq.wait_until(lambda: camera.on("/availability")[-1][1] == b"online")
    sink.close()
    # A later subscriber sees the retained state: offline after a clean exit, the process's and the camera's.
    late = subscribe(broker.port, ["edgecv/dev/availability", "edgecv/dev/cam/availability"])
    assert mq.wait_until(lambda: len(late.on("/availability")) == 2)
    assert {(t, p, r) for t, p, r in late.on("/availability")} == {
        ("edgecv/dev/availability", b"offline", True),
        ("edgecv/dev/cam/availability", b"offline", True),
    }

    sub = subscribe(broker.port, ["edgecv/+/availability"])
    config = mq.config(broker.port, keepalive=5).model_dump_json()
    proc = mq.run_publisher(["--config", config, "--events", "1", "--hold"], stdout=-1, text=True)
    try:
        assert proc.stdout.readline().startswith("sent")
        assert mq.wait_until(lambda: any(p == b"online" for _, p, _ in sub.on("/availability")))
        os.kill(proc.pid, signal.SIGKILL)  # no clean disconnect: the broker publishes the will
        proc.wait(5)
        assert mq.wait_until(lambda: sub.on("/availability")[-1][1] == b"offline", timeout=5)
        assert {t for t, _, _ in sub.on("/availability")} == {"edgecv/dev/availability"}
    finally:
        proc.kill()
        proc.wait(5)


def test_broker_absent_at_start_then_started(broker_factory, subscribe, mq) -> None:
    broker = broker_factory(start=False)
    sink = MqttSink(mq.config(broker.port, reconnect_min_s=0.1, reconnect_max_s=0.4), LABELS)
    try:
        for seq in range(5):  # the pipeline runs while the broker is absent
            sink.write_frame(mq.frame(seq), mq.detections([0]))
        assert not sink.publisher.online and sink.publisher.queued > 0
        broker.start()
        sub = subscribe(broker.port, ["edgecv/dev/cam/detections"])
        started = time.monotonic()
        assert mq.wait_until(lambda: sink.publisher.online, timeout=3)
        seq = 5
        while not sub.on("/detections") and time.monotonic() - started < 3:
            sink.write_frame(mq.frame(seq), mq.detections([0]))
            seq += 1
            time.sleep(0.02)
        # Within the backoff window (max 0.4 s) plus a connect.
        assert sub.on("/detections"), "no detections within 3 s of the broker starting"
        assert time.monotonic() - started < 1.5
    finally:
        sink.close()


def test_three_broker_restarts_lose_no_event(broker, subscribe, mq) -> None:
    # A persistent-session QoS 1 subscriber: the broker keeps its queue across our outages and restarts.
    sub = subscribe(broker.port, ["edgecv/dev/cam/events"], client_id="durable", persistent=True)
    sink = MqttSink(mq.config(broker.port), LABELS)
    assert mq.wait_until(lambda: sink.publisher.online)
    total = 120
    try:
        for i in range(total):
            frame = mq.frame(i)
            sink.write_frame(frame, mq.detections([0]))
            sink.write_events(frame, [mq.track_event("new", i, ts=frame.ts)])
            if i in (30, 60, 90):
                broker.restart()  # SIGTERM + start: persistence on, like a service restart
            time.sleep(0.005)  # ~200 frames/s, bounded: 120 frames
        assert mq.wait_until(lambda: _events_by_track(sub) == set(range(total)), timeout=10)
        assert sink.publisher.reconnects >= 3
    finally:
        sink.close()
    summary = sink.summary()["mqtt"]
    assert summary["dropped"] == 0 and summary["queued"] == 0
    assert summary["acked"] >= total


def test_killed_mid_outage_spooled_events_arrive_after_restart(broker, subscribe, mq, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    config = mq.config(broker.port, spool_dir=str(spool))
    broker.stop()  # the outage
    proc = mq.run_publisher(
        ["--config", config.model_dump_json(), "--events", "20", "--hold"], stdout=-1, text=True
    )
    try:
        for _ in range(21):
            line = proc.stdout.readline()
        assert line.strip() == "holding"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)
    finally:
        proc.kill()
        proc.wait(5)
    camera_spool = spool / "dev" / "cam"  # one spool per device/camera under mqtt.spool_dir
    assert len((camera_spool / "events.jsonl").read_text().splitlines()) == 20

    broker.start()
    sub = subscribe(broker.port, ["edgecv/dev/cam/events"])
    again = mq.run_publisher(["--config", config.model_dump_json(), "--events", "0"], stdout=-1, text=True)
    out, _ = again.communicate(timeout=20)
    assert mq.wait_until(lambda: _events_by_track(sub) >= set(range(20)))
    assert json.loads(out.strip().splitlines()[-1])["mqtt"]["queued"] == 0
    assert (camera_spool / "events.jsonl").read_text() == ""  # all acknowledged, spool compacted


def test_counts_retained_and_on_change_only(broker, subscribe, mq) -> None:
    sub = subscribe(broker.port, ["edgecv/dev/cam/counts/#"])
    sink = MqttSink(mq.config(broker.port, labels=["person", "dog"]), LABELS)
    try:
        assert mq.wait_until(lambda: sink.publisher.online)
        frames = [
            ([0, 0, 1], [1, 2, 3]),
            ([0, 0, 1], [1, 2, 3]),  # same: nothing published
            ([0, 0, 1], [1, -1, 3]),  # a tentative track does not count
            ([0, 1], [1, 3]),  # same counts as before: nothing
            ([], []),
        ]
        for seq, (class_ids, track_ids) in enumerate(frames):
            sink.write_frame(mq.frame(seq), mq.detections(class_ids, track_ids))
        time.sleep(0.3)
    finally:
        sink.close()
    person = [m["count"] for m in sub.json("/counts/person")]
    car = [m["count"] for m in sub.json("/counts/car")]
    total = [m["count"] for m in sub.json("/counts/all")]
    assert (person, car, total) == ([0, 2, 1, 0], [1, 0], [0, 3, 2, 0])
    assert [m["count"] for m in sub.json("/counts/dog")] == [0]  # configured: published once, at 0
    late = subscribe(broker.port, ["edgecv/dev/cam/counts/#"])
    assert mq.wait_until(lambda: len(late.on("/counts/person")) == 1)
    assert late.on("/counts/person")[0][2] is True  # retained


def test_retained_counts_of_labels_no_longer_configured_are_cleared(broker, subscribe, mq) -> None:
    # What an earlier run that could not zero its counts (killed; "dog" configured then) left behind.
    earlier = subscribe(broker.port, [])
    for label, count in (("dog", 2), ("zebra", 1), ("car", 4)):
        body = {
            "v": 1,
            "id": f"old-{label}",
            "device": "dev",
            "camera": "cam",
            "label": label,
            "count": count,
        }
        earlier.client.publish(f"edgecv/dev/cam/counts/{label}", json.dumps(body), qos=1, retain=True)
    watch = subscribe(broker.port, ["edgecv/dev/cam/counts/#"])
    assert mq.wait_until(lambda: len(watch.messages) == 3)  # stored
    sink = MqttSink(mq.config(broker.port, labels=["person"]), LABELS)
    try:
        sink.write_frame(mq.frame(0), mq.detections([1], [7]))  # a car, seen in this run: its count stays
        cleared = lambda: {t.rsplit("/", 1)[1] for t, p, _ in watch.messages if p == b""}  # noqa: E731
        assert mq.wait_until(lambda: cleared() >= {"dog", "zebra"})
        late = subscribe(broker.port, ["edgecv/dev/cam/counts/#"])
        retained = lambda: {t.rsplit("/", 1)[1]: json.loads(p)["count"] for t, p, r in late.messages if r}  # noqa: E731
        assert mq.wait_until(lambda: retained() == {"person": 0, "car": 1, "all": 1}), retained()
    finally:
        sink.close()


def test_without_tracker_every_detection_counts(broker, subscribe, mq) -> None:
    sub = subscribe(broker.port, ["edgecv/dev/cam/counts/all"])
    sink = MqttSink(mq.config(broker.port), LABELS)
    try:
        sink.write_frame(mq.frame(0), mq.detections([0, 1, 1]))
        assert mq.wait_until(lambda: [m["count"] for m in sub.json("/counts/all")][-1:] == [3])
    finally:
        sink.close()


def test_home_assistant_discovery_created_and_removed(broker, subscribe, mq) -> None:
    sub = subscribe(broker.port, ["homeassistant/#"])
    config = mq.config(broker.port, discovery_prefix="homeassistant", labels=["person", "car"])
    sink = MqttSink(config, LABELS)
    assert mq.wait_until(lambda: len(sub.on("/config")) == 4)
    sink.close()
    configs = {t: json.loads(p) for t, p, _ in sub.on("/config")}
    sensor = configs["homeassistant/sensor/edgecv_dev_cam/person_count/config"]
    assert sensor["state_topic"] == "edgecv/dev/cam/counts/person"
    assert [a["topic"] for a in sensor["availability"]] == [
        "edgecv/dev/availability",
        "edgecv/dev/cam/availability",
    ]
    assert sensor["availability_mode"] == "all"
    assert sensor["device"]["identifiers"] == ["edgecv_dev_cam"]
    assert "homeassistant/binary_sensor/edgecv_dev_cam/car_present/config" in configs

    # Next run without "car": its entities are deleted with empty retained configs.
    sink = MqttSink(config.model_copy(update={"labels": ["person"]}), LABELS)
    try:
        removed = lambda: {t for t, p, _ in sub.on("/config") if p == b""}  # noqa: E731
        assert mq.wait_until(
            lambda: (
                removed()
                == {
                    "homeassistant/sensor/edgecv_dev_cam/car_count/config",
                    "homeassistant/binary_sensor/edgecv_dev_cam/car_present/config",
                }
            )
        )
    finally:
        sink.close()
    late = subscribe(broker.port, ["homeassistant/#"])
    time.sleep(0.3)
    assert sorted(t for t, _, _ in late.messages) == [
        "homeassistant/binary_sensor/edgecv_dev_cam/person_present/config",
        "homeassistant/sensor/edgecv_dev_cam/person_count/config",
    ]


def test_retained_state_republished_after_reconnect(broker, subscribe, mq) -> None:
    sink = MqttSink(mq.config(broker.port), LABELS)
    try:
        sink.write_frame(mq.frame(0), mq.detections([1]))
        assert mq.wait_until(lambda: sink.publisher.queued == 0 and sink.publisher.acked >= 3)
        # A broker that comes back without its database (a fresh one): state must be published again.
        broker.stop()
        for name in os.listdir(broker.directory):
            if name.endswith(".db"):
                os.remove(broker.directory / name)
        broker.start()
        assert mq.wait_until(lambda: sink.publisher.reconnects >= 1 and sink.publisher.online, timeout=5)
        sub = subscribe(broker.port, ["edgecv/dev/#"])
        assert mq.wait_until(lambda: sub.on("/counts/car") and sub.on("dev/availability"))
        assert sub.json("/counts/car")[-1]["count"] == 1 and sub.on("dev/availability")[-1][1] == b"online"
    finally:
        sink.close()


def test_fleet_shared_subscription_each_event_once(broker, subscribe, mq) -> None:
    group = [subscribe(broker.port, ["$share/workers/edgecv/+/+/events"]) for _ in range(2)]
    sinks = [MqttSink(mq.config(broker.port, device=f"dev{i}"), LABELS) for i in range(2)]
    try:
        assert mq.wait_until(lambda: all(s.publisher.online for s in sinks))
        for i in range(50):
            for sink in sinks:
                frame = mq.frame(i)
                sink.write_events(frame, [mq.track_event("new", i, ts=frame.ts)])
            time.sleep(0.002)
        expected = {(f"dev{d}", i) for d in range(2) for i in range(50)}

        def received() -> list[dict]:
            return [m for sub in group for m in sub.json("/events")]

        assert mq.wait_until(lambda: {(m["device"], m["track_id"]) for m in received()} == expected)
    finally:
        for sink in sinks:
            sink.close()
    unique = {m["id"]: m for m in received()}  # at-least-once: drop duplicates by id
    assert len(unique) == 100
    assert all(sub.on("/events") for sub in group), "the group shared the load"
    assert len({(m["device"], m["track_id"]) for m in unique.values()}) == 100


def test_duplicate_client_id_reported_once(broker, mq, caplog) -> None:
    config = mq.config(broker.port, client_id="same-id", reconnect_min_s=0.1, reconnect_max_s=0.2)
    # One process plays both: the second cannot share the first's spool (a lock keeps it off).
    first, second = MqttSink(config, LABELS), MqttSink(config.model_copy(update={"spool": False}), LABELS)
    try:
        assert mq.wait_until(
            lambda: first.publisher.link.client_id_conflict or second.publisher.link.client_id_conflict,
            timeout=5,
        )
    finally:
        first.close()
        second.close()
    reports = [r for r in caplog.records if "appears to be used by another client" in r.getMessage()]
    assert 1 <= len(reports) <= 2  # once per process at most (both run here)
