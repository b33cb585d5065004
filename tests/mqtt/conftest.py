"""A real mosquitto per test, on a free loopback port, with a generated config; helpers to drive edgecv.

Nothing is mocked between edgecv and the broker. The broker can be stopped and started again mid-test on
the same port, with persistence on (its database in tmp_path), like a broker restarted by its service.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from edgecv.config.mqtt import MqttConfig
from edgecv.detections import Detections
from edgecv.frame import Frame
from edgecv.track.events import TrackEvent

INSTALL = "apt-get update && apt-get install -y mosquitto (as root; or: make test)"
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0, step: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


class Broker:
    def __init__(self, directory: Path, *, tls: dict | None = None, passwords: Path | None = None) -> None:
        self.executable = shutil.which("mosquitto") or shutil.which(
            "mosquitto", path="/usr/sbin:/usr/local/sbin"
        )
        if self.executable is None:
            pytest.skip(f"mosquitto not installed: {INSTALL}")
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        lines = [
            f"listener {self.port} 127.0.0.1",
            # Run as ourselves: as root, mosquitto would drop to user "mosquitto", which cannot read tmp_path.
            f"user {getpass.getuser()}",
            "persistence true",
            f"persistence_location {directory}/",
            "persistent_client_expiration 1h",
            "max_queued_messages 100000",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
        ]
        if passwords is not None:
            lines += ["allow_anonymous false", f"password_file {passwords}"]
        else:
            lines.append("allow_anonymous true")
        if tls:
            lines += [f"cafile {tls['ca']}", f"certfile {tls['cert']}", f"keyfile {tls['key']}"]
        self.config = directory / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")

    def start(self) -> None:
        log = open(self.directory / "mosquitto.log", "a")  # noqa: SIM115 - the broker owns it
        self.process = subprocess.Popen([self.executable, "-c", str(self.config)], stdout=log, stderr=log)
        if not wait_until(self._listening, 5.0):
            self.stop()
            raise RuntimeError(f"mosquitto did not start: {(self.directory / 'mosquitto.log').read_text()}")

    def _listening(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
            return True
        return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: mosquitto saves its persistence database
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def broker_factory(tmp_path: Path) -> Iterator[Callable[..., Broker]]:
    brokers: list[Broker] = []

    def make(start: bool = True, **kwargs: object) -> Broker:
        directory = tmp_path / f"broker{len(brokers)}"
        directory.mkdir()
        broker = Broker(directory, **kwargs)  # type: ignore[arg-type]
        brokers.append(broker)
        if start:
            broker.start()
        return broker

    yield make
    for broker in brokers:
        broker.stop()


@pytest.fixture
def broker(broker_factory: Callable[..., Broker]) -> Broker:
    return broker_factory()


def mqtt_config(port: int, **overrides: object) -> MqttConfig:
    """Settings for tests: loopback, quick backoff and flush."""
    values: dict = {
        "host": "127.0.0.1",
        "port": port,
        "device": "dev",
        "camera": "cam",
        "reconnect_min_s": 0.1,
        "reconnect_max_s": 0.5,
        "keepalive": 5,
        "flush_timeout_s": 3.0,
    }
    values.update(overrides)
    return MqttConfig(**values)


class Subscriber:
    """A paho client that records every message, optionally with a persistent session."""

    def __init__(
        self, port: int, topics: list[str], *, client_id: str = "", persistent: bool = False, v5: bool = True
    ) -> None:
        import paho.mqtt.client as paho
        from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        self.messages: list[tuple[str, bytes, bool]] = []
        self.lock = threading.Lock()
        self.topics = topics
        self.persistent = persistent
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
            clean_session=None if v5 else not persistent,
        )
        self.connected = threading.Event()
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.1, 0.5)  # type: ignore[arg-type]
        properties = None
        if v5 and persistent:
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = 3600
        self.client.connect_async(
            "127.0.0.1", port, keepalive=5, clean_start=not persistent if v5 else 3, properties=properties
        )
        self.client.loop_start()
        assert self.connected.wait(5), "subscriber could not connect"

    def _on_connect(self, client, _userdata, _flags, reason, _props) -> None:
        # A persistent session keeps its subscriptions on the broker (through restarts, with persistence):
        # subscribing once proves it; a clean session must subscribe on every connect.
        if not reason.is_failure and (not self.persistent or not self.connected.is_set()):
            for topic in self.topics:
                client.subscribe(topic, qos=1)
            # Wait for the SUBACKs cheaply: a subscribe is in place once a round trip completed.
            self.connected.set()

    def _on_message(self, _client, _userdata, message) -> None:
        with self.lock:
            self.messages.append((message.topic, message.payload, bool(message.retain)))

    def on(self, suffix: str) -> list[tuple[str, bytes, bool]]:
        with self.lock:
            return [m for m in self.messages if m[0].endswith(suffix)]

    def json(self, suffix: str) -> list[dict]:
        return [json.loads(p) for _, p, _ in self.on(suffix) if p]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def subscribe() -> Iterator[Callable[..., Subscriber]]:
    made: list[Subscriber] = []

    def make(port: int, topics: list[str], **kwargs: object) -> Subscriber:
        sub = Subscriber(port, topics, **kwargs)  # type: ignore[arg-type]
        made.append(sub)
        time.sleep(0.1)  # let the SUBACK land before the test publishes
        return sub

    yield make
    for sub in made:
        sub.close()


def frame(seq: int, ts: float | None = None, size: tuple[int, int] = (48, 64)) -> Frame:
    return Frame(np.zeros((*size, 3), np.uint8), seq, time.time() if ts is None else ts)


def detections(class_ids: list[int], track_ids: list[int] | None = None) -> Detections:
    n = len(class_ids)
    boxes = np.tile(np.array([[1, 2, 30, 40]], np.float32), (n, 1))
    return Detections(
        boxes,
        np.full(n, 0.9, np.float32),
        np.asarray(class_ids, np.int32),
        None if track_ids is None else np.asarray(track_ids, np.int64),
    )


def track_event(kind: str, track_id: int, class_id: int = 0, ts: float = 0.0) -> TrackEvent:
    return TrackEvent(kind, track_id, class_id, 0.8, 0.9, np.array([1, 2, 30, 40], np.float32), ts, ts)  # type: ignore[arg-type]


def run_publisher(args: list[str], **kwargs: object) -> subprocess.Popen:
    """``publisher_proc.py`` in its own process, so a test can kill -9 it."""
    return subprocess.Popen([sys.executable, str(HERE / "publisher_proc.py"), *args], **kwargs)  # type: ignore[call-overload]


def edgecv_env(port: int, **extra: str) -> dict[str, str]:
    """The environment of an ``edgecv run`` publishing to the test broker as device ``dev``, camera ``cam``
    (and, like every test, keeping its spool under the test's own ``XDG_STATE_HOME``)."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("EDGECV_")}
    env.update(
        EDGECV_MQTT__HOST="127.0.0.1",
        EDGECV_MQTT__PORT=str(port),
        EDGECV_MQTT__DEVICE="dev",
        EDGECV_MQTT__CAMERA="cam",
    )
    env.update(extra)
    return env


def run_edgecv(
    args: list[str], env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The real command, to its end."""
    return subprocess.run(
        [sys.executable, "-m", "edgecv", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


HA_VENV = REPO / ".venv-ha"
HA_VALIDATOR = REPO / "tools" / "ha" / "validate_discovery.py"
HA_MISSING = "no .venv-ha with Home Assistant (make ha-venv: needs Python 3.13)"


class HaVerdicts:
    """What Home Assistant made of one batch of discovery messages (tools/ha/validate_discovery.py)."""

    def __init__(self, returncode: int, report: list[dict], output: str) -> None:
        self.returncode = returncode
        self.output = output  # the validator's whole output, for assertion messages
        self.errors: dict[str, str | None] = {v["topic"]: v["error"] for v in report}
        self._rendered = {v["topic"]: v["rendered"] for v in report}

    def failed(self) -> dict[str, str]:
        """Topic -> Home Assistant's error, for every message it rejected or only partly took."""
        return {topic: error for topic, error in self.errors.items() if error is not None}

    def state(self, config_topic: str, template: str = "value_template", payload: str | None = None) -> str:
        """What the entity of ``config_topic`` shows: its ``template`` rendered over the last state message
        it read (or the one with ``payload``)."""
        values = [
            r["value"]
            for r in self._rendered[config_topic]
            if r["template"] == template and (payload is None or r["payload"] == payload)
        ]
        assert values, f"{template} of {config_topic} rendered nothing: {self.output}"
        return values[-1]


class HomeAssistant:
    """Home Assistant's own discovery code over the messages a test collected, in one validator process
    (on .venv-ha's Python 3.13: Home Assistant cannot be installed beside edgecv)."""

    def __init__(self, directory: Path, prefix: str = "homeassistant") -> None:
        self.directory = directory
        self.prefix = prefix

    @property
    def available(self) -> bool:
        return (HA_VENV / ".ha").exists()  # written last by make ha-venv

    def require(self) -> None:
        """Skips the test, before it starts anything, where .venv-ha is missing."""
        if not self.available:
            pytest.skip(HA_MISSING)

    def split(self, messages: list[tuple[str, bytes, bool]]) -> tuple[list[dict], list[dict]]:
        """A subscriber's retained messages as (discovery configs, states the entities read). A binary
        payload (the image topic's JPEG) is no state a template reads and is left out."""
        configs: list[dict] = []
        states: list[dict] = []
        for topic, payload, retained in messages:
            if not retained:
                continue
            if topic.startswith(f"{self.prefix}/"):
                configs.append({"topic": topic, "payload": payload.decode()})
            else:
                try:
                    states.append({"topic": topic, "payload": payload.decode()})
                except UnicodeDecodeError:
                    continue
        return configs, states

    def validate(
        self, configs: list[dict] | dict[str, bytes | str | dict], states: list[dict] | None = None
    ) -> HaVerdicts:
        """Every config (``{topic, payload}`` messages, or topic -> payload) through Home Assistant's
        discovery, each template rendered over the ``states`` on its topic. Skips the test here (what it
        asserted before still ran) where .venv-ha is missing."""
        self.require()
        if isinstance(configs, dict):
            configs = [{"topic": t, "payload": _text(p)} for t, p in configs.items()]
        states_path = self.directory / "ha_states.json"
        report_path = self.directory / "ha_report.json"
        states_path.write_text(json.dumps(states or []))
        done = subprocess.run(
            [
                str(HA_VENV / "bin" / "python"),
                str(HA_VALIDATOR),
                "-",
                "--prefix",
                self.prefix,
                "--states",
                str(states_path),
                "--report",
                str(report_path),
            ],
            input=json.dumps(configs),
            capture_output=True,
            text=True,
            timeout=120,
        )
        output = done.stdout + done.stderr
        assert done.returncode in (0, 1), output  # 2: the input could not be read; else it crashed
        return HaVerdicts(done.returncode, json.loads(report_path.read_text()), output)


def _text(payload: bytes | str | dict) -> str:
    if isinstance(payload, bytes):
        return payload.decode()
    return payload if isinstance(payload, str) else json.dumps(payload)


@pytest.fixture
def ha(tmp_path: Path) -> HomeAssistant:
    """Validates discovery configs with Home Assistant's own code: ``ha.validate(configs, states)``."""
    return HomeAssistant(tmp_path)


@pytest.fixture(scope="session")
def mq() -> SimpleNamespace:
    """The helpers above, as a fixture: with --import-mode=importlib a conftest cannot be imported."""
    return SimpleNamespace(
        config=mqtt_config,
        frame=frame,
        detections=detections,
        track_event=track_event,
        wait_until=wait_until,
        run_publisher=run_publisher,
        free_port=free_port,
        edgecv_env=edgecv_env,
        run_edgecv=run_edgecv,
    )
