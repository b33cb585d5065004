"""Config validation, the offline queue, the spool and the payload contract: no broker needed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edgecv.config import load_settings
from edgecv.config.mqtt import MqttConfig
from edgecv.errors import ConfigError
from edgecv.labels import Labels
from edgecv.mqtt import docs, payloads
from edgecv.mqtt.outbox import Message, MessageKind, Outbox
from edgecv.mqtt.spool import MB, Spool
from edgecv.mqtt.topics import Topics
from edgecv.scene.events import SceneEvent, scene_event_json


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
    kinds = [MessageKind.EVENTS, MessageKind.DETECTIONS, MessageKind.STATS, MessageKind.DETECTIONS]
    for i, kind in enumerate([*kinds, MessageKind.EVENTS, MessageKind.EVENTS]):
        box.put(Message(f"t{i}", b"x", kind=kind))
    # t1 and t3 (detections) went first; order of the rest is preserved.
    assert [m.topic for m in box.drain()] == ["t0", "t2", "t4", "t5"]
    assert len(box) == 0 and box.bytes == 0

    box = Outbox(max_messages=100, max_bytes=1024)
    dropped = []
    for i in range(6):
        dropped += box.put(Message(f"e{i}", b"x" * 300, kind=MessageKind.EVENTS))
    assert [m.topic for m in dropped] == ["e0", "e1", "e2"] and box.bytes <= 1024


def test_spool_keeps_unacked_across_reopen_and_locks(tmp_path: Path) -> None:
    spool = Spool(tmp_path, MB)
    for i in range(5):
        spool.add(Message("t/events", json.dumps({"n": i}).encode(), 1, False, MessageKind.EVENTS, f"id{i}"))
    spool.ack("id1")
    spool.ack("id3")
    with pytest.raises(ConfigError, match="in use by another edgecv"):
        Spool(tmp_path, MB)
    spool.close()
    again = Spool(tmp_path, MB)
    assert [m.spool_id for m in again.pending()] == ["id0", "id2", "id4"]
    for m in again.pending():
        assert m.spool_id is not None
        again.ack(m.spool_id)
    assert (tmp_path / "events.jsonl").read_text() == ""  # compacted once nothing is pending
    again.close()


def test_spool_files_of_earlier_versions_still_load(tmp_path: Path) -> None:
    # Written byte for byte as edgecv wrote them before message kinds were an enum: one JSON record per
    # event (json.dumps defaults), acknowledged ids one per line, and a line torn by a power cut.
    payloads_by_id = {
        "a1-0": '{"v":1,"id":"a1-0","type":"event","event":"new"}',
        "a1-1": '{"v":1,"id":"a1-1","type":"event","event":"update"}',
        "a1-2": '{"v":1,"id":"a1-2","type":"event","event":"end","label":"caf\u00e9"}',
    }
    records = [
        json.dumps({"id": spool_id, "topic": "edgecv/d/c/events", "qos": 1, "payload": payload})
        for spool_id, payload in payloads_by_id.items()
    ]
    (tmp_path / "events.jsonl").write_text("\n".join(records) + '\n{"id": "a1-3", "top', encoding="utf-8")
    (tmp_path / "acked.log").write_text("a1-1\n", encoding="utf-8")

    spool = Spool(tmp_path, MB)
    pending = spool.pending()
    assert [m.spool_id for m in pending] == ["a1-0", "a1-2"]
    assert all(m.kind is MessageKind.EVENTS and m.qos == 1 and not m.retain for m in pending)
    assert [m.topic for m in pending] == ["edgecv/d/c/events"] * 2
    assert [m.payload.decode() for m in pending] == [payloads_by_id["a1-0"], payloads_by_id["a1-2"]]
    # What this version writes, the earlier one reads: the same record layout.
    spool.add(Message("edgecv/d/c/events", b'{"id":"b2-0"}', 1, False, MessageKind.EVENTS, "b2-0"))
    spool.close()
    lines = (tmp_path / "events.jsonl").read_text(encoding="utf-8").splitlines()
    assert lines == [records[0], records[2], json.dumps(
        {"id": "b2-0", "topic": "edgecv/d/c/events", "qos": 1, "payload": '{"id":"b2-0"}'}
    )]  # fmt: skip


def test_spool_takes_only_messages_it_can_acknowledge(tmp_path: Path) -> None:
    spool = Spool(tmp_path, MB)
    with pytest.raises(ValueError, match="spool_id"):
        spool.add(Message("edgecv/d/c/stats", b"{}", 0, False, MessageKind.STATS))
    spool.close()


def test_every_message_starts_with_the_envelope() -> None:
    ids = payloads.MessageIds()
    built = [
        payloads.detections_message(ids, "d", "c", 3, 1.5, []),
        payloads.event_message(ids, "d", "c", 3, 1.5, {"event": "end"}),
        payloads.count_message(ids, "d", "c", "person", 2, 1.5),
        payloads.stats_message(ids, "d", "c", 1.23456, uptime_s=1.0),
        payloads.scene_event_message(
            ids, "d", 3, {"type": "event", "event": "loiter", "camera": "c", "ts": 1.5}
        ),
    ]
    envelope_keys = list(payloads.Envelope.model_fields)
    for body in built:
        assert list(body)[: len(envelope_keys)] == envelope_keys == ["v", "id", "device", "camera"]
        assert (body["v"], body["device"], body["camera"]) == (payloads.SCHEMA_VERSION, "d", "c")
    assert len({body["id"] for body in built}) == len(built)
    assert list(built[1]) == ["v", "id", "device", "camera", "type", "seq", "ts", "event"]
    assert built[3]["ts"] == 1.235


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
    crossing = SceneEvent("line_cross", 4, 0, "door", 1.5, "out")
    scene = payloads.scene_event_message(ids, "d", 3, scene_event_json(crossing, "c", labels))
    payloads.SceneEventMessage.model_validate(scene)
    assert list(scene) == [
        "v", "id", "device", "camera", "type", "seq", "ts", "event", "track_id", "label", "line", "direction"
    ]  # fmt: skip
    payloads.ZoneOccupancy.model_validate(payloads.zone_occupancy({"person": 2, "car": 0}))
    payloads.LineTotals.model_validate(payloads.line_totals({"person": 1}, {}))
    with pytest.raises(ValueError):
        payloads.LineTotals.model_validate({"in": {"person": -1}, "out": {}})
    assert len({ids.next() for _ in range(1000)}) == 1000


def test_topics_layout() -> None:
    t = Topics("edgecv", "pi4", "door")
    assert t.availability == "edgecv/pi4/door/availability"
    assert t.count("traffic light") == "edgecv/pi4/door/counts/traffic light"
    assert t.count("a/b+") == "edgecv/pi4/door/counts/a_b_"
    assert t.count("all") == "edgecv/pi4/door/counts/_all" != t.count_all
    assert t.zone("back yard") == "edgecv/pi4/door/zones/back yard"
    assert t.line("gate") == "edgecv/pi4/door/lines/gate"
    assert t.is_scene(t.zone("a")) and t.is_scene(t.line("b")) and not t.is_scene(t.count("a"))


def test_the_mqtt_sink_takes_scene_events() -> None:
    from edgecv.mqtt.sink import MqttSink
    from edgecv.output.base import ResetsCounts, WritesSceneEvents

    assert issubclass(MqttSink, WritesSceneEvents) and issubclass(MqttSink, ResetsCounts)


def test_wire_spec_is_current(repo_root: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "edgecv.mqtt.docs", "--check", "--docs", str(repo_root / "docs")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr + " (regenerate: python tools/gen_mqtt_docs.py)"
    assert docs.outputs()["mqtt.md"].count("## `") == len(docs.TOPICS)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"STATE_DIRECTORY": "/var/lib/edgecv/cam1", "XDG_STATE_HOME": "/x"}, "/var/lib/edgecv/cam1/spool"),
        ({"STATE_DIRECTORY": "/var/lib/a:/var/lib/b"}, "/var/lib/a/spool"),
        ({"XDG_STATE_HOME": "/home/pi/.state"}, "/home/pi/.state/edgecv/spool"),
        ({"XDG_STATE_HOME": "relative/ignored"}, "~/.local/state/edgecv/spool"),
        ({}, "~/.local/state/edgecv/spool"),
    ],
)
def test_default_spool_root(environ: dict[str, str], expected: str) -> None:
    from edgecv.config.mqtt import default_spool_root

    assert default_spool_root(environ) == Path(expected).expanduser()


def test_one_spool_per_device_and_camera(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = MqttConfig(host="h", device="pi")
    root = Path(os.environ["XDG_STATE_HOME"]) / "edgecv" / "spool" / "pi"
    assert config.camera_spool_dir("door") == root / "door"
    # The units' EDGECV_MQTT__SPOOL_DIR still wins over the default.
    settings = load_settings(environ={"EDGECV_MQTT__HOST": "h", "EDGECV_MQTT__SPOOL_DIR": str(tmp_path)})
    assert settings.mqtt.camera_spool_dir("cam0").parent.parent == tmp_path
    # A topic level is not always a safe folder name.
    odd = MqttConfig(host="h", device="..", spool_dir=tmp_path).camera_spool_dir("a b")
    assert odd == tmp_path / "_" / "a_b"


def test_spool_bounded_drops_oldest_and_counts(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 1000)
    given_up: list[str] = []
    for i in range(20):
        kept, dropped = spool.add(Message("t/events", b"x" * 90, 1, False, MessageKind.EVENTS, f"id{i:02d}"))
        assert kept
        given_up += dropped
    ids = [m.spool_id for m in spool.pending()]
    assert given_up == [f"id{i:02d}" for i in range(20 - len(ids))] and ids[-1] == "id19"
    assert spool.dropped == len(given_up) > 0
    assert spool.close() == len(ids)
    assert [m.spool_id for m in Spool(tmp_path, 1000).pending()] == ids  # the drops are on disk too


def test_unusable_spool_dir_is_reported_not_raised_as_a_crash(tmp_path: Path) -> None:
    from edgecv.mqtt.spool import SpoolUnusable

    (tmp_path / "file").write_text("")
    with pytest.raises(SpoolUnusable, match="Not a directory"):
        Spool(tmp_path / "file" / "spool", MB)


def test_spool_appends_reach_the_disk_from_its_own_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # add() only writes (the kernel has it: kill -9 loses nothing); fsync happens on the spool's thread,
    # batched, at most every SYNC_INTERVAL_S: the power-loss window.
    import threading

    from edgecv.mqtt import spool as spool_module

    synced: list[str] = []
    real_fsync = os.fsync
    monkeypatch.setattr(spool_module, "SYNC_INTERVAL_S", 0.05)
    monkeypatch.setattr(
        spool_module.os, "fsync", lambda fd: (synced.append(threading.current_thread().name), real_fsync(fd))
    )
    spool = Spool(tmp_path, MB)
    synced.clear()  # the compaction at open fsyncs, on this thread
    for i in range(50):
        spool.add(Message("t/events", b"{}", 1, False, MessageKind.EVENTS, f"id{i}"))
    assert "edgecv-spool-sync" not in synced and not synced  # nothing synced inside add()
    deadline = time.monotonic() + 5
    while not synced and time.monotonic() < deadline:
        time.sleep(0.01)
    assert synced and set(synced) == {"edgecv-spool-sync"}
    assert len(synced) <= 4  # 50 appends, one batch (two files), maybe split over two intervals
    spool.close()
