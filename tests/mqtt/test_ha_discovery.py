"""Home Assistant discovery configs validated by Home Assistant's own MQTT discovery code.

``tools/ha/validate_discovery.py`` runs on ``.venv-ha`` (``make ha-venv``: Python 3.13 and the homeassistant
release pinned in constraints/homeassistant.txt), through the ``ha`` fixture (tests/mqtt/conftest.py); these
tests skip without it. One test validates every retained config a real ``edgecv run`` leaves under the
discovery prefix (the bundled demo as two cameras, with zones, a line and ``mqtt.commands``: every entity
type edgecv publishes) and renders their templates over the retained state the run left (counts, zone
occupancy, line totals, command state, availability). Another proves the validator fails: configs made by
edgecv's own Discovery, each broken one way. A third takes every label name of the shared models
(../shared/assets).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from edgecv.labels import load_labels
from edgecv.mqtt.discovery import Discovery
from edgecv.mqtt.payloads import MessageIds, count_message
from edgecv.mqtt.topics import Topics

REPO = Path(__file__).resolve().parents[2]
PREFIX = "homeassistant"
# Not a discovery topic: published after subscribing, it arrives after every retained config.
SYNC = f"{PREFIX}/edgecv_test/sync"
HALF = [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]  # the left half of the frame, relative


def test_every_entity_type_of_a_run_passes_home_assistant(
    ha, broker, subscribe, mq, demo_model: Path, tmp_path: Path
) -> None:
    # The bundled demo (clip and model) as two cameras: two Home Assistant devices whose entities must not
    # collide. Entities for every label the model knows, a zone per label it names and one summing every
    # label, a line counted both ways, the commands' switch, number and button, and the image.
    ha.require()
    labels = (REPO / "models" / "demo_labels.txt").read_text().split()
    cameras = ("front", "back_yard")
    clip = str(REPO / "models" / "demo_clip.mp4")
    line = {"middle": {"points": [[0.5, 0], [0.5, 1]], "units": "relative"}}
    config = {
        "model": {"path": str(demo_model), "threads": 1},
        "mqtt": {"discovery_prefix": PREFIX, "labels": labels, "commands": True},
        "cameras": {
            "front": {
                "source": {"uri": clip},
                "zones": {
                    "left half": {"polygon": HALF, "units": "relative", "classes": ["circle", "square"]}
                },
                "lines": line,
            },
            # A zone that names no label: one sensor summing them all.
            "back_yard": {
                "source": {"uri": clip},
                "zones": {"lawn": {"polygon": HALF, "units": "relative"}},
                "lines": line,
            },
        },
    }
    (tmp_path / "cameras.yaml").write_text(yaml.safe_dump(config))
    env = mq.edgecv_env(broker.port)
    del env["EDGECV_MQTT__CAMERA"]  # the map names the cameras
    done = mq.run_edgecv(["run", "--config", str(tmp_path / "cameras.yaml")], env)
    assert done.returncode == 0, done.stderr

    # Everything the run left for Home Assistant: the configs, retained under the discovery prefix, and the
    # retained state their entities read first.
    sub = subscribe(broker.port, [f"{PREFIX}/#", "edgecv/#"])
    sub.client.publish(SYNC, b"", qos=1)
    assert mq.wait_until(lambda: bool(sub.on(SYNC)), timeout=10), "the sync message never came back"
    configs, states = ha.split(sub.messages)
    assert len({m["topic"] for m in configs}) == len(configs), "a config topic came twice"
    state = {m["topic"]: m["payload"] for m in states}
    zones = {"front": {"left_half_circle", "left_half_square"}, "back_yard": {"lawn"}}
    expected: dict[str, str | None] = {}  # config topic -> the state topic it reads
    for camera in cameras:
        node, base = f"edgecv_dev_{camera}", f"edgecv/dev/{camera}"
        for label in labels:
            expected[f"{PREFIX}/sensor/{node}/{label}_count/config"] = f"{base}/counts/{label}"
            expected[f"{PREFIX}/binary_sensor/{node}/{label}_present/config"] = f"{base}/counts/{label}"
        zone_topic = f"{base}/zones/{'left half' if camera == 'front' else 'lawn'}"
        for zone in zones[camera]:
            expected[f"{PREFIX}/sensor/{node}/zone_{zone}_occupancy/config"] = zone_topic
        for direction in ("in", "out"):
            expected[f"{PREFIX}/sensor/{node}/line_middle_{direction}_total/config"] = f"{base}/lines/middle"
        expected[f"{PREFIX}/switch/{node}/detect/config"] = f"{base}/state/detect"
        expected[f"{PREFIX}/number/{node}/conf/config"] = f"{base}/state/conf"
        expected[f"{PREFIX}/button/{node}/snapshot/config"] = None  # commands only, no state
        expected[f"{PREFIX}/image/{node}/image/config"] = None  # reads the JPEG on image_topic
    assert {m["topic"] for m in configs} == set(expected)
    for topic, state_topic in expected.items():
        body = json.loads(next(m["payload"] for m in configs if m["topic"] == topic))
        assert body.get("state_topic") == state_topic, topic
        assert state_topic is None or state_topic in state, f"nothing retained on {state_topic}"
        assert {a["topic"] for a in body["availability"]} == {
            "edgecv/dev/availability",
            f"edgecv/dev/{topic.split('/')[2].removeprefix('edgecv_dev_')}/availability",
        }
    for camera in cameras:
        assert f"edgecv/dev/{camera}/image" in {t for t, _, kept in sub.messages if kept}

    verdicts = ha.validate(configs, states)
    assert verdicts.failed() == {}, verdicts.output
    assert set(verdicts.errors) == set(expected), verdicts.output

    # The states Home Assistant shows, rendered from what the run left.
    for camera in cameras:
        node, base = f"{PREFIX}/sensor/edgecv_dev_{camera}", f"edgecv/dev/{camera}"
        for label in labels:
            count = json.loads(state[f"{base}/counts/{label}"])["count"]
            assert verdicts.state(f"{node}/{label}_count/config") == str(count)
            present = verdicts.state(f"{PREFIX}/binary_sensor/edgecv_dev_{camera}/{label}_present/config")
            assert present == ("ON" if count > 0 else "OFF")
        totals = json.loads(state[f"{base}/lines/middle"])
        for direction in ("in", "out"):
            want = sum(totals[direction].values())
            assert verdicts.state(f"{node}/line_middle_{direction}_total/config") == str(want)
    front = json.loads(state["edgecv/dev/front/zones/left half"])
    for label in ("circle", "square"):
        want = front.get(label, 0)
        assert verdicts.state(
            f"{PREFIX}/sensor/edgecv_dev_front/zone_left_half_{label}_occupancy/config"
        ) == str(want)
    # No template on the controls: Home Assistant takes the state as it comes, ON/OFF for the switch, a
    # number within the entity's range for the number.
    bodies = {m["topic"]: json.loads(m["payload"]) for m in configs}
    for camera in cameras:
        switch = bodies[f"{PREFIX}/switch/edgecv_dev_{camera}/detect/config"]
        assert state[switch["state_topic"]] == switch["payload_on"]  # detection on, as configured
        number = bodies[f"{PREFIX}/number/edgecv_dev_{camera}/conf/config"]
        assert number["min"] <= float(state[number["state_topic"]]) <= number["max"]
    lawn = json.loads(state["edgecv/dev/back_yard/zones/lawn"])
    assert verdicts.state(f"{PREFIX}/sensor/edgecv_dev_back_yard/zone_lawn_occupancy/config") == str(
        sum(lawn.values())
    )


def test_validator_rejects_what_home_assistant_rejects_or_drops(ha) -> None:
    ha.require()
    topics = Topics("edgecv", "dev", "cam")
    discovery = Discovery(PREFIX, [topics], ["person"])
    count = count_message(MessageIds(), "dev", "cam", "person", 2, 1767225600.0)  # what the entities read
    states = [{"topic": topics.count("person"), "payload": json.dumps(count)}]
    sensor_topic = f"{PREFIX}/sensor/edgecv_dev_cam/person_count/config"
    binary_topic = f"{PREFIX}/binary_sensor/edgecv_dev_cam/person_present/config"
    sensor = json.loads(discovery.configs[sensor_topic])
    binary = json.loads(discovery.configs[binary_topic])

    def variant(name: str, config: dict, base: str = sensor_topic, own_id: bool = True) -> dict[str, str]:
        # Each variant its own object id (the validator reports per topic) and, unless told, unique id.
        if own_id:
            config = {**config, "unique_id": f"{config['unique_id']}_{name}"}
        return {"topic": base.replace("/config", f"_{name}/config"), "payload": json.dumps(config)}

    abbreviated = {k: v for k, v in sensor.items() if k not in ("state_class", "state_topic")}
    broken = {
        "unknown_key": variant("unknown_key", {**sensor, "unit_of_measurment": "objects"}),
        "bad_state_class": variant("bad_state_class", {**sensor, "state_class": "measurements"}),
        "bad_template": variant(
            "bad_template", {**binary, "value_template": "{{ value_json.count > }}"}, binary_topic
        ),
        "no_device_id": variant("no_device_id", {**sensor, "device": {"name": "edgecv dev cam"}}),
        "bad_availability": variant(
            "bad_availability", {**sensor, "availability": [{"topic": "edgecv/#/availability"}]}
        ),
        "same_id": variant("same_id", sensor, own_id=False),  # the count sensor's id, another topic
        "template_vs_payload": variant(
            "template_vs_payload", {**sensor, "value_template": "{{ value_json.objects }}"}
        ),
    }
    fine = [{"topic": topic, "payload": payload.decode()} for topic, payload in discovery.configs.items()] + [
        variant("abbreviated", {**abbreviated, "stat_cla": "measurement", "stat_t": sensor["state_topic"]})
    ]
    verdicts = ha.validate([*fine, *broken.values()], states)
    output = verdicts.output

    assert verdicts.returncode == 1, output
    assert set(verdicts.failed()) == {m["topic"] for m in broken.values()}, output
    errors = {name: verdicts.errors[message["topic"]] or "" for name, message in broken.items()}
    assert "dropped: unit_of_measurment" in errors["unknown_key"], output
    assert "data['state_class']" in errors["bad_state_class"], output
    assert "invalid template" in errors["bad_template"], output
    assert "at least one identifying value" in errors["no_device_id"], output
    assert "data['availability'][0]['topic']" in errors["bad_availability"], output
    assert "has no attribute 'objects'" in errors["template_vs_payload"], output
    assert (
        f"unique_id '{sensor['unique_id']}' is taken by the sensor of {sensor_topic}" in errors["same_id"]
    ), output


@pytest.mark.shared
def test_configs_for_every_label_of_the_shared_models_pass(ha, shared_assets: Path) -> None:
    """Real label names (spaces: 'traffic light', 'hair drier'; the SSD label map's gaps) as entities of two
    cameras, each template rendered over a count message of its label."""
    ha.require()
    labels = sorted(
        {
            name
            for path in sorted((shared_assets / "models").glob("*/*label*.txt"))
            for name in load_labels(path).names
            if name is not None
        }
    )
    assert len(labels) >= 80, labels  # the COCO classes at least
    cameras = [Topics("edgecv", "dev", camera) for camera in ("front", "back_yard")]
    discovery = Discovery(PREFIX, cameras, labels)
    ids = MessageIds()
    states = [
        {
            "topic": topics.count(label),
            "payload": json.dumps(count_message(ids, "dev", topics.camera, label, 1, 0.0)),
        }
        for topics in cameras
        for label in labels
    ]
    configs = [{"topic": topic, "payload": payload.decode()} for topic, payload in discovery.configs.items()]
    assert len(configs) == 2 * len(cameras) * len(labels)  # no two labels share an entity

    verdicts = ha.validate(configs, states)
    assert verdicts.failed() == {}, verdicts.output
    assert set(verdicts.errors) == {m["topic"] for m in configs}, verdicts.output
    for topics in cameras:  # every count sensor shows its count message's 1
        node = f"{PREFIX}/sensor/{Discovery.node(topics)}"
        assert {verdicts.state(m["topic"]) for m in configs if m["topic"].startswith(node)} == {"1"}
