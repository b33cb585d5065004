"""Runtime control over MQTT (``mqtt.commands``): parsing, and a real ``edgecv run`` steered through a real
mosquitto: state echoed, invalid commands answered on the error topic with nothing changed, detect OFF,
snapshot to the image topic, retained commands never re-applied, Home Assistant entities, SIGHUP back to
the config."""

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
import pytest
import yaml

from edgecv import bundled
from edgecv.detect.detector import DetectParams
from edgecv.labels import Labels
from edgecv.mqtt.commands import (
    Baseline,
    CameraControl,
    InvalidCommand,
    parse_classes,
    parse_conf,
    parse_switch,
)
from edgecv.mqtt.discovery import Discovery
from edgecv.mqtt.payloads import ErrorMessage
from edgecv.mqtt.topics import Topics

REPO = Path(__file__).resolve().parents[2]
LABELS = Labels(["person", "bicycle", "car"])


# -- parsing ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "value"), [("ON", True), ("off", False), (" On\n", True), ("OFF", False)])
def test_switch_values(text: str, value: bool) -> None:
    assert parse_switch(text) is value


@pytest.mark.parametrize("text", ["maybe", "", "1", "true"])
def test_switch_rejects(text: str) -> None:
    with pytest.raises(InvalidCommand, match="ON or OFF"):
        parse_switch(text)


@pytest.mark.parametrize(("text", "value"), [("0.5", 0.5), ("1", 1.0), (" 0.01 ", 0.01), ("1e-3", 0.001)])
def test_conf_values(text: str, value: float) -> None:
    assert parse_conf(text) == value


@pytest.mark.parametrize("text", ["2", "0", "-0.1", "abc", "nan", "inf", ""])
def test_conf_rejects(text: str) -> None:
    with pytest.raises(InvalidCommand):
        parse_conf(text)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ('["person", "car"]', ("person", "car")),
        ("person, car", ("person", "car")),
        ("car,car", ("car",)),
        ("", ()),
        ("[]", ()),
    ],
)
def test_classes_values(text: str, names: tuple[str, ...]) -> None:
    assert parse_classes(text, LABELS) == names


@pytest.mark.parametrize(
    ("text", "reason"),
    [("unicorn", "unknown class 'unicorn'"), ('["person", 3]', "JSON list of class names"), ("[person", "JSON"),
     ("person,,car", "empty class name")],
)  # fmt: skip
def test_classes_rejects(text: str, reason: str) -> None:
    with pytest.raises(InvalidCommand, match=reason):
        parse_classes(text, LABELS)


class FakeCamera:
    def __init__(self) -> None:
        self.name = "cam"
        self.params: DetectParams | None = DetectParams(conf=0.3)
        self.detect_enabled = True
        self.motion_enabled = True


def test_control_replaces_params_whole_and_reset_returns_to_the_config() -> None:
    camera = FakeCamera()
    original = camera.params
    control = CameraControl(camera, Baseline(DetectParams(conf=0.3)), LABELS)
    assert control.apply("conf", "0.7") == {"conf": "0.7"}
    assert camera.params is not original and camera.params is not None and camera.params.conf == 0.7
    assert original is not None and original.conf == 0.3  # the post thread's copy was never edited
    assert control.apply("classes", "car, person") == {"classes": '["person", "car"]'}
    assert camera.params.classes is not None and camera.params.classes.tolist() == [0, 2]
    assert control.apply("detect", "OFF") == {"detect": "OFF"} and not camera.detect_enabled
    with pytest.raises(InvalidCommand):
        control.apply("conf", "2")
    assert camera.params.conf == 0.7  # nothing changed
    with pytest.raises(InvalidCommand, match="unknown key"):
        control.apply("exposure", "1")
    control.reset(Baseline(DetectParams(conf=0.4)))
    assert control.state() == {"detect": "ON", "motion": "ON", "conf": "0.4", "classes": "[]"}


# -- a real run ---------------------------------------------------------------------------------------------


