"""Home Assistant discovery configs validated by Home Assistant's own MQTT discovery code.

``tools/ha/validate_discovery.py`` runs on ``.venv-ha`` (``make ha-venv``: Python 3.13 and the homeassistant
release pinned in constraints/homeassistant.txt); these tests skip without it. One test validates every
retained config a real ``edgecv run`` (the bundled demo as two cameras) leaves under the discovery prefix,
whatever entity types it creates, and renders their templates over the retained state the run left
(counts, availability). Another proves the validator fails: configs made by edgecv's own Discovery, each
broken one way. A third takes every label name of the shared models (../shared/assets).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from edgecv.labels import load_labels
from edgecv.mqtt.discovery import Discovery
from edgecv.mqtt.payloads import MessageIds, count_message
from edgecv.mqtt.topics import Topics

REPO = Path(__file__).resolve().parents[2]
HA_PYTHON = REPO / ".venv-ha" / "bin" / "python"
VALIDATOR = REPO / "tools" / "ha" / "validate_discovery.py"
PREFIX = "homeassistant"
# Not a discovery topic: published after subscribing, it arrives after every retained config.
SYNC = f"{PREFIX}/edgecv_test/sync"


@pytest.fixture
def ha_venv() -> None:
    """Skips, before anything runs, where make ha-venv could not build .venv-ha."""
    if not (REPO / ".venv-ha" / ".ha").exists():
        pytest.skip("no .venv-ha with Home Assistant (make ha-venv: needs Python 3.13)")


def validate(
    messages: list[dict[str, str]], states: list[dict[str, str]], tmp_path: Path
) -> tuple[int, dict[str, str], str]:
    """The validator's exit status, its verdict per topic ('ok' or the error) and its whole output."""
    (tmp_path / "states.json").write_text(json.dumps(states))
    done = subprocess.run(
        [str(HA_PYTHON), str(VALIDATOR), "-", "--prefix", PREFIX, "--states", str(tmp_path / "states.json")],
        input=json.dumps(messages),
        capture_output=True,
        text=True,
        timeout=120,
    )
    verdicts: dict[str, str] = {}
    for line in done.stdout.splitlines():
        status, _, rest = line.partition(" ")
        if status == "ok":
            verdicts[rest] = "ok"
        elif status == "FAIL":
            topic, _, error = rest.partition(": ")
            verdicts[topic] = error
    return done.returncode, verdicts, done.stdout + done.stderr


def test_every_retained_config_of_a_run_passes_home_assistant(
    ha_venv, broker, subscribe, mq, demo_model: Path, tmp_path: Path
) -> None:
    # The bundled demo (clip and model) as two cameras: two Home Assistant devices whose entities must not
    # collide, entities for every label the model knows.
    labels = (REPO / "models" / "demo_labels.txt").read_text().split()
    cameras = ("front", "back_yard")
    config = {
        "model": {"path": str(demo_model), "threads": 1},
        "mqtt": {"discovery_prefix": PREFIX, "labels": labels},
        "cameras": {name: {"source": {"uri": str(REPO / "models" / "demo_clip.mp4")}} for name in cameras},
    }
    (tmp_path / "cameras.yaml").write_text(yaml.safe_dump(config))
    env = mq.edgecv_env(broker.port)
    del env["EDGECV_MQTT__CAMERA"]  # the map names the cameras
    done = mq.run_edgecv(["run", "--config", str(tmp_path / "cameras.yaml"), "--max-frames", "10"], env)
    assert done.returncode == 0, done.stderr

    # Everything the run left for Home Assistant: the configs, retained under the discovery prefix, and the
    # retained state their entities read first (counts, availability).
    sub = subscribe(broker.port, [f"{PREFIX}/#", "edgecv/#"])
    sub.client.publish(SYNC, b"", qos=1)
    assert mq.wait_until(lambda: bool(sub.on(SYNC)), timeout=10), "the sync message never came back"
    retained = [
        {"topic": topic, "payload": payload.decode()} for topic, payload, kept in sub.messages if kept
    ]
    configs = [m for m in retained if m["topic"].startswith(f"{PREFIX}/")]
    states = [m for m in retained if not m["topic"].startswith(f"{PREFIX}/")]
    counts = {f"edgecv/dev/{camera}/counts/{label}" for camera in cameras for label in labels}
    assert counts <= {m["topic"] for m in states}
    assert len({m["topic"] for m in configs}) == len(configs), "a config topic came twice"
    for topic in counts:  # a sensor and a binary sensor per label today; other entity types may join
        reading = [m for m in configs if f'"{topic}"' in m["payload"]]
        assert len(reading) >= 2, f"no entities read {topic}: {[m['topic'] for m in configs]}"

    status, verdicts, output = validate(configs, states, tmp_path)
    assert status == 0, output
    assert verdicts == {m["topic"]: "ok" for m in configs}, output


def test_validator_rejects_what_home_assistant_rejects_or_drops(ha_venv, tmp_path: Path) -> None:
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
    status, verdicts, output = validate([*fine, *broken.values()], states, tmp_path)

    assert status == 1, output
    assert {m["topic"]: verdicts.get(m["topic"]) for m in fine} == {m["topic"]: "ok" for m in fine}, output
    errors = {name: verdicts.get(message["topic"], "") for name, message in broken.items()}
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
def test_configs_for_every_label_of_the_shared_models_pass(
    ha_venv, shared_assets: Path, tmp_path: Path
) -> None:
    """Real label names (spaces: 'traffic light', 'hair drier'; the SSD label map's gaps) as entities of two
    cameras, each template rendered over a count message of its label."""
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

    status, verdicts, output = validate(configs, states, tmp_path)
    assert status == 0, output
    assert verdicts == {m["topic"]: "ok" for m in configs}, output
