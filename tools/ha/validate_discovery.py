"""Validate MQTT discovery messages with Home Assistant's own code.

Runs on the Python of ``.venv-ha`` (``make ha-venv``: Python 3.13, the homeassistant release pinned in
constraints/homeassistant.txt), never on edgecv's::

    .venv-ha/bin/python tools/ha/validate_discovery.py messages.json [--prefix homeassistant] [--states states.json]
        [--report report.json]

``messages.json`` (``-`` for stdin) is a JSON list of ``{"topic": ..., "payload": ...}``, the payload as it
was on the wire (a string; an empty one removes an entity). Each message goes the way Home Assistant's MQTT
discovery takes it (homeassistant/components/mqtt/discovery.py, its functions called, not copied): the
topic must be one Home Assistant subscribes to (``<prefix>/<component>/[<node_id>/]<object_id>/config``,
``<component>`` one of its MQTT platforms, or ``device`` for device-based discovery); the payload is parsed
as a JSON object; abbreviations are expanded (also inside ``device``, ``origin`` and ``availability``);
``~`` is replaced; the origin is checked; and the config is validated by the platform's
``DISCOVERY_SCHEMA`` (``homeassistant.components.mqtt.<component>``), which also checks the device and
availability blocks and compiles every template. Nothing here knows a platform: a new entity type is
validated by its own schema.

With ``--states`` (the same format: messages the entities read, e.g. the retained ``counts/<label>``), each
template of a validated config is rendered, with Home Assistant's MQTT value template, over every state
message on its topic: ``value_template`` over ``state_topic``, ``<x>_template`` over ``<x>_topic``, an
availability entry's ``value_template`` over its ``topic`` (command templates are not rendered). A render that raises or makes Home Assistant log
a warning (a key the payload lacks, a payload that is not JSON) fails the message. What the rendered value
means to the platform (a number for a measurement, ON/OFF for a binary sensor) is not judged.

With ``--report``, the verdicts are also written as JSON, one object per message: ``topic``, ``error`` (null
when Home Assistant takes it) and ``rendered``, what each template made of each state message (``template``,
``state_topic``, ``payload``, ``value``): the state Home Assistant would show, for a test to assert.

A unique_id may serve one entity per platform: one already taken by an earlier message's entity (another
topic) fails, as Home Assistant's entity registry does not create the second entity.

Stricter than Home Assistant in two ways, both about what it accepts without a word: a key its schema drops
(unknown to the platform, or misspelt: Home Assistant removes it and the entity silently lacks it) fails the
message, and so does anything Home Assistant logs as a warning while validating (a deprecated option or unit:
it stops working in a later release).

Prints one line per message, ``ok <topic>`` or ``FAIL <topic>: <Home Assistant's error>``, then a summary;
exits 1 when any message failed, 2 when the input cannot be read.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import voluptuous as vol
from homeassistant.components.mqtt import discovery
from homeassistant.components.mqtt.const import SUPPORTED_COMPONENTS
from homeassistant.components.mqtt.models import MqttValueTemplate
from homeassistant.const import __version__ as HA_VERSION
from homeassistant.core import HomeAssistant
from homeassistant.helpers.template import Template
from homeassistant.util.json import json_loads_object
from paho.mqtt.client import topic_matches_sub

DEVICE = "device"  # <prefix>/device/...: one payload carrying several components (device-based discovery)


class Invalid(Exception):
    """A message Home Assistant would reject or only partly take; the text is what to tell the user."""


class WarningLog(logging.Handler):
    """Collects what Home Assistant logs at WARNING or above while one message is validated: that is how
    its discovery reports a payload it drops (bad JSON, bad origin, bad device payload) and how its schemas
    announce deprecations."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record.getMessage())

    @contextmanager
    def capture(self) -> Iterator[list[str]]:
        self.records = []
        yield self.records


def _dropped_keys(given: Any, validated: Any, path: str = "") -> list[str]:
    """Keys of ``given`` the schema removed from ``validated`` (discovery schemas use REMOVE_EXTRA)."""
    if isinstance(given, dict) and isinstance(validated, dict):
        dropped = [f"{path}{key}" for key in given if key not in validated]
        for key in given:
            if key in validated:
                dropped += _dropped_keys(given[key], validated[key], f"{path}{key}.")
        return dropped
    if isinstance(given, list) and isinstance(validated, list) and len(given) == len(validated):
        return [
            key
            for i, (item, out) in enumerate(zip(given, validated, strict=True))
            for key in _dropped_keys(item, out, f"{path.rstrip('.')}[{i}].")
        ]
    return []