def demo_config(path: Path, port: int, **mqtt: object) -> Path:
    """The demo clip looping at 15 fps into MQTT (device dev, camera cam), commands on, discovery on, one
    counting line."""
    model = bundled.demo_model()
    if not model.exists():
        pytest.skip("the bundled demo model is not built (make demo-model)")
    config = {
        "source": {"uri": str(bundled.demo_clip()), "loop": True, "max_fps": 15},
        "model": {"path": str(model), "labels": str(bundled.demo_labels())},
        "detect": {"conf": 0.3},
        "lines": {"middle": {"points": [[0.5, 0], [0.5, 1]], "units": "relative", "classes": ["circle"]}},
        "output": {"sinks": ["mqtt"]},
        "mqtt": {
            "host": "127.0.0.1",
            "port": port,
            "device": "dev",
            "camera": "cam",
            "commands": True,
            "discovery_prefix": "homeassistant",
            "labels": ["circle"],
            "image_interval_s": 1,
            "stats_interval_s": 0.5,
            "reconnect_min_s": 0.1,
            "reconnect_max_s": 0.5,
            **mqtt,
        },
    }
    path.write_text(yaml.safe_dump(config))
    return path


class EdgecvRun:
    def __init__(self, config: Path, tmp_path: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith("EDGECV_")}
        env["XDG_STATE_HOME"] = str(tmp_path / "state")
        self.log = tmp_path / "edgecv.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "edgecv", "run", "--config", str(config)],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("w"),
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)


@pytest.fixture
def edgecv_run(tmp_path: Path):
    made: list[EdgecvRun] = []

    def start(config: Path) -> EdgecvRun:
        run = EdgecvRun(config, tmp_path)
        made.append(run)
        return run

    yield start
    for run in made:
        if run.proc.poll() is None:
            run.proc.kill()
            run.proc.wait(10)


def detections_after(sub, mark: int) -> list[dict]:
    return [json.loads(p) for t, p, _ in sub.messages[mark:] if t.endswith("/detections")]


