"""Sinks register themselves; ``output.sinks`` chooses among them, each still gated by its own settings."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from edgecv.config import Settings, load_settings
from edgecv.detections import Detections
from edgecv.errors import ConfigError
from edgecv.frame import Frame
from edgecv.labels import Labels
from edgecv.output import SINKS, SinkBase, SinkContext, StdoutSink


class Gathered(SinkBase):
    """A test-only sink: keeps every frame's seq."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.seqs: list[int] = []

    def write_frame(self, frame: Frame, detections: Detections) -> None:
        self.seqs.append(frame.seq)

    def summary(self) -> dict[str, Any]:
        return {"gathered": len(self.seqs)}


def _build_gathered(context: SinkContext) -> Gathered:
    return Gathered(context.settings.mqtt.device)


@pytest.fixture
def gathered() -> Iterator[None]:
    """``gathered`` registered for one test, as a plug-in module would register it."""
    SINKS.register("gathered", _build_gathered)
    yield
    SINKS.unregister("gathered")


def settings(**output: Any) -> Settings:
    return load_settings(overrides={"output": output}, environ={})


def built(config: Settings) -> list[Any]:
    context = SinkContext(config, Labels(), [])
    sinks = (SINKS.get(name)(context) for name in config.output.sinks)
    return [sink for sink in sinks if sink is not None]


def test_defaults_and_the_environment() -> None:
    assert settings().output.sinks == ["stdout", "mqtt"]
    assert {"stdout", "mqtt"} <= set(SINKS.names())
    environ = {"EDGECV_OUTPUT__SINKS": "mqtt, stdout"}
    assert load_settings(environ=environ).output.sinks == ["mqtt", "stdout"]
    schema = Settings.model_json_schema()["$defs"]["OutputConfig"]["properties"]["sinks"]
    assert schema["items"]["enum"] == sorted(SINKS.names())


def test_unknown_and_repeated_sinks_are_one_line_errors() -> None:
    with pytest.raises(ConfigError) as info:
        settings(sinks=["stdout", "kafka"])
    text = str(info.value)
    assert "output.sinks = ['stdout', 'kafka']: unknown sink 'kafka'; use one of: " in text
    assert all(name in text.rpartition("one of:")[2] for name in SINKS.names()) and "\n" not in text
    with pytest.raises(ConfigError, match="stdout listed more than once"):
        settings(sinks=["stdout", "stdout"])


def test_each_sink_still_follows_its_own_settings() -> None:
    assert [type(s) for s in built(settings())] == [StdoutSink]  # no mqtt.host: no MQTT
    assert built(settings(stdout="off")) == []
    with_broker = load_settings(
        overrides={"mqtt": {"host": "broker.invalid"}, "output": {"sinks": ["stdout"]}}
    )
    # stdout 'auto' prints unless MQTT publishes; with mqtt not listed, nothing is published.
    assert [type(s) for s in built(with_broker)] == [StdoutSink]


def test_test_time_sinks_are_built_when_listed(gathered: None) -> None:
    config = settings(sinks=["gathered", "stdout"], stdout="on")
    mine, stdout = built(config)
    assert isinstance(mine, Gathered) and isinstance(stdout, StdoutSink)
    mine.write_frame(Frame(np.zeros((4, 4, 3), np.uint8), seq=7, ts=1.0), Detections.empty())
    assert mine.summary() == {"gathered": 1}


def test_mqtt_is_imported_only_when_a_broker_is_configured() -> None:
    code = (
        "import sys; from edgecv.config import load_settings; from edgecv.labels import Labels; "
        "from edgecv.output import SINKS, SinkContext; "
        "ctx = SinkContext(load_settings(environ={}), Labels(), []); "
        "print([type(SINKS.get(n)(ctx)).__name__ for n in SINKS.names()], 'paho' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split("]")[1].strip() == "False", out.stdout
