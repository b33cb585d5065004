"""``edgecv run`` with two cameras against a real mosquitto: per-camera topics and Home Assistant devices,
one connection, and one last will for the process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import yaml

from edgecv.frame import Frame
from edgecv.labels import Labels
from edgecv.mqtt.sink import MqttSink
from edgecv.pipeline.timing import StageTimes

REPO = Path(__file__).resolve().parents[2]


def shapes_clip(path: Path, size: tuple[int, int], frames: int = 24) -> Path:
    """Circles moving on grey: what the bundled demo model finds."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 12, size)
    for i in range(frames):
        image = np.full((size[1], size[0], 3), 90, np.uint8)
        cv2.circle(image, (30 + 3 * i, size[1] // 2), min(size) // 5, (0, 200, 255), -1)
        writer.write(image)
    writer.release()
    return path


def test_two_cameras_one_connection_per_camera_topics_and_one_last_will(
    broker_factory, subscribe, mq, demo_model: Path, tmp_path: Path
) -> None:
    broker = broker_factory(start=False)
    with broker.config.open("a") as config_file:
        config_file.write("log_type notice\n")  # mosquitto logs each new client: one is expected
    broker.start()
    sub = subscribe(broker.port, ["edgecv/#", "homeassistant/#"])
    config = {
        "model": {"path": str(demo_model), "threads": 1},
        "mqtt": {"discovery_prefix": "homeassistant", "labels": ["circle"], "stats_interval_s": 0.5},
        "cameras": {
            name: {
                "source": {
                    "uri": str(shapes_clip(tmp_path / f"{name}.avi", size)),
                    "loop": True,
                    "max_fps": 8,
                }
            }
            for name, size in (("front", (320, 240)), ("garage", (240, 320)))
        },
    }
    path = tmp_path / "cameras.yaml"
    path.write_text(yaml.safe_dump(config))
    env = mq.edgecv_env(broker.port)
    del env["EDGECV_MQTT__CAMERA"]  # the map names the cameras
    proc = subprocess.Popen(
        [sys.executable, "-m", "edgecv", "run", "--config", str(path)],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        flowing = lambda name: any(  # noqa: E731
            t == f"edgecv/dev/{name}/availability" and p == b"online" for t, p, _ in sub.on("/availability")
        )
        assert mq.wait_until(lambda: flowing("front") and flowing("garage"), timeout=120), sub.messages[-5:]
        assert mq.wait_until(
            lambda: all(sub.json(f"/{name}/stats") for name in ("front", "garage")), timeout=30
        )
        assert mq.wait_until(
            lambda: all(sub.json(f"/{name}/events") for name in ("front", "garage")), timeout=30
        )
        for name in ("front", "garage"):
            detections = sub.json(f"edgecv/dev/{name}/detections")
            assert detections and {m["camera"] for m in detections} == {name}
            assert {m["camera"] for m in sub.json(f"edgecv/dev/{name}/events")} == {name}
            assert {m["camera"] for m in sub.json(f"edgecv/dev/{name}/stats")} == {name}
            assert sub.json(f"edgecv/dev/{name}/counts/circle")
            sensor = json.loads(
                dict((t, p) for t, p, _ in sub.on("/config"))[
                    f"homeassistant/sensor/edgecv_dev_{name}/circle_count/config"
                ]
            )
            assert sensor["device"]["identifiers"] == [f"edgecv_dev_{name}"]
            assert sensor["state_topic"] == f"edgecv/dev/{name}/counts/circle"
            assert sensor["availability_mode"] == "all"
            assert [a["topic"] for a in sensor["availability"]] == [
                "edgecv/dev/availability",
                f"edgecv/dev/{name}/availability",
            ]
        assert len(sub.on("/config")) == 6  # count, presence and the annotated image, for each camera
        assert b"online" in (p for t, p, _ in sub.on("edgecv/dev/availability"))
        connected = [
            line
            for line in (broker.directory / "mosquitto.log").read_text().splitlines()
            if "New client connected" in line and " as edgecv-dev " in line
        ]
        assert len(connected) == 1, connected  # one connection for both cameras, client id edgecv-dev

        before = len(sub.messages)
        os.kill(proc.pid, signal.SIGKILL)  # no clean disconnect: the broker publishes the will
        proc.wait(10)
        assert mq.wait_until(lambda: any(p == b"offline" for t, p, _ in sub.messages[before:]), timeout=15)
        went_offline = {t for t, p, _ in sub.messages[before:] if p == b"offline"}
        assert went_offline == {"edgecv/dev/availability"}  # one last will, the process's
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


class Counters:
    """A camera of the run, as the sink reads it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.timings = StageTimes()
        self.dropped_frames = 0


def test_each_camera_keeps_its_own_spool_over_one_connection(
    broker_factory, subscribe, mq, tmp_path: Path
) -> None:
    broker = broker_factory(start=False)  # the broker is down: events wait in the spools
    spool = tmp_path / "spool"
    config = mq.config(broker.port, spool_dir=str(spool))
    sink = MqttSink(config, Labels(["person"]), cameras=[Counters("front"), Counters("garage")])
    for i in range(6):
        name = ("front", "garage")[i % 2]
        frame = Frame(np.zeros((8, 8, 3), np.uint8), i, time.time(), source_id=name)
        sink.write_events(frame, [mq.track_event("new", i, ts=frame.ts)])
    sink.close()
    for name, tracks in (("front", [0, 2, 4]), ("garage", [1, 3, 5])):
        records = [
            json.loads(line) for line in (spool / "dev" / name / "events.jsonl").read_text().splitlines()
        ]
        assert [json.loads(r["payload"])["track_id"] for r in records] == tracks
        assert {r["topic"] for r in records} == {f"edgecv/dev/{name}/events"}

    broker.start()
    sub = subscribe(broker.port, ["edgecv/dev/+/events"])
    again = MqttSink(config, Labels(["person"]), cameras=[Counters("front"), Counters("garage")])
    try:
        assert mq.wait_until(lambda: len(sub.json("/events")) == 6, timeout=10)
    finally:
        again.close()
    for name, tracks in (("front", [0, 2, 4]), ("garage", [1, 3, 5])):
        assert [m["track_id"] for m in sub.json(f"/{name}/events")] == tracks  # in order, per camera
    assert (spool / "dev" / "front" / "events.jsonl").read_text() == ""