def test_commands_steer_a_running_edgecv(tmp_path, broker, subscribe, mq, edgecv_run, ha) -> None:
    # A retained command left on the broker by an earlier publisher: never applied, cleared, reported.
    stale = subscribe(broker.port, [])
    stale.client.publish("edgecv/dev/cam/set/conf", b"0.95", qos=1, retain=True)
    sub = subscribe(broker.port, ["edgecv/#", "homeassistant/#"])
    spool = tmp_path / "spool"
    config = demo_config(tmp_path / "edgecv.yaml", broker.port, spool_dir=str(spool))
    # Line totals an earlier run left: set/reset_counts zeroes them.
    (spool / "dev" / "cam").mkdir(parents=True)
    (spool / "dev" / "cam" / "line_totals.json").write_text(
        json.dumps({"v": 1, "lines": {"middle": {"in": {"circle": 3}, "out": {"circle": 1}}}})
    )
    run = edgecv_run(config)
    wait = mq.wait_until
    assert wait(lambda: sub.on("/state/conf"), 60), "no state published at start"
    assert sub.on("/state/conf")[0][1] == b"0.3"  # the config's value, retained
    assert {p for _, p, _ in sub.on("/state/detect")} == {b"ON"}
    assert wait(lambda: any(e["key"] == "conf" for e in sub.json("dev/error")), 30)
    stale_error = ErrorMessage.model_validate(sub.json("dev/error")[0])
    assert stale_error.camera == "cam" and stale_error.payload == "0.95" and "retained" in stale_error.reason
    assert wait(lambda: any(t == "edgecv/dev/cam/set/conf" and p == b"" for t, p, _ in sub.messages), 10)
    time.sleep(0.3)
    assert len(sub.json("dev/error")) == 1  # the clearing that came back is not taken for a command
    assert wait(lambda: len(sub.on("/detections")) > 20, 60)
    low = [d["score"] for m in sub.json("/detections") for d in m["detections"]]
    assert min(low) < 0.8

    publish = lambda key, payload: sub.client.publish(f"edgecv/dev/cam/set/{key}", payload, qos=1)  # noqa: E731

    # conf: echoed on state/conf and applied to what is published next.
    publish("conf", "0.8")
    assert wait(lambda: sub.on("/state/conf")[-1][1] == b"0.8", 10)
    time.sleep(0.3)  # frames decoded before the command are still on their way
    mark = len(sub.messages)
    assert wait(lambda: len(detections_after(sub, mark)) > 15, 30)
    assert min(d["score"] for m in detections_after(sub, mark) for d in m["detections"]) >= 0.8

    # Invalid commands: an error each, nothing changes.
    errors_before = len(sub.json("dev/error"))
    for key, payload in [("conf", "2"), ("conf", "abc"), ("detect", "maybe"), ("classes", "unicorn"),
                         ("exposure", "1")]:  # fmt: skip
        publish(key, payload)
    sub.client.publish("edgecv/dev/garage/set/conf", "0.5", qos=1)
    assert wait(lambda: len(sub.json("dev/error")) >= errors_before + 6, 10)
    errors = [ErrorMessage.model_validate(e) for e in sub.json("dev/error")[errors_before:]]
    assert [(e.camera, e.key, e.payload) for e in errors] == [
        ("cam", "conf", "2"), ("cam", "conf", "abc"), ("cam", "detect", "maybe"), ("cam", "classes", "unicorn"),
        ("cam", "exposure", "1"), ("garage", "conf", "0.5"),
    ]  # fmt: skip
    assert "(0, 1]" in errors[0].reason and "unknown class 'unicorn'" in errors[3].reason
    assert "unknown key" in errors[4].reason and "unknown camera 'garage'" in errors[5].reason
    assert sub.on("/state/conf")[-1][1] == b"0.8" and sub.on("/state/detect")[-1][1] == b"ON"

    # classes: only circles from now on; motion gating switched on.
    publish("classes", '["circle"]')
    assert wait(lambda: sub.on("/state/classes")[-1][1] == b'["circle"]', 10)
    time.sleep(0.3)
    mark = len(sub.messages)
    assert wait(lambda: sum(len(m["detections"]) for m in detections_after(sub, mark)) > 10, 30)
    assert {d["label"] for m in detections_after(sub, mark) for d in m["detections"]} == {"circle"}
    publish("classes", "")
    assert wait(lambda: sub.on("/state/classes")[-1][1] == b"[]", 10)
    assert sub.on("/state/motion")[-1][1] == b"OFF"  # motion.enabled is false in the config
    publish("motion", "ON")
    assert wait(lambda: sub.on("/state/motion")[-1][1] == b"ON", 10)

    # reset_counts: the line's totals back to zero on its retained topic.
    totals = lambda: [json.loads(p) for t, p, _ in sub.messages if t == "edgecv/dev/cam/lines/middle" and p]  # noqa: E731
    assert wait(lambda: totals() and totals()[-1]["in"] == {"circle": 3}, 10)
    publish("reset_counts", "PRESS")
    assert wait(lambda: totals()[-1] == {"in": {"circle": 0}, "out": {"circle": 0}}, 10)

    # snapshot: the annotated frame on the retained image topic, at the source's size (under snapshot.width).
    images_before = len(sub.on("/cam/image"))
    publish("snapshot", "PRESS")
    assert wait(lambda: len(sub.on("/cam/image")) > images_before, 10)
    jpeg = sub.on("/cam/image")[-1][1]
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    clip = cv2.VideoCapture(str(bundled.demo_clip()))
    ok, first = clip.read()
    clip.release()
    assert ok and first.shape[1] <= 640  # under mqtt.snapshot.width: the source's own size
    assert image is not None and image.shape == first.shape
    late = subscribe(broker.port, ["edgecv/dev/cam/image"])
    assert wait(lambda: late.on("/cam/image"), 5) and late.on("/cam/image")[0][2]  # retained

    # detect OFF: frames flow on (counted as skipped in stats), the detector runs on none of them.
    publish("detect", "OFF")
    assert wait(lambda: sub.on("/state/detect")[-1][1] == b"OFF", 10)
    time.sleep(0.5)
    mark = len(sub.messages)
    skipped = lambda: [m["skipped_frames"] for m in sub.json("/cam/stats")]  # noqa: E731
    first = skipped()[-1]
    assert wait(lambda: skipped()[-1] >= first + 10, 30)
    assert not [m for m in detections_after(sub, mark) if m["detections"]]

    # SIGHUP: values set by commands return to the config, and the state topics say so.
    run.proc.send_signal(signal.SIGHUP)
    assert wait(lambda: sub.on("/state/detect")[-1][1] == b"ON", 30)
    assert sub.on("/state/conf")[-1][1] == b"0.3" and sub.on("/state/motion")[-1][1] == b"OFF"  # config's
    # An invalid config on reload: refused, published on the error topic, the run goes on.
    config.write_text("mqtt: [")
    run.proc.send_signal(signal.SIGHUP)
    assert wait(lambda: any(e["key"] == "reload" for e in sub.json("dev/error")), 30)
    reload_error = ErrorMessage.model_validate(next(e for e in sub.json("dev/error") if e["key"] == "reload"))
    assert (
        reload_error.camera is None and reload_error.payload == str(config) and "YAML" in reload_error.reason
    )
    mark = len(sub.messages)
    assert wait(lambda: len(detections_after(sub, mark)) > 5, 30)
    run.stop()
    assert run.proc.returncode == 0, run.log.read_text()[-2000:]

    # Home Assistant: a switch, a number, a button and an image per camera, on our topics.
    configs = {t: json.loads(p) for t, p, _ in sub.on("/config") if p}
    switch = configs["homeassistant/switch/edgecv_dev_cam/detect/config"]
    number = configs["homeassistant/number/edgecv_dev_cam/conf/config"]
    button = configs["homeassistant/button/edgecv_dev_cam/snapshot/config"]
    image_entity = configs["homeassistant/image/edgecv_dev_cam/image/config"]
    assert (switch["command_topic"], switch["state_topic"]) == (
        "edgecv/dev/cam/set/detect",
        "edgecv/dev/cam/state/detect",
    )
    assert (number["min"], number["max"], number["step"]) == (0.01, 1.0, 0.01)
    assert (
        number["command_topic"] == "edgecv/dev/cam/set/conf"
        and number["state_topic"] == "edgecv/dev/cam/state/conf"
    )
    assert button["command_topic"] == "edgecv/dev/cam/set/snapshot"
    assert (
        image_entity["image_topic"] == "edgecv/dev/cam/image" and image_entity["content_type"] == "image/jpeg"
    )
    # Home Assistant's own discovery code over them all, each template rendered over the last state the run
    # left on its topic. Last: where .venv-ha is missing, this skips (what the test asserted above ran).
    last_state = {t: p for t, p, _ in sub.messages if "/counts/" in t or "/state/" in t or "/lines/" in t}
    states = [{"topic": t, "payload": p.decode()} for t, p in last_state.items() if p]
    verdicts = ha.validate(configs, states)
    assert verdicts.failed() == {}, verdicts.output
    assert set(verdicts.errors) == set(configs), verdicts.output
    totals = json.loads(last_state["edgecv/dev/cam/lines/middle"])
    in_total = verdicts.state("homeassistant/sensor/edgecv_dev_cam/line_middle_in_total/config")
    assert in_total == str(sum(totals["in"].values()))


