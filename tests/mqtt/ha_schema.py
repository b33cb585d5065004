"""Home Assistant's MQTT discovery rules for the entities edgecv creates (``sensor``, ``binary_sensor``,
``switch``, ``number``, ``button``, ``image``), as
Home Assistant's own code states them (homeassistant/components/mqtt: ``discovery.py``'s topic matcher,
``schemas.py``'s availability and device schemas, ``sensor.py`` / ``binary_sensor.py``'s platform schemas,
``const.py``'s availability modes, and the sensor state classes), written out here because Home Assistant
itself needs Python 3.13 and pins its own paho-mqtt, so it cannot be installed beside edgecv.

:func:`problems` lists what Home Assistant would reject in a config (empty when it would accept it), and
:func:`render` evaluates a ``value_template`` the way Home Assistant does (Jinja2, sandboxed, with
``value_json``), so a test checks the state an entity would show for a payload edgecv published.
"""

from __future__ import annotations

import json
import re
from typing import Any

# discovery.py: <prefix>/<component>/[<node_id>/]<object_id>/config, ids of [a-zA-Z0-9_-]
TOPIC = re.compile(
    r"^(?P<prefix>.+?)/(?P<component>\w+)/(?:(?P<node_id>[a-zA-Z0-9_-]+)/)?(?P<object_id>[a-zA-Z0-9_-]+)/config$"
)

AVAILABILITY_MODES = {"all", "any", "latest"}
STATE_CLASSES = {"measurement", "measurement_angle", "total", "total_increasing"}
BINARY_SENSOR_DEVICE_CLASSES = {
    "battery", "battery_charging", "carbon_monoxide", "cold", "connectivity", "door", "garage_door", "gas",
    "heat", "light", "lock", "moisture", "motion", "moving", "occupancy", "opening", "plug", "power",
    "presence", "problem", "running", "safety", "smoke", "sound", "tamper", "update", "vibration", "window",
}  # fmt: skip

# schemas.py MQTT_ENTITY_DEVICE_INFO_SCHEMA
DEVICE_KEYS = {
    "identifiers", "connections", "manufacturer", "model", "model_id", "name", "hw_version", "serial_number",
    "sw_version", "via_device", "suggested_area", "configuration_url",
}  # fmt: skip
# schemas.py MQTT_ENTITY_COMMON_SCHEMA (with MQTT_AVAILABILITY_SCHEMA) and mqtt's MQTT_RO_SCHEMA
COMMON_KEYS = {
    "availability", "availability_mode", "availability_topic", "availability_template", "payload_available",
    "payload_not_available", "device", "origin", "enabled_by_default", "entity_category", "icon",
    "json_attributes_topic", "json_attributes_template", "object_id", "default_entity_id", "unique_id",
    "state_topic", "value_template", "qos", "encoding", "name", "platform",
}  # fmt: skip
PLATFORM_KEYS = {
    "sensor": {
        "device_class", "expire_after", "force_update", "last_reset_value_template", "state_class",
        "unit_of_measurement", "suggested_display_precision", "options",
    },
    "binary_sensor": {"device_class", "expire_after", "force_update", "off_delay", "payload_on", "payload_off"},
    # switch.py (on MQTT_RW_SCHEMA: command_topic required, retain, optimistic)
    "switch": {
        "command_topic", "retain", "optimistic", "device_class", "payload_on", "payload_off", "state_on",
        "state_off",
    },
    # number.py (on MQTT_RW_SCHEMA)
    "number": {
        "command_topic", "retain", "optimistic", "command_template", "device_class", "min", "max", "mode",
        "payload_reset", "step", "unit_of_measurement",
    },
    # button.py (on MQTT_BASE_SCHEMA with command_topic required)
    "button": {"command_topic", "retain", "command_template", "device_class", "payload_press"},
    # image.py: exactly one of image_topic and url_topic
    "image": {"image_topic", "url_topic", "url_template", "content_type", "image_encoding"},
}  # fmt: skip
READ_ONLY = {"sensor", "binary_sensor"}  # MQTT_RO_SCHEMA: state_topic required
COMMANDED = {"switch", "number", "button"}  # command_topic required
NUMBER_MODES = {"auto", "box", "slider"}
SWITCH_DEVICE_CLASSES = {"outlet", "switch"}
BUTTON_DEVICE_CLASSES = {"identify", "restart", "update"}


def _subscribe_topic(topic: Any) -> bool:
    """util.valid_subscribe_topic: a non-empty string, wildcards only as whole levels, '#' last."""
    if not isinstance(topic, str) or not topic or "\0" in topic or len(topic.encode()) > 65535:
        return False
    levels = topic.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            return False
        if "+" in level and level != "+":
            return False
    return True


