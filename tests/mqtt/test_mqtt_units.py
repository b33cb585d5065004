"""Config validation, the offline queue, the spool and the payload contract: no broker needed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from edgecv.config import load_settings
from edgecv.config.mqtt import MqttConfig
from edgecv.errors import ConfigError
from edgecv.labels import Labels
from edgecv.mqtt import docs, payloads
from edgecv.mqtt.outbox import DETECTIONS, EVENTS, STATS, Message, Outbox
from edgecv.mqtt.spool import Spool
from edgecv.mqtt.topics import Topics


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"EDGECV_MQTT__PORT": "70000"}, "mqtt.port = '70000'"),
        ({"EDGECV_MQTT__PORT": "0"}, "mqtt.port"),
        ({"EDGECV_MQTT__USERNAME": "cam"}, "username is set without a password"),
        ({"EDGECV_MQTT__TLS__CERT_FILE": "/c.pem"}, "tls.cert_file is set but tls.key_file is not"),
        ({"EDGECV_MQTT__CAMERA": "a/b"}, "one topic level"),
        ({"EDGECV_MQTT__PREFIX": "x/#"}, "without '+', '#'"),
        ({"EDGECV_MQTT__QOS_EVENTS": "3"}, "mqtt.qos_events"),
        ({"EDGECV_MQTT__DISCOVERY_PREFIX": "homeassistant"}, "discovery_prefix needs mqtt.labels"),
        ({"EDGECV_MQTT__TLS__CA": "/x"}, "unknown environment variable EDGECV_MQTT__TLS__CA"),
    ],
)
def test_config_rejects(env: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(environ=env)
    assert expected in str(info.value)
    assert info.value.exit_code == 2


def test_config_nested_env_and_secret_never_shown(tmp_path: Path) -> None:
    settings = load_settings(
        environ={
            "EDGECV_MQTT__HOST": "broker.lan",
            "EDGECV_MQTT__USERNAME": "cam",
            "EDGECV_MQTT__PASSWORD": "hunter2",
            "EDGECV_MQTT__TLS__CA_FILE": "/etc/ca.pem",
            "EDGECV_MQTT__QUEUE__MAX_MESSAGES": "50",
            "EDGECV_MQTT__LABELS": "person,car",
        }
    )
    m = settings.mqtt
    assert (m.effective_port, m.queue.max_messages, m.labels) == (8883, 50, ["person", "car"])
    assert "hunter2" not in repr(settings) and "hunter2" not in settings.model_dump_json()


def test_password_from_systemd_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from edgecv.mqtt.client import read_password

    (tmp_path / "mqtt-password").write_text("s3cret\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    config = MqttConfig(host="h", username="cam")  # no password key: the credential satisfies validation
    assert read_password(config) == "s3cret"
    with pytest.raises(ConfigError, match="cannot read mqtt.password_file"):
        read_password(MqttConfig(host="h", username="cam", password_file=tmp_path / "missing"))


def test_outbox_drops_detections_first_then_stats_then_events() -> None:
    box = Outbox(max_messages=4, max_bytes=10_000)
    for i, priority in enumerate([EVENTS, DETECTIONS, STATS, DETECTIONS, EVENTS, EVENTS]):
        box.put(Message(f"t{i}", b"x", priority=priority))
    # t1 and t3 (detections) went first; order of the rest is preserved.
    assert [m.topic for m in box.drain()] == ["t0", "t2", "t4", "t5"]
    assert len(box) == 0 and box.bytes == 0

    box = Outbox(max_messages=100, max_bytes=1024)
    dropped = []
    for i in range(6):
        dropped += box.put(Message(f"e{i}", b"x" * 300, priority=EVENTS))
    assert [m.topic for m in dropped] == ["e0", "e1", "e2"] and box.bytes <= 1024


def test_spool_keeps_unacked_across_reopen_and_locks(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    for i in range(5):
        spool.add(f"id{i}", "t/events", 1, json.dumps({"n": i}).encode())
    spool.ack("id1")
    spool.ack("id3")
    with pytest.raises(ConfigError, match="in use by another edgecv"):
        Spool(tmp_path)
    spool.close()
    again = Spool(tmp_path)
    assert [r["id"] for r in again.pending()] == ["id0", "id2", "id4"]
    for r in again.pending():
        again.ack(r["id"])
    assert (tmp_path / "events.jsonl").read_text() == ""  # compacted once nothing is pending
    again.close()


def test_built_payloads_match_the_models(mq) -> None:
    from edgecv.contracts import detections_json, event_json

    labels = Labels(["person"])
    ids = payloads.MessageIds()
    body = payloads.detections_message(
        ids, "d", "c", 3, 1.5, detections_json(mq.detections([0, 0], [1, -1]), labels)
    )
    payloads.DetectionsMessage.model_validate(body)
    event = payloads.event_message(ids, "d", "c", 3, 1.5, event_json(mq.track_event("new", 7), labels))
    payloads.EventMessage.model_validate(event)
    payloads.CountMessage.model_validate(payloads.count_message(ids, "d", "c", "person", 2, 1.5))
    assert len({ids.next() for _ in range(1000)}) == 1000


def test_topics_layout() -> None:
    t = Topics("edgecv", "pi4", "door")
    assert t.availability == "edgecv/pi4/door/availability"
    assert t.count("traffic light") == "edgecv/pi4/door/counts/traffic light"
    assert t.count("a/b+") == "edgecv/pi4/door/counts/a_b_"
    assert t.count("all") == "edgecv/pi4/door/counts/_all" != t.count_all


def test_wire_spec_is_current(repo_root: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "edgecv.mqtt.docs", "--check", "--docs", str(repo_root / "docs")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr + " (regenerate: python tools/gen_mqtt_docs.py)"
    assert docs.outputs()["mqtt.md"].count("## `") == len(docs.TOPICS)
