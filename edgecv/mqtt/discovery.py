"""Home Assistant MQTT discovery: a device per camera, with a count sensor and a presence binary sensor per
configured label, an occupancy sensor per zone and label, and a ``total_increasing`` counter per line and
direction.

Entities read the retained ``counts/<label>`` topic (presence is ``count > 0``) and are available only while
both the process (``<prefix>/<device>/availability``, which carries the last will) and their camera
(``<prefix>/<device>/<camera>/availability``: its frames flow) say ``online`` (``availability_mode: all``):
Home Assistant greys out one camera's entities when that camera is lost, and every camera's when the process
goes. Entities of labels, zones and lines that left the config are removed by publishing an empty retained
config: on connect we subscribe to our own config topics, and every retained config that is not in the
current set is cleared, whichever run created it.

A zone's sensors read its retained ``zones/<zone>`` JSON: one per label the zone reports (its ``classes``,
else ``detect.classes``), or, when it names none, one summing every label. A line's two counters read
``lines/<line>`` and sum its labels per direction; a reset makes them drop to 0, which Home Assistant takes
as a new cycle of a ``total_increasing`` sensor.

With ``mqtt.commands`` each camera also gets a ``switch`` (detect), a ``number`` (conf) and a ``button``
(snapshot) that publish to its ``set/<key>`` and read its retained ``state/<key>``; with the image topic, an
``image`` entity reads the retained annotated JPEG on ``<camera>/image``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .. import __version__
from .rules import SceneRules
from .topics import Topics

COMPONENTS = ("sensor", "binary_sensor", "switch", "number", "button", "image")


def _object_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_") or "_"


class Discovery:
    """The configs of every camera in ``cameras`` (their topics), each camera a device of its own."""

    def __init__(
        self,
        prefix: str,
        cameras: Sequence[Topics],
        labels: list[str],
        *,
        commands: bool = False,
        image: bool = False,
        scenes: Mapping[str, SceneRules] | None = None,
    ) -> None:
        self.prefix = prefix
        self.cameras = list(cameras)
        self.labels = list(dict.fromkeys(labels))
        self.configs: dict[str, bytes] = {}
        for topics in self.cameras:
            self.configs.update(self._configs(topics))
            if commands:
                self.configs.update(self._control_configs(topics))
            if image:
                self.configs.update(self._image_config(topics))
            rules = (scenes or {}).get(topics.camera)
            if rules:
                self.configs.update(self._scene_configs(topics, rules))

    @staticmethod
    def node(topics: Topics) -> str:
        """The camera's node id and device identifier (the same as before several cameras, so a camera's
        existing entities are kept)."""
        return _object_id(f"edgecv_{topics.device}_{topics.camera}")

    @property
    def subscriptions(self) -> list[str]:
        return [
            f"{self.prefix}/{component}/{self.node(topics)}/+/config"
            for topics in self.cameras
            for component in COMPONENTS
        ]

    @staticmethod
    def _device(topics: Topics) -> dict:
        return {
            "identifiers": [Discovery.node(topics)],
            "name": f"edgecv {topics.device} {topics.camera}",
            "manufacturer": "edgecv",
            "model": "edgecv detector",
            "sw_version": __version__,
        }

    @staticmethod
    def _attached(topics: Topics, state_topic: str) -> dict[str, Any]:
        """What every sensor of the camera has: its state topic, then what :meth:`_common` gives."""
        return {"state_topic": state_topic, **Discovery._common(topics)}

    def _configs(self, topics: Topics) -> dict[str, bytes]:
        node = self.node(topics)
        out: dict[str, bytes] = {}
        for label in self.labels:
            object_id = _object_id(label)
            common = self._attached(topics, topics.count(label))
            sensor = {
                "name": f"{label} count",
                "unique_id": f"{node}_{object_id}_count",
                "value_template": "{{ value_json.count }}",
                "unit_of_measurement": "objects",
                "state_class": "measurement",
                **common,
            }
            binary = {
                "name": f"{label} present",
                "unique_id": f"{node}_{object_id}_present",
                "value_template": "{{ 'ON' if value_json.count > 0 else 'OFF' }}",
                "device_class": "occupancy",
                **common,
            }
            out[f"{self.prefix}/sensor/{node}/{object_id}_count/config"] = json.dumps(sensor).encode()
            out[f"{self.prefix}/binary_sensor/{node}/{object_id}_present/config"] = json.dumps(
                binary
            ).encode()
        return out

    @staticmethod
    def _common(topics: Topics) -> dict[str, Any]:
        """What every entity of the camera has: both availability topics, its device."""
        return {
            "availability": [
                {"topic": topic, "payload_available": "online", "payload_not_available": "offline"}
                for topic in (topics.device_availability, topics.availability)
            ],
            "availability_mode": "all",
            "device": Discovery._device(topics),
        }

    def _control_configs(self, topics: Topics) -> dict[str, bytes]:
        node = self.node(topics)
        switch = {
            "name": "detect",
            "unique_id": f"{node}_detect",
            "command_topic": topics.command("detect"),
            "state_topic": topics.state("detect"),
            "payload_on": "ON",
            "payload_off": "OFF",
            "icon": "mdi:cctv",
            **self._common(topics),
        }
        number = {
            "name": "confidence threshold",
            "unique_id": f"{node}_conf",
            "command_topic": topics.command("conf"),
            "state_topic": topics.state("conf"),
            "min": 0.01,
            "max": 1.0,
            "step": 0.01,
            "mode": "box",
            "entity_category": "config",
            **self._common(topics),
        }
        button = {
            "name": "snapshot",
            "unique_id": f"{node}_snapshot",
            "command_topic": topics.command("snapshot"),
            "payload_press": "PRESS",
            "icon": "mdi:camera",
            **self._common(topics),
        }
        return {
            f"{self.prefix}/switch/{node}/detect/config": json.dumps(switch).encode(),
            f"{self.prefix}/number/{node}/conf/config": json.dumps(number).encode(),
            f"{self.prefix}/button/{node}/snapshot/config": json.dumps(button).encode(),
        }

    def _image_config(self, topics: Topics) -> dict[str, bytes]:
        node = self.node(topics)
        image = {
            "name": "annotated view",
            "unique_id": f"{node}_image",
            "image_topic": topics.image,
            "content_type": "image/jpeg",
            **self._common(topics),
        }
        return {f"{self.prefix}/image/{node}/image/config": json.dumps(image).encode()}

    def _scene_configs(self, topics: Topics, rules: SceneRules) -> dict[str, bytes]:
        node = self.node(topics)
        sensors: dict[str, dict[str, Any]] = {}  # object id -> config
        for zone, labels in rules.zones.items():
            zone_id = f"zone_{_object_id(zone)}"
            common = self._attached(topics, topics.zone(zone))
            # A label as a Jinja string literal: JSON's escapes are Jinja's, and a label may hold a space.
            per_label = [
                (
                    f"{zone_id}_{_object_id(label)}",
                    f"{zone} {label}",
                    f"value_json[{json.dumps(label)}] | default(0)",
                )
                for label in labels
            ] or [(zone_id, zone, "value_json.values() | sum")]
            for object_id, name, expression in per_label:
                sensors[f"{object_id}_occupancy"] = {
                    "name": f"{name} occupancy",
                    "unique_id": f"{node}_{object_id}_occupancy",
                    "value_template": f"{{{{ {expression} }}}}",
                    "unit_of_measurement": "objects",
                    "state_class": "measurement",
                    **common,
                }
        for line in rules.lines:
            line_id = f"line_{_object_id(line)}"
            common = self._attached(topics, topics.line(line))
            for direction in ("in", "out"):
                sensors[f"{line_id}_{direction}_total"] = {
                    "name": f"{line} {direction}",
                    "unique_id": f"{node}_{line_id}_{direction}_total",
                    "value_template": f"{{{{ value_json[{json.dumps(direction)}].values() | sum }}}}",
                    "unit_of_measurement": "objects",
                    "state_class": "total_increasing",
                    **common,
                }
        return {
            f"{self.prefix}/sensor/{node}/{object_id}/config": json.dumps(config).encode()
            for object_id, config in sensors.items()
        }

    def stale(self, topic: str, payload: bytes, retained: bool) -> bool:
        """A retained config of ours that the current label list no longer has."""
        return retained and bool(payload) and topic not in self.configs and topic.endswith("/config")

    def handle(self, topic: str, payload: bytes, retained: bool, clear: Callable[[str], None]) -> None:
        if self.stale(topic, payload, retained):
            clear(topic)