def _schema(component: str) -> Any:
    module = importlib.import_module(f"homeassistant.components.mqtt.{component}")
    schema = getattr(module, "DISCOVERY_SCHEMA", None)
    if schema is None:
        raise Invalid(f"Home Assistant {HA_VERSION} has no discovery schema for MQTT platform '{component}'")
    return schema


def _template_topics(config: dict[str, Any]) -> Iterator[tuple[str, Template, str]]:
    """(key, template, topic it renders) of a validated config, whichever the platform. Command templates
    (``command_template``, ``<x>_command_template``) shape what Home Assistant sends, not what it reads."""
    for key, value in config.items():
        if isinstance(value, Template) and "command" not in key:
            stem = key.removesuffix("_template")
            topic = config.get("state_topic" if key == "value_template" else f"{stem}_topic")
            if isinstance(topic, str):
                yield key, value, topic
    for i, entry in enumerate(config.get("availability") or []):
        if isinstance(entry.get("value_template"), Template):
            yield f"availability[{i}].value_template", entry["value_template"], entry["topic"]


def _render(config: dict[str, Any], states: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Each template over the state messages on its topic, as the entity renders what it receives; what
    each render gave (template key, state topic, payload, value)."""
    rendered = []
    for key, template, topic in _template_topics(config):
        for state_topic, state in states:
            if topic_matches_sub(topic, state_topic):
                try:
                    value = MqttValueTemplate(template).async_render_with_possible_json_value(state)
                # Beyond TemplateError (which the entity logs), anything a render raises (division by zero)
                # escapes into Home Assistant's message handler: a finding all the same.
                except Exception as err:
                    raise Invalid(
                        f"{key} over {state_topic} payload {state!r:.120}: {type(err).__name__}: {err}"
                    ) from err
                rendered.append(
                    {"template": key, "state_topic": state_topic, "payload": state, "value": value}
                )
    return rendered


def _validate_component(
    component: str, payload: discovery.MQTTDiscoveryPayload, states: list[tuple[str, str]]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The platform's discovery schema over one component's (expanded) config, as the entity helper of
    homeassistant/components/mqtt/entity.py applies it before creating the entity."""
    if discovery.TOPIC_BASE in payload:
        discovery._replace_topic_base(payload)
    given = json.loads(json.dumps(payload))  # a plain copy: schemas may change what they are given
    try:
        validated = _schema(component)(payload)
    except vol.Invalid as err:
        raise Invalid(str(err)) from err
    if dropped := _dropped_keys(given, validated):
        raise Invalid(
            f"key(s) not in Home Assistant's {component} discovery schema, dropped: {', '.join(dropped)}"
        )
    return validated, _render(validated, states)


def _components(topic: str, raw: str, prefix: str) -> list[tuple[str, str, discovery.MQTTDiscoveryPayload]]:
    """The (platform, name, config) Home Assistant's discovery makes of one message ([] for a removal); the
    name says which component of a device-based payload a config is."""
    if not topic.startswith(f"{prefix}/"):
        raise Invalid(f"not under the discovery prefix '{prefix}/'")
    levels = topic[len(prefix) + 1 :].split("/")
    match = discovery.TOPIC_MATCHER.fullmatch("/".join(levels))
    # Home Assistant subscribes to <component>/+/config and <component>/+/+/config only.
    if match is None or len(levels) not in (3, 4):
        raise Invalid(
            "not a discovery topic Home Assistant reads: <prefix>/<component>/[<node_id>/]<object_id>/config, "
            "ids of [a-zA-Z0-9_-]"
        )
    component, node_id, object_id = match.groups()
    if component != DEVICE and component not in SUPPORTED_COMPONENTS:
        raise Invalid(f"'{component}' is not an MQTT platform of Home Assistant {HA_VERSION}")
    if raw == "":
        return []
    if component == DEVICE:
        # Parses, expands abbreviations and validates the device payload; logs a warning and returns {}
        # when it drops it (a migration request also comes back empty). Its hass argument is read only for
        # an empty payload (the device's removal), returned above.
        device_payload = discovery._parse_device_payload(None, raw, object_id, node_id)
        out = []
        for component_id, config in device_payload.get("components", {}).items():
            platform = config.pop("platform")
            payload = discovery.MQTTDiscoveryPayload(config)
            if payload:  # an empty component config removes it
                payload["device"] = device_payload["device"]
                payload["origin"] = device_payload.get("origin")
                discovery._merge_common_device_options(payload, device_payload)
                out.append((platform, f"component '{component_id}' ({platform}): ", payload))
        return out
    try:
        payload = discovery.MQTTDiscoveryPayload(json_loads_object(raw))
    except ValueError as err:
        raise Invalid(f"Unable to parse JSON: {err}") from err
    if discovery._async_process_discovery_migration(payload):
        return []
    discovery._replace_all_abbreviations(payload)
    if not discovery._valid_origin_info(payload):  # logs the reason
        return []
    return [(component, "", payload)]


class Validator:
    """Validates messages one by one; remembers the unique ids taken, as Home Assistant's entity registry does."""

    def __init__(self, prefix: str, states: list[tuple[str, str]]) -> None:
        self.prefix = prefix
        self.states = states
        self.log = WarningLog()
        logging.getLogger().addHandler(self.log)
        self.unique_ids: dict[tuple[str, str], str] = {}
        self.rendered: list[dict[str, Any]] = []  # the last validated message's renders

    def validate(self, topic: str, raw: str) -> str | None:
        """None when Home Assistant takes the message whole, else why not."""
        self.rendered = []
        with self.log.capture() as warnings:
            try:
                for component, name, payload in _components(topic, raw, self.prefix):
                    try:
                        config, rendered = _validate_component(component, payload, self.states)
                        self._claim(component, config.get("unique_id"), topic)
                        self.rendered += rendered
                    except Invalid as err:
                        return f"{name}{err}"
            except Invalid as err:
                return str(err)
            # What else Home Assistant's code raises over a payload, its entity helper logs as an error and
            # the entity is not created; reported, and the next message is still validated.
            except Exception as err:
                return f"Home Assistant raised {type(err).__name__}: {err}"
        return "; ".join(warnings) or None

    def _claim(self, component: str, unique_id: str | None, topic: str) -> None:
        # Home Assistant keys entities by (platform domain, "mqtt", unique_id): a second entity with the same
        # id on another discovery topic is not created (entity_platform: "does not generate unique IDs").
        if unique_id is None:
            return
        owner = self.unique_ids.setdefault((component, unique_id), topic)
        if owner != topic:
            raise Invalid(
                f"unique_id '{unique_id}' is taken by the {component} of {owner}: Home Assistant ignores this entity"
            )


def _read(path: str) -> list[tuple[str, str]]:
    text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()  # noqa: SIM115
    messages = json.loads(text)
    if not isinstance(messages, list):
        raise ValueError(f"expected a JSON list of {{topic, payload}} objects, got {type(messages).__name__}")
    out = []
    for i, message in enumerate(messages):
        if not (isinstance(message, dict) and isinstance(message.get("topic"), str)):
            raise ValueError(f"message {i}: expected an object with a string 'topic', got {message!r:.80}")
        payload = message.get("payload", "")
        out.append((message["topic"], payload if isinstance(payload, str) else json.dumps(payload)))
    return out


async def _run(
    messages: list[tuple[str, str]], prefix: str, states: list[tuple[str, str]], report: str | None
) -> int:
    verdicts = []
    with tempfile.TemporaryDirectory() as config_dir:
        # Schemas validate templates against the running instance (without one, Home Assistant reports the
        # call as a usage error): created here, in the loop, it is the thread's current instance.
        HomeAssistant(config_dir)
        validator = Validator(prefix, states)
        for topic, raw in messages:
            error = validator.validate(topic, raw)
            print(f"ok {topic}" if error is None else f"FAIL {topic}: {error}")
            verdicts.append({"topic": topic, "error": error, "rendered": validator.rendered})
    failed = sum(v["error"] is not None for v in verdicts)
    print(f"{len(messages) - failed} of {len(messages)} ok (Home Assistant {HA_VERSION})")
    if report:
        with open(report, "w", encoding="utf-8") as out:
            # A rendered value Home Assistant returns as some other type is reported as its text.
            json.dump(verdicts, out, default=str)
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("messages", help="JSON list of {topic, payload} ('-': stdin)")
    parser.add_argument(
        "--prefix", default="homeassistant", help="the discovery prefix (default: %(default)s)"
    )
    parser.add_argument(
        "--states", help="JSON list of {topic, payload} the entities read: templates render them"
    )
    parser.add_argument(
        "--report",
        help="write the verdicts and rendered states here as JSON (a list, one object per message)",
    )
    args = parser.parse_args()
    inputs: list[list[tuple[str, str]]] = []
    for path in (args.messages, args.states):
        try:
            inputs.append(_read(path) if path else [])
        except (OSError, ValueError) as err:
            print(f"cannot read {'stdin' if path == '-' else path}: {err}", file=sys.stderr)
            return 2
    messages, states = inputs
    return asyncio.run(_run(messages, args.prefix.rstrip("/"), states, args.report))


if __name__ == "__main__":
    sys.exit(main())