def problems(topic: str, config: dict[str, Any]) -> list[str]:
    """What Home Assistant would reject in the discovery ``config`` published on ``topic``."""
    out: list[str] = []
    match = TOPIC.match(topic)
    if match is None:
        return [f"{topic}: not <prefix>/<component>/[<node_id>/]<object_id>/config with [a-zA-Z0-9_-] ids"]
    component = match["component"]
    if component not in PLATFORM_KEYS:
        return [f"{topic}: component {component} is not checked here"]
    unknown = set(config) - COMMON_KEYS - PLATFORM_KEYS[component]
    if unknown:
        out.append(f"extra keys not allowed: {sorted(unknown)}")
    if component in READ_ONLY and not _subscribe_topic(config.get("state_topic")):
        out.append(f"state_topic required, a valid subscribe topic: {config.get('state_topic')!r}")
    elif "state_topic" in config and not _subscribe_topic(config["state_topic"]):
        out.append(f"state_topic must be a valid subscribe topic: {config['state_topic']!r}")
    if component in COMMANDED:
        command = config.get("command_topic")
        # util.valid_publish_topic: a subscribe topic without wildcards
        if not _subscribe_topic(command) or "+" in command or "#" in command:
            out.append(f"command_topic required, a valid publish topic: {command!r}")
    if component not in READ_ONLY and "value_template" in config and component == "button":
        out.append("value_template is not a button key")
    if "availability" in config and "availability_topic" in config:
        out.append("availability and availability_topic are exclusive")
    for entry in config.get("availability", []):
        if not isinstance(entry, dict) or not _subscribe_topic(entry.get("topic")):
            out.append(f"availability entry needs a valid topic: {entry!r}")
        elif set(entry) - {"topic", "payload_available", "payload_not_available", "value_template"}:
            out.append(f"availability entry has extra keys: {entry!r}")
    if config.get("availability_mode", "latest") not in AVAILABILITY_MODES:
        out.append(f"availability_mode not in {sorted(AVAILABILITY_MODES)}")
    device = config.get("device")
    if device is not None:
        if set(device) - DEVICE_KEYS:
            out.append(f"device has extra keys: {sorted(set(device) - DEVICE_KEYS)}")
        identifiers = device.get("identifiers")
        if not identifiers and not device.get("connections"):
            out.append("device must have at least one identifying value in identifiers and/or connections")
        if isinstance(identifiers, list) and not all(isinstance(i, str) for i in identifiers):
            out.append("device identifiers must be strings")
    for key in ("unique_id", "name", "unit_of_measurement", "value_template"):
        if key in config and not isinstance(config[key], str):
            out.append(f"{key} must be a string")
    if component == "sensor":
        state_class = config.get("state_class")
        if state_class is not None and state_class not in STATE_CLASSES:
            out.append(f"state_class {state_class!r} not in {sorted(STATE_CLASSES)}")
        if "last_reset_value_template" in config and state_class != "total":
            out.append("last_reset_value_template needs state_class total")
        if "options" in config:
            out.append("options is for enum sensors only")
    elif component == "binary_sensor" and config.get("device_class") not in (
        None,
        *BINARY_SENSOR_DEVICE_CLASSES,
    ):
        out.append(f"binary_sensor device_class {config['device_class']!r} is not one of Home Assistant's")
    elif component == "switch" and config.get("device_class") not in (None, *SWITCH_DEVICE_CLASSES):
        out.append(f"switch device_class {config['device_class']!r} is not one of Home Assistant's")
    elif component == "button" and config.get("device_class") not in (None, *BUTTON_DEVICE_CLASSES):
        out.append(f"button device_class {config['device_class']!r} is not one of Home Assistant's")
    elif component == "number":
        low, high, step = config.get("min", 1.0), config.get("max", 100.0), config.get("step", 1.0)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high, step)):
            out.append("number min, max and step must be numbers")
        elif not low < high:
            out.append(f"number min ({low}) must be less than max ({high})")  # number.py validate_config
        elif step < 1e-3:
            out.append(f"number step {step} below 0.001")
        if config.get("mode", "auto") not in NUMBER_MODES:
            out.append(f"number mode {config.get('mode')!r} not in {sorted(NUMBER_MODES)}")
    elif component == "image":
        if ("image_topic" in config) == ("url_topic" in config):
            out.append("image needs exactly one of image_topic and url_topic")
        elif not _subscribe_topic(config.get("image_topic", config.get("url_topic"))):
            out.append("image_topic must be a valid subscribe topic")
        if config.get("image_encoding") not in (None, "b64"):
            out.append("image_encoding is b64 or absent")
    if config.get("entity_category") not in (None, "config", "diagnostic"):
        out.append(f"entity_category {config['entity_category']!r} not config or diagnostic")
    if "value_template" in config:
        try:
            _environment().from_string(config["value_template"])
        except Exception as exc:  # what cv.template raises on: the template does not compile
            out.append(f"value_template does not compile: {exc}")
    return out


def _environment() -> Any:
    import jinja2.sandbox

    # Home Assistant renders templates in an immutable sandbox; a missing key is Undefined, not an error.
    return jinja2.sandbox.ImmutableSandboxedEnvironment()


def render(template: str, payload: bytes) -> str:
    """``template`` rendered with ``value_json`` (and ``value``) of ``payload``, as Home Assistant does."""
    text = payload.decode()
    return _environment().from_string(template).render(value=text, value_json=json.loads(text)).strip()