def test_home_assistant_rejects_broken_control_entities(ha) -> None:
    """The validator the run above passes fails each control entity broken one way (edgecv's own configs)."""
    ha.require()
    discovery = Discovery("homeassistant", [Topics("edgecv", "dev", "cam")], [], commands=True, image=True)
    node = "homeassistant/{}/edgecv_dev_cam/{}/config"
    switch = json.loads(discovery.configs[node.format("switch", "detect")])
    number = json.loads(discovery.configs[node.format("number", "conf")])
    button = json.loads(discovery.configs[node.format("button", "snapshot")])
    image = json.loads(discovery.configs[node.format("image", "image")])
    without = lambda config, key: {k: v for k, v in config.items() if k != key}  # noqa: E731
    broken = {
        "min_above_max": ("number", {**number, "min": 1, "max": 0.5}),
        "tiny_step": ("number", {**number, "step": 0.0001}),
        "no_command_topic": ("switch", without(switch, "command_topic")),
        "wildcard_command": ("button", {**button, "command_topic": "edgecv/+/set/snapshot"}),
        "no_image_topic": ("image", without(image, "image_topic")),
        "image_and_url": ("image", {**image, "url_topic": "edgecv/dev/cam/url"}),
    }
    messages = {
        node.format(component, name): {**config, "unique_id": f"{config['unique_id']}_{name}"}
        for name, (component, config) in broken.items()
    }
    verdicts = ha.validate({**discovery.configs, **messages})
    assert set(verdicts.failed()) == set(messages), verdicts.output
    errors = {name: verdicts.errors[node.format(component, name)] for name, (component, _) in broken.items()}
    assert errors == {  # Home Assistant 2025.4.4's words
        "min_above_max": "max must be >= min",
        "tiny_step": "value must be at least 0.001 for dictionary value @ data['step']",
        "no_command_topic": "required key not provided @ data['command_topic']",
        "wildcard_command": "Wildcards cannot be used in topic names for dictionary value @ data['command_topic']",
        "no_image_topic": "Expected one of [`image_topic`, `url_topic`], got none",
        "image_and_url": "two or more values in the same group of exclusion 'image_topic' @ data[<image_topic>]",
    }, verdicts.output


