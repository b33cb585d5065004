"""Scene rules over MQTT against a real mosquitto: scene events on the events topic, retained zone
occupancy and line totals (coalesced, kept on disk across restarts of the sink and of the broker, reset on
demand), removed rules cleared, and Home Assistant's sensors for them validated by Home Assistant's own
discovery code (the ``ha`` fixture), their states rendered by it.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from edgecv.config import load_settings
from edgecv.frame import Frame
from edgecv.labels import Labels
from edgecv.mqtt import payloads
from edgecv.mqtt.coalesce import Coalescer
from edgecv.mqtt.rules import SceneRules, scene_rules
from edgecv.mqtt.sink import MqttSink
from edgecv.mqtt.totals import FILENAME
from edgecv.scene.events import SceneEvent

HERE = Path(__file__).resolve().parent
LABELS = Labels(["person", "car", "dog"])
PERSON, CAR, DOG = 0, 1, 2
RULES = SceneRules(zones={"driveway": ("person", "car"), "yard": ()}, lines={"door": ("person",)})


def frame(seq: int = 0) -> Frame:
    return Frame(np.zeros((8, 8, 3), np.uint8), seq, time.time())


def enter(track: int, zone: str = "driveway", cls: int = PERSON) -> SceneEvent:
    return SceneEvent("zone_enter", track, cls, zone, time.time())


def leave(track: int, zone: str = "driveway", cls: int = PERSON) -> SceneEvent:
    return SceneEvent("zone_exit", track, cls, zone, time.time())


def cross(track: int, direction: str, line: str = "door", cls: int = PERSON) -> SceneEvent:
    return SceneEvent("line_cross", track, cls, line, time.time(), direction)  # type: ignore[arg-type]


def retained(sub, topic: str) -> list[dict]:
    """The non-empty payloads published on ``topic``, oldest first."""
    return [json.loads(p) for t, p, _ in sub.messages if t == topic and p]


def last(sub, topic: str) -> dict | None:
    values = retained(sub, topic)
    return values[-1] if values else None


def totals_path(spool: Path) -> Path:
    return spool / "dev" / "cam" / FILENAME


@pytest.fixture
def sink_for(mq, tmp_path: Path):
    """``make(port, **config)``: a sink of camera ``cam`` with :data:`RULES`, its state in ``tmp_path``;
    every sink made is closed at the end."""
    made: list[MqttSink] = []

    def make(port: int, rules: SceneRules = RULES, **overrides: object) -> MqttSink:
        config = mq.config(port, spool_dir=str(tmp_path / "state"), **overrides)
        sink = MqttSink(config, LABELS, scenes={"cam": rules})
        made.append(sink)
        return sink

    yield make
    for sink in made:
        sink.close()


def test_scene_events_arrive_on_the_events_topic_and_validate(broker, subscribe, mq, sink_for) -> None:
    sub = subscribe(broker.port, ["edgecv/dev/cam/events"])
    sink = sink_for(broker.port)
    events = [enter(3), SceneEvent("loiter", 3, PERSON, "driveway", time.time()), cross(3, "in"), leave(3)]
    sink.write_scene_events(frame(7), events)
    sink.write_events(frame(7), [mq.track_event("new", 9)])
    assert mq.wait_until(lambda: len(sub.json("/events")) == 5)
    got = sub.json("/events")
    scene = [m for m in got if m["event"] != "new"]
    for message in scene:
        payloads.SceneEventMessage.model_validate(message)
        assert (message["v"], message["device"], message["camera"], message["seq"]) == (1, "dev", "cam", 7)
        assert list(message)[:4] == ["v", "id", "device", "camera"]
    assert [(m["event"], m.get("zone"), m.get("line"), m.get("direction")) for m in scene] == [
        ("zone_enter", "driveway", None, None),
        ("loiter", "driveway", None, None),
        ("line_cross", None, "door", "in"),
        ("zone_exit", "driveway", None, None),
    ]
    assert {m["label"] for m in scene} == {"person"}
    assert len({m["id"] for m in got}) == 5  # one id space with the track events


def test_scene_events_wait_in_the_spool_while_the_broker_is_away(broker, subscribe, mq, sink_for) -> None:
    sub = subscribe(broker.port, ["edgecv/dev/cam/events"], client_id="scene-sub", persistent=True)
    broker.stop()
    sink = sink_for(broker.port)
    sink.write_scene_events(frame(1), [cross(i, "out") for i in range(5)])
    assert sink.publisher.spooled == 5  # on disk before the broker is back
    broker.start()
    assert mq.wait_until(lambda: len(sub.json("/events")) == 5, timeout=15)
    assert [m["track_id"] for m in sub.json("/events")] == list(range(5))
    assert mq.wait_until(lambda: sink.publisher.spooled == 0)


def test_zone_occupancy_goes_up_and_back_to_zero_and_is_zero_after_a_clean_exit(
    broker, subscribe, mq, sink_for
) -> None:
    sub = subscribe(broker.port, ["edgecv/dev/#"])
    driveway, yard = "edgecv/dev/cam/zones/driveway", "edgecv/dev/cam/zones/yard"
    sink = sink_for(broker.port)
    # From the start: the zone's labels at 0; a zone without labels is empty.
    assert mq.wait_until(lambda: last(sub, driveway) == {"person": 0, "car": 0} and last(sub, yard) == {})
    sink.write_scene_events(frame(1), [enter(1), enter(2), enter(5, cls=CAR), enter(6, "yard", DOG)])
    assert mq.wait_until(lambda: last(sub, driveway) == {"person": 2, "car": 1}, timeout=5)
    assert mq.wait_until(lambda: last(sub, yard) == {"dog": 1}, timeout=5)
    sink.write_scene_events(frame(2), [enter(1)])  # repeated: still one track
    sink.write_scene_events(frame(3), [leave(1), leave(2), leave(2), leave(5, cls=CAR)])
    assert mq.wait_until(lambda: last(sub, driveway) == {"person": 0, "car": 0}, timeout=5)
    payloads.ZoneOccupancy.model_validate(last(sub, driveway))

    # Someone is inside when edgecv stops: the zone reads 0 before the process says offline.
    sink.write_scene_events(frame(4), [enter(8)])
    assert mq.wait_until(lambda: last(sub, driveway) == {"person": 1, "car": 0}, timeout=5)
    sink.close()
    order = [(t, p) for t, p, _ in sub.messages]
    offline = order.index(("edgecv/dev/availability", b"offline"))
    zeros = [
        i
        for i, (t, p) in enumerate(order)
        if t == driveway and p and json.loads(p) == {"person": 0, "car": 0}
    ]
    assert zeros and zeros[-1] < offline
    assert last(sub, yard) == {"dog": 0}


def test_a_burst_of_crossings_is_coalesced_with_exact_totals(broker, subscribe, mq, sink_for) -> None:
    sub = subscribe(broker.port, ["edgecv/dev/cam/lines/#"])
    door = "edgecv/dev/cam/lines/door"
    sink = sink_for(broker.port)
    assert mq.wait_until(lambda: last(sub, door) == {"in": {"person": 0}, "out": {"person": 0}})
    before = len(retained(sub, door))
    for i in range(200):
        sink.write_scene_events(frame(i), [cross(i, "in" if i % 4 else "out")])
    sink.write_scene_events(frame(200), [cross(500, "in", cls=CAR)])
    expected = {"in": {"person": 150, "car": 1}, "out": {"person": 50}}
    assert mq.wait_until(lambda: last(sub, door) == expected, timeout=10)
    time.sleep(0.2)  # a late duplicate would show here
    updates = len(retained(sub, door)) - before
    assert 1 <= updates <= 20, updates  # 201 crossings, a handful of messages (one per second at most)
    payloads.LineTotals.model_validate(last(sub, door))


def test_totals_survive_a_restart_of_the_sink_and_of_the_broker(
    broker, subscribe, mq, sink_for, tmp_path
) -> None:
    door = "edgecv/dev/cam/lines/door"
    sink = sink_for(broker.port)
    sink.write_scene_events(frame(1), [cross(1, "in"), cross(2, "in"), cross(3, "out")])
    sink.close()
    saved = json.loads(totals_path(tmp_path / "state").read_text())
    assert saved == {"v": 1, "lines": {"door": {"in": {"person": 2}, "out": {"person": 1}}}}

    sub = subscribe(broker.port, ["edgecv/dev/cam/lines/#"])
    again = sink_for(broker.port)  # a new process over the same state directory
    assert mq.wait_until(lambda: last(sub, door) == {"in": {"person": 2}, "out": {"person": 1}})
    again.write_scene_events(frame(2), [cross(4, "in")])
    assert mq.wait_until(lambda: last(sub, door) == {"in": {"person": 3}, "out": {"person": 1}})

    # The broker comes back without its database: the totals are published again.
    broker.stop()
    for name in os.listdir(broker.directory):
        if name.endswith(".db"):
            os.remove(broker.directory / name)
    again.write_scene_events(frame(3), [cross(5, "out")])  # counted while the broker is away
    broker.start()
    late = subscribe(broker.port, ["edgecv/dev/cam/lines/#"])
    assert mq.wait_until(lambda: last(late, door) == {"in": {"person": 3}, "out": {"person": 2}}, timeout=15)
    later = subscribe(broker.port, ["edgecv/dev/cam/lines/#"])  # after the reconnect: what the broker keeps
    assert mq.wait_until(
        lambda: (
            [(p, r) for t, p, r in later.messages if t == door][:1]
            == [(b'{"in":{"person":3},"out":{"person":2}}', True)]
        )
    )
    again.close()
    assert json.loads(totals_path(tmp_path / "state").read_text())["lines"]["door"] == {
        "in": {"person": 3},
        "out": {"person": 2},
    }


def test_reset_counts_zeroes_the_file_and_the_retained_topic(
    broker, subscribe, mq, sink_for, tmp_path
) -> None:
    sub = subscribe(broker.port, ["edgecv/dev/cam/lines/#"])
    door = "edgecv/dev/cam/lines/door"
    sink = sink_for(broker.port)
    sink.write_scene_events(frame(1), [cross(1, "in"), cross(2, "out", cls=CAR)])
    assert mq.wait_until(lambda: last(sub, door) == {"in": {"person": 1}, "out": {"person": 0, "car": 1}})
    sink.reset_counts("cam")
    zero = {"in": {"person": 0}, "out": {"person": 0, "car": 0}}
    assert json.loads(totals_path(tmp_path / "state").read_text())["lines"]["door"] == zero
    assert mq.wait_until(lambda: last(sub, door) == zero, timeout=5)
    sink.write_scene_events(frame(2), [cross(3, "in")])
    assert mq.wait_until(lambda: last(sub, door) == {"in": {"person": 1}, "out": {"person": 0, "car": 0}})
    with pytest.raises(ValueError, match="no camera 'garage' in this run"):
        sink.reset_counts("garage")


def test_reset_counts_from_another_thread_during_a_stream_of_crossings(
    broker, mq, sink_for, tmp_path
) -> None:
    sink = sink_for(broker.port)
    stop = threading.Event()

    def stream() -> None:
        i = 0
        while not stop.is_set():
            sink.write_scene_events(frame(i), [cross(i, "in")])
            i += 1

    writer = threading.Thread(target=stream)
    writer.start()
    try:
        for _ in range(20):
            sink.reset_counts("cam")
    finally:
        stop.set()
        writer.join()
    sink.reset_counts("cam")
    sink.close()
    # The last write is the newest state: an older snapshot never lands after the reset.
    assert json.loads(totals_path(tmp_path / "state").read_text())["lines"]["door"] == {
        "in": {"person": 0},
        "out": {"person": 0},
    }


@pytest.mark.parametrize(
    "content", [b"{not json", b'{"v": 1, "lines": {"door": {"in": {"person": -3}, "out": {}}}}', b"\xff\xfe"]
)
def test_a_corrupt_totals_file_is_set_aside_with_a_warning(
    broker, subscribe, mq, sink_for, tmp_path, caplog, content: bytes
) -> None:
    path = totals_path(tmp_path / "state")
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    sub = subscribe(broker.port, ["edgecv/dev/cam/lines/#"])
    with caplog.at_level(logging.WARNING, logger="edgecv.mqtt"):
        sink = sink_for(broker.port)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "\n" not in warnings[0], warnings
    assert str(path) in warnings[0] and "corrupt" in warnings[0] and "counting from zero" in warnings[0]
    assert path.with_name(FILENAME + ".corrupt").read_bytes() == content
    assert mq.wait_until(
        lambda: last(sub, "edgecv/dev/cam/lines/door") == {"in": {"person": 0}, "out": {"person": 0}}
    )
    sink.write_scene_events(frame(1), [cross(1, "out")])
    sink.close()
    assert json.loads(path.read_text())["lines"]["door"]["out"] == {"person": 1}


def test_an_unwritable_state_directory_is_a_warning_and_counting_goes_on(
    broker, subscribe, mq, sink_for, tmp_path, caplog
) -> None:
    state = tmp_path / "state"
    (state / "dev" / "cam").mkdir(parents=True)
    (state / "dev" / "cam" / FILENAME).mkdir()  # a folder where the file should be: every write fails
    sub = subscribe(broker.port, ["edgecv/dev/cam/lines/#"])
    sink = sink_for(broker.port, spool=False)
    with caplog.at_level(logging.WARNING, logger="edgecv.mqtt"):
        sink.write_scene_events(frame(1), [cross(1, "in")])
        assert mq.wait_until(
            lambda: last(sub, "edgecv/dev/cam/lines/door") == {"in": {"person": 1}, "out": {"person": 0}}
        )
        sink.write_scene_events(frame(2), [cross(2, "in")])
        sink.close()
    assert any("cannot write the line totals" in r.getMessage() for r in caplog.records)
    assert last(sub, "edgecv/dev/cam/lines/door") == {"in": {"person": 2}, "out": {"person": 0}}


def test_rules_removed_from_the_config_have_their_topics_and_entities_cleared(
    broker, subscribe, mq, sink_for
) -> None:
    sink = sink_for(broker.port, discovery_prefix="homeassistant", labels=["person"])
    sink.write_scene_events(frame(1), [cross(1, "in")])
    sink.close()
    sub = subscribe(broker.port, ["edgecv/dev/cam/#", "homeassistant/#"])
    assert mq.wait_until(lambda: bool(retained(sub, "edgecv/dev/cam/zones/yard")))
    sink_for(
        broker.port,
        SceneRules(zones={"driveway": ("person", "car")}),
        discovery_prefix="homeassistant",
        labels=["person"],
    )
    cleared = lambda: {t for t, p, _ in sub.messages if p == b""}  # noqa: E731
    expected = {
        "edgecv/dev/cam/zones/yard",
        "edgecv/dev/cam/lines/door",
        "homeassistant/sensor/edgecv_dev_cam/zone_yard_occupancy/config",
        "homeassistant/sensor/edgecv_dev_cam/line_door_in_total/config",
        "homeassistant/sensor/edgecv_dev_cam/line_door_out_total/config",
    }
    assert mq.wait_until(lambda: cleared() == expected, timeout=10), cleared()
    late = subscribe(broker.port, ["edgecv/dev/cam/zones/#", "edgecv/dev/cam/lines/#"])
    time.sleep(0.3)
    assert {t for t, _, _ in late.messages} == {"edgecv/dev/cam/zones/driveway"}


def test_discovery_of_zones_and_lines_passes_home_assistant(ha, broker, subscribe, mq, sink_for) -> None:
    ha.require()
    sub = subscribe(broker.port, ["homeassistant/#", "edgecv/dev/cam/zones/#", "edgecv/dev/cam/lines/#"])
    rules = SceneRules(
        zones={"driveway": ("person", "car"), "back yard": ()}, lines={"front door": ("person",)}
    )
    sink = sink_for(broker.port, rules, discovery_prefix="homeassistant", labels=["person", "car"])
    node = "homeassistant/sensor/edgecv_dev_cam"
    scene_configs = {
        f"{node}/zone_driveway_person_occupancy/config": ("edgecv/dev/cam/zones/driveway", "measurement"),
        f"{node}/zone_driveway_car_occupancy/config": ("edgecv/dev/cam/zones/driveway", "measurement"),
        f"{node}/zone_back_yard_occupancy/config": ("edgecv/dev/cam/zones/back yard", "measurement"),
        f"{node}/line_front_door_in_total/config": ("edgecv/dev/cam/lines/front door", "total_increasing"),
        f"{node}/line_front_door_out_total/config": ("edgecv/dev/cam/lines/front door", "total_increasing"),
    }
    assert mq.wait_until(lambda: len(sub.on("/config")) == 4 + len(scene_configs))
    configs = {t: json.loads(p) for t, p, _ in sub.on("/config")}
    assert len({c["unique_id"] for c in configs.values()}) == len(configs)
    for topic, (state_topic, state_class) in scene_configs.items():
        config = configs[topic]
        assert (config["state_topic"], config["state_class"]) == (state_topic, state_class)
        assert config["device"]["identifiers"] == ["edgecv_dev_cam"]  # the camera's device
        assert config["availability_mode"] == "all"

    # The states Home Assistant would show, rendered from what edgecv published.
    sink.write_scene_events(
        frame(1),
        [enter(1), enter(2, cls=CAR), enter(3, cls=CAR), enter(4, "back yard", DOG), enter(5, "back yard")]
        + [cross(i, "in", "front door") for i in range(3)]
        + [cross(9, "out", "front door", DOG)],
    )

    # Waiting for the coalesced states to settle; what Home Assistant makes of them is asserted below.
    topics = (
        "edgecv/dev/cam/zones/driveway",
        "edgecv/dev/cam/zones/back yard",
        "edgecv/dev/cam/lines/front door",
    )
    expected = [
        {"person": 1, "car": 2},
        {"dog": 1, "person": 1},
        {"in": {"person": 3}, "out": {"person": 0, "dog": 1}},
    ]

    def settled() -> bool:
        return [last(sub, t) for t in topics] == expected

    assert mq.wait_until(settled, timeout=5), [last(sub, t) for t in topics]
    # The retained states, and a zone's state before any of its labels was seen.
    states = [{"topic": t, "payload": json.dumps(last(sub, t))} for t in topics]
    states.append({"topic": "edgecv/dev/cam/zones/driveway", "payload": "{}"})
    verdicts = ha.validate(configs, states)
    assert verdicts.failed() == {}, verdicts.output
    assert set(verdicts.errors) == set(configs)

    want = {
        f"{node}/zone_driveway_person_occupancy/config": "1",
        f"{node}/zone_driveway_car_occupancy/config": "2",
        f"{node}/zone_back_yard_occupancy/config": "2",
        f"{node}/line_front_door_in_total/config": "3",
        f"{node}/line_front_door_out_total/config": "1",
    }
    driveway = states[0]["payload"]
    assert {t: verdicts.state(t, payload=driveway if "driveway" in t else None) for t in want} == want
    # A label the zone reports but has not seen yet reads 0, not an error.
    assert verdicts.state(f"{node}/zone_driveway_car_occupancy/config", payload="{}") == "0"


def test_discovery_labels_follow_zone_classes_then_detect_classes(tmp_path: Path) -> None:
    config = tmp_path / "edgecv.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "detect": {"classes": ["person", 2]},
                "zones": {
                    "bay": {"polygon": [[0, 0], [10, 0], [10, 10]], "classes": ["car", "car"]},
                    "lawn": {"polygon": [[0, 0], [10, 0], [10, 10]]},
                },
                "lines": {"gate": {"points": [[0, 0], [10, 10]]}},
            }
        )
    )
    settings = load_settings(config, environ={})
    rules = scene_rules(settings.camera_sections()["cam0"], LABELS)
    assert rules.zones == {"bay": ("car",), "lawn": ("person", "dog")}
    assert rules.lines == {"gate": ("person", "dog")}


def test_coalescer_runs_the_first_request_at_once_then_only_the_newest_per_interval() -> None:
    runs: list[str] = []
    ran = threading.Event()

    def action(name: str):
        def run() -> None:
            runs.append(name)
            ran.set()

        return run

    coalescer = Coalescer(3600.0)  # an interval no test outlives: what runs within it is the first only
    coalescer.request("a", action("a1"))
    assert ran.wait(5)
    for i in range(2, 50):
        coalescer.request("a", action(f"a{i}"))
    coalescer.request("b", action("b1"))
    deadline = time.monotonic() + 5
    while "b1" not in runs and time.monotonic() < deadline:
        time.sleep(0.01)
    coalescer.request("a", action("now"), now=True)
    deadline = time.monotonic() + 5
    while "now" not in runs and time.monotonic() < deadline:
        time.sleep(0.01)
    coalescer.request("a", action("last"))
    coalescer.close()  # what waits runs here, the newest only
    assert runs == ["a1", "b1", "now", "last"]
    coalescer.request("a", action("after close"))
    assert runs[-1] == "last"


def test_edgecv_run_with_zones_and_lines_publishes_their_topics_and_sensors(
    ha, broker, subscribe, mq, demo_model: Path, tmp_path: Path
) -> None:
    """The command a user runs: the sink gets each camera's rules from the config."""
    sub = subscribe(broker.port, ["edgecv/dev/#", "homeassistant/#"])
    config = tmp_path / "edgecv.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "model": {"path": str(demo_model), "threads": 1},
                "mqtt": {"discovery_prefix": "homeassistant", "labels": ["circle"]},
                "zones": {"left": {"polygon": [[0, 0], [0.5, 0], [0.5, 1], [0, 1]], "units": "relative"}},
                "lines": {
                    "middle": {"points": [[0.5, 0], [0.5, 1]], "units": "relative", "classes": ["circle"]}
                },
            }
        )
    )
    state = tmp_path / "state"
    env = mq.edgecv_env(broker.port, EDGECV_MQTT__SPOOL_DIR=str(state))
    done = subprocess.run(
        [sys.executable, "-m", "edgecv", "run", "--config", str(config)],
        env=env,
        cwd=HERE.parents[1],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr

    def crossings() -> dict[str, dict[str, int]]:
        """The retained totals the line's events add up to."""
        crossed = [e for e in sub.json("/events") if e.get("event") == "line_cross"]
        return {d: {"circle": sum(e["direction"] == d for e in crossed)} for d in ("in", "out")}

    assert mq.wait_until(lambda: last(sub, "edgecv/dev/cam/lines/middle") == crossings())
    # Shapes of the demo clip cross into the left half: they entered the zone and all left at the clean exit.
    entered = [e for e in sub.json("/events") if e.get("event") == "zone_enter" and e.get("zone") == "left"]
    exited = [e for e in sub.json("/events") if e.get("event") == "zone_exit" and e.get("zone") == "left"]
    assert entered and len(entered) == len(exited)
    occupancy = last(sub, "edgecv/dev/cam/zones/left")
    assert occupancy and set(occupancy.values()) == {0}
    configs = {t: json.loads(p) for t, p, _ in sub.on("/config") if p}
    node = "homeassistant/sensor/edgecv_dev_cam"
    assert {f"{node}/zone_left_occupancy/config", f"{node}/line_middle_in_total/config"} <= set(configs)
    assert (state / "dev" / "cam").is_dir()
    # Last: where .venv-ha is missing, this skips what the test asserted above.
    states = [
        {"topic": t, "payload": json.dumps(last(sub, t))}
        for t in ("edgecv/dev/cam/zones/left", "edgecv/dev/cam/lines/middle")
    ]
    verdicts = ha.validate(configs, states)
    assert verdicts.failed() == {}, verdicts.output
    assert verdicts.state(f"{node}/line_middle_in_total/config") == str(crossings()["in"]["circle"])
    assert verdicts.state(f"{node}/zone_left_occupancy/config") == "0"


class Counters:
    """A camera of the run, as the sink reads it."""

    def __init__(self, name: str) -> None:
        from edgecv.pipeline.timing import StageTimes

        self.name = name
        self.timings = StageTimes()
        self.dropped_frames = 0


def test_each_camera_keeps_and_resets_its_own_totals(broker, subscribe, mq, tmp_path: Path) -> None:
    sub = subscribe(broker.port, ["edgecv/dev/+/lines/#"])
    config = mq.config(broker.port, spool_dir=str(tmp_path / "state"))
    rules = {name: SceneRules(lines={"door": ("person",)}) for name in ("front", "garage")}
    sink = MqttSink(config, LABELS, cameras=[Counters("front"), Counters("garage")], scenes=rules)
    try:
        for name, n in (("front", 2), ("garage", 3)):
            at = Frame(np.zeros((8, 8, 3), np.uint8), 1, time.time(), source_id=name)
            sink.write_scene_events(at, [cross(i, "in") for i in range(n)])
        sink.reset_counts("front")
        zero, three = {"in": {"person": 0}, "out": {"person": 0}}, {"in": {"person": 3}, "out": {"person": 0}}
        assert mq.wait_until(
            lambda: (
                (last(sub, "edgecv/dev/front/lines/door"), last(sub, "edgecv/dev/garage/lines/door"))
                == (zero, three)
            ),
            timeout=5,
        )
        with pytest.raises(ValueError, match="does not publish"):
            sink.write_scene_events(
                Frame(np.zeros((8, 8, 3), np.uint8), 1, time.time(), source_id="attic"), [cross(1, "in")]
            )
    finally:
        sink.close()
    for name, expected in (("front", zero), ("garage", three)):
        path = tmp_path / "state" / "dev" / name / FILENAME
        assert json.loads(path.read_text())["lines"]["door"] == expected
