"""Home Assistant MQTT discovery: a count sensor and a presence binary sensor per configured label.

Entities read the retained ``counts/<label>`` topic (presence is ``count > 0``) and share the availability
topic, so Home Assistant greys them out when the device goes offline. Entities of labels that left the
config are removed by publishing an empty retained config: on connect we subscribe to our own config
topics, and every retained config that is not in the current set is cleared, whichever run created it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from .. import __version__
from .topics import Topics

COMPONENTS = ("sensor", "binary_sensor")


def _object_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_") or "_"


class Discovery:
    def __init__(self, prefix: str, topics: Topics, labels: list[str]) -> None:
        self.prefix = prefix
        self.topics = topics
        self.node = _object_id(f"edgecv_{topics.device}_{topics.camera}")
        self.labels = list(dict.fromkeys(labels))
        self.configs = self._configs()

    @property
    def subscriptions(self) -> list[str]:
        return [f"{self.prefix}/{component}/{self.node}/+/config" for component in COMPONENTS]

    def _device(self) -> dict:
        return {
            "identifiers": [self.node],
            "name": f"edgecv {self.topics.device} {self.topics.camera}",
            "manufacturer": "edgecv",
            "model": "edgecv detector",
            "sw_version": __version__,
        }

    def _configs(self) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for label in self.labels:
            object_id = _object_id(label)
            common = {
                "state_topic": self.topics.count(label),
                "availability_topic": self.topics.availability,
                "payload_available": "online",
                "payload_not_available": "offline",
                "device": self._device(),
            }
            sensor = {
                "name": f"{label} count",
                "unique_id": f"{self.node}_{object_id}_count",
                "value_template": "{{ value_json.count }}",
                "unit_of_measurement": "objects",
                "state_class": "measurement",
                **common,
            }
            binary = {
                "name": f"{label} present",
                "unique_id": f"{self.node}_{object_id}_present",
                "value_template": "{{ 'ON' if value_json.count > 0 else 'OFF' }}",
                "device_class": "occupancy",
                **common,
            }
            out[f"{self.prefix}/sensor/{self.node}/{object_id}_count/config"] = json.dumps(sensor).encode()
            out[f"{self.prefix}/binary_sensor/{self.node}/{object_id}_present/config"] = json.dumps(
                binary
            ).encode()
        return out

    def stale(self, topic: str, payload: bytes, retained: bool) -> bool:
        """A retained config of ours that the current label list no longer has."""
        return retained and bool(payload) and topic not in self.configs and topic.endswith("/config")

    def handle(self, topic: str, payload: bytes, retained: bool, clear: Callable[[str], None]) -> None:
        if self.stale(topic, payload, retained):
            clear(topic)