def test_a_model_reopened_by_reload_keeps_the_mqtt_connection(
    tmp_path, broker, subscribe, mq, edgecv_run
) -> None:
    import shutil

    sub = subscribe(broker.port, ["edgecv/#"])
    model = tmp_path / "other.tflite"
    shutil.copy(bundled.demo_model(), model)
    config = demo_config(tmp_path / "edgecv.yaml", broker.port)
    run = edgecv_run(config)
    assert mq.wait_until(lambda: len(sub.on("/detections")) > 10, 60)
    body = yaml.safe_load(config.read_text())
    body["model"]["path"] = str(model)
    config.write_text(yaml.safe_dump(body))
    run.proc.send_signal(signal.SIGHUP)
    assert mq.wait_until(lambda: "reloaded (reopened in-process): model" in run.log.read_text(), 30)
    mark = len(sub.messages)
    assert mq.wait_until(lambda: len(detections_after(sub, mark)) > 10, 30)
    run.stop()
    # One connection throughout: the process's availability went online once, offline only at the exit.
    assert [p for _, p, _ in sub.on("edgecv/dev/availability")] == [b"online", b"offline"]
    assert sub.json("/cam/stats")[-2]["reconnects"] == 0


def test_commands_off_removes_the_switch_number_and_button(broker, subscribe, mq) -> None:
    from edgecv.mqtt.commands import control_of
    from edgecv.mqtt.image import AnnotatedJpeg
    from edgecv.mqtt.sink import MqttSink

    camera = FakeCamera()
    config = mq.config(broker.port, commands=True, discovery_prefix="homeassistant", labels=["person"])
    render = AnnotatedJpeg(LABELS, {}, 640, 80)
    sink = MqttSink(config, LABELS, cameras=[], controls={"cam": control_of(camera, LABELS)}, render=render)
    sub = subscribe(broker.port, ["homeassistant/#"])
    assert mq.wait_until(lambda: len(sub.on("/config")) == 6, 10)  # count, presence, image, 3 controls
    sink.close()
    sink = MqttSink(config.model_copy(update={"commands": False}), LABELS, render=render)
    try:
        removed = lambda: {t for t, p, _ in sub.on("/config") if p == b""}  # noqa: E731
        assert mq.wait_until(
            lambda: (
                removed()
                == {
                    "homeassistant/switch/edgecv_dev_cam/detect/config",
                    "homeassistant/number/edgecv_dev_cam/conf/config",
                    "homeassistant/button/edgecv_dev_cam/snapshot/config",
                }
            ),
            10,
        )
    finally:
        sink.close()
