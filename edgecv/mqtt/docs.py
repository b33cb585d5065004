"""Generate the wire spec, ``docs/mqtt.md`` and ``docs/schemas/*.json``, from the payload models.

Run ``python -m edgecv.mqtt.docs`` (or ``tools/gen_mqtt_docs.py``) after changing a payload model;
``--check`` exits 1 when the committed files are stale (a test runs it).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from .coalesce import SCENE_MIN_INTERVAL_S
from .payloads import (
    SCHEMA_VERSION,
    CountMessage,
    DetectionsMessage,
    ErrorMessage,
    EventMessage,
    LineTotals,
    SceneEventMessage,
    StatsMessage,
    ZoneOccupancy,
)
from .totals import FILENAME as TOTALS_FILE


@dataclass(frozen=True)
class TopicSpec:
    name: str
    leaf: str
    qos: str
    retain: bool
    payload: type[BaseModel] | str
    about: str


TOPICS = (
    TopicSpec(
        "device_availability", "../availability", "1", True, "text: `online` / `offline`",
        "The process's own topic, `<prefix>/<device>/availability` (one level above the cameras'): `online` "
        "on every connect; `offline` at a clean exit and, as the last will, when the broker loses the "
        "connection (a crash, a power cut, a network failure). One per process, whatever its cameras.",
    ),
    TopicSpec(
        "availability", "availability", "1", True, "text: `online` / `offline`",
        "Whether this camera's frames flow: `online` while they do, `offline` from the start until its first "
        "frame, while its source is lost or stalled (`service.stall_s`), once it has ended, and at a clean "
        "exit. It carries no last will: after a crash it may still read `online`, so read it together with "
        "the process's `<prefix>/<device>/availability` (Home Assistant entities use both).",
    ),
    TopicSpec(
        "detections", "detections", "`mqtt.qos_detections` (0)", False, DetectionsMessage,
        "One message per processed frame (at most `mqtt.detections_max_rate` per second). Frames with no "
        "detections are sent unless `mqtt.detections_include_empty` is false.",
    ),
    TopicSpec(
        "events", "events", "`mqtt.qos_events` (1)", False, EventMessage,
        "Track `new` / `update` / `end` (with tracking on). Written to the disk spool when queued (on by "
        "default, `mqtt.spool`) and kept there until the broker acknowledges them, so an exit or crash during "
        "an outage loses none; delivered at least once: drop duplicates by `id`.",
    ),
    TopicSpec(
        "scene_events", "events", "`mqtt.qos_events` (1)", False, SceneEventMessage,
        "Scene rule events on the same topic as track events, spooled and delivered the same way: "
        "`zone_enter`, `zone_exit`, `loiter` (with `zone`) and `line_cross` (with `line` and `direction`). "
        "Tell them from track events by `event`; they carry no box and no score.",
    ),
    TopicSpec(
        "zone", "zones/<zone>", "1", True, ZoneOccupancy,
        "Per zone of the camera's config (`zones`, or `cameras.<name>.zones`): confirmed tracks inside it "
        "now, per label, as `{label: n}` (no envelope: the payload is the state). A track counts from its "
        "`zone_enter` to its `zone_exit`. The zone's labels (its `classes`, else `detect.classes`) are always "
        "there, 0 included; a zone that names none starts as `{}` and lists each label from its first entry "
        "on, at 0 once it has left. Published at start, then on change, at most once per "
        f"{SCENE_MIN_INTERVAL_S:g} s per zone (the newest value; the first change after a quiet interval at "
        "once). At a clean exit every label of every zone goes to 0 before `offline`. The topic of a zone "
        "removed from the config is cleared (empty retained message) at the next connect.",
    ),
    TopicSpec(
        "line", "lines/<line>", "1", True, LineTotals,
        "Per counting line of the camera's config: crossings per direction and label since the last reset, "
        "`{\"in\": {label: n}, \"out\": {label: n}}` (no envelope), from `line_cross` events. Published at "
        f"start and on change, at most once per {SCENE_MIN_INTERVAL_S:g} s per line with exact totals (a burst "
        "of crossings is one message with all of them). The totals are kept on disk in "
        f"`<mqtt.spool_dir>/<device>/<camera>/{TOTALS_FILE}` (written atomically at most once per "
        f"{SCENE_MIN_INTERVAL_S:g} s, and at a clean exit), so they survive restarts until reset (runtime "
        "control's `reset_counts`); a crash loses at most the last second. A corrupt file is moved aside to "
        f"`{TOTALS_FILE}.corrupt` with a warning and counting starts from zero. A line removed from the "
        "config loses its totals and its topic is cleared.",
    ),
    TopicSpec(
        "counts", "counts/<label>", "1", True, CountMessage,
        "Confirmed tracks of one label in view now (detections, without a tracker). Published when the "
        "count changes; configured `mqtt.labels` start at 0.",
    ),
    TopicSpec(
        "counts_all", "counts/all", "1", True, CountMessage,
        "The total over labels, same rules. (A class named `all` publishes to `counts/_all`.)",
    ),
    TopicSpec(
        "stats", "stats", "0", False, StatsMessage,
        "Every `mqtt.stats_interval_s` seconds while this camera's frames flow: the camera's own `fps`, "
        "`frames`, `dropped_frames` and `stages_ms`; the connection's counters (`reconnects`, `queue_depth`, "
        "`published`, `acked`, `dropped_messages`, `spooled`, `spool_errors`, `mqtt`) are the process's, the "
        "same on every camera's topic.",
    ),
    TopicSpec(
        "snapshot", "snapshot/<label>", "0", True, "binary: JPEG",
        "With `mqtt.snapshot.enabled`: the best frame of the latest new track of the label (its first "
        "confirmed frame, replaced when a later frame scores higher), `mqtt.snapshot.width` wide.",
    ),
    TopicSpec(
        "image", "image", "0", True, "binary: JPEG",
        "The camera's annotated view (boxes, labels, scores, track ids, and its zones, lines and masks), "
        "`mqtt.snapshot.width` wide at `mqtt.snapshot.quality`: Home Assistant's `image` entity. Published on "
        "each new track, at most once every `mqtt.image_interval_s` (default 10) while tracks are in view, "
        "and on `set/snapshot`. Drawn and encoded off the pipeline's threads, only when one is due.",
    ),
    TopicSpec(
        "set", "set/<key>", "1 (subscribed)", False, "text (see Commands)",
        "With `mqtt.commands: true`, edgecv subscribes here: `detect` and `motion` take `ON`/`OFF`, `conf` a "
        "number in (0, 1], `classes` a JSON list or comma-separated names of the model's labels (empty: every "
        "class), `snapshot` and `reset_counts` anything. Publish without the retain flag (see Commands).",
    ),
    TopicSpec(
        "state", "state/<key>", "1", True, "text",
        "With `mqtt.commands: true`: the value of `detect`, `motion` (`ON`/`OFF`), `conf` (a number) and "
        "`classes` (a JSON list of names, `[]` for every class) now: published at start from the config, on "
        "every accepted command, and after a reload.",
    ),
    TopicSpec(
        "error", "../error", "1", False, ErrorMessage,
        "The device's, `<prefix>/<device>/error`: a command that was refused (bad payload, unknown key, "
        "unknown camera, a retained command) or a config reload (SIGHUP) that failed. Nothing changed: the "
        "run goes on as before.",
    ),
)  # fmt: skip


def schemas() -> dict[str, dict]:
    out = {}
    for spec in TOPICS:
        if isinstance(spec.payload, type) and spec.name not in out:
            schema = spec.payload.model_json_schema()
            schema["$id"] = f"{spec.name}.schema.json"
            where = spec.leaf[3:] if spec.leaf.startswith("../") else f"<camera>/{spec.leaf}"
            schema["description"] = f"edgecv MQTT payload of <prefix>/<device>/{where}"
            out[spec.name] = schema
    return out


def _fields(model: type[BaseModel]) -> list[str]:
    rows = ["| field | type | description |", "|---|---|---|"]
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    if "properties" not in schema:  # a map (a RootModel of a dict): its keys are data, not fields
        value = schema.get("additionalProperties", {}).get("type", "?")
        key = model.model_fields["root"].description or ""
        return [*rows, f"| `<key>` | {value} | {key.replace('|', chr(92) + '|')} |"]
    for name, prop in schema["properties"].items():
        kind = prop.get("type") or " or ".join(
            p.get("type", p.get("$ref", "?").split("/")[-1]) for p in prop.get("anyOf", [])
        )
        if not kind and "$ref" in prop:
            kind = prop["$ref"].split("/")[-1]
        values = prop.get("additionalProperties")
        if kind == "object" and isinstance(values, dict):
            inner = values.get("type") or values.get("$ref", "").split("/")[-1]
            kind = f"object of {inner}" if inner else kind
        if kind == "array" and "items" in prop:
            item = prop["items"]
            kind = f"array of {item.get('type') or item.get('$ref', '?').split('/')[-1]}"
        optional = "" if name in required or "default" not in prop else " (optional)"
        about = prop.get("description", "").replace("|", "\\|")
        rows.append(f"| `{name}` | {kind}{optional} | {about} |")
    return rows


def markdown() -> str:
    lines = [
        "# MQTT wire contract",
        "",
        "<!-- Generated by `python -m edgecv.mqtt.docs` from edgecv/mqtt/payloads.py; do not edit. -->",
        "",
        "Every camera's topics live under `<prefix>/<device>/<camera>/` (`mqtt.prefix`, default `edgecv`; "
        "`mqtt.device`, default the host name; the camera's name: a key of the `cameras` map, or "
        "`mqtt.camera`, default `cam0`, for the one-camera shorthand). The process itself has one topic, "
        "`<prefix>/<device>/availability`, which carries its last will. One process publishes all its "
        "cameras over one connection, client id `edgecv-<device>`. One broker (or a bridged cluster) serves "
        "a fleet: subscribe to `edgecv/+/+/events` for every camera, or spread the events over consumers "
        "with an MQTT 5 shared subscription, `$share/<group>/edgecv/+/+/events`.",
        "",
        f"JSON payloads carry `v` (schema version, now {SCHEMA_VERSION}) and `id`, unique per message "
        "across devices and restarts. QoS 1 is at-least-once (a reconnect or a restart re-sends what was "
        "not acknowledged): drop a message whose `id` you have seen. JSON Schemas: `docs/schemas/`.",
        "",
        "All retained state (availability, counts, zones, lines, snapshots, discovery) is re-published after every "
        "(re)connect. While the broker is unreachable, events wait in the spool on disk (bounded by "
        "`mqtt.spool_max_mb`) and other messages in a queue bounded by `mqtt.queue.max_messages` and "
        "`mqtt.queue.max_bytes`; when full, the oldest detections are dropped first, stats next, events "
        "last, counted in `stats.dropped_messages`.",
        "",
        "| topic | QoS | retained | payload |",
        "|---|---|---|---|",
    ]
    for spec in TOPICS:
        payload = spec.payload if isinstance(spec.payload, str) else f"JSON `{spec.payload.__name__}`"
        lines.append(f"| `{_topic(spec)}` | {spec.qos} | {'yes' if spec.retain else 'no'} | {payload} |")
    for spec in TOPICS:
        lines += ["", f"## `{_topic(spec)}`", "", spec.about, ""]
        if isinstance(spec.payload, type):
            lines += [f"Schema: [`schemas/{spec.name}.schema.json`](schemas/{spec.name}.schema.json)", ""]
            lines += _fields(spec.payload)
    lines += [
        "",
        "## Home Assistant discovery",
        "",
        "With `mqtt.discovery_prefix` set (usually `homeassistant`), each camera is a device "
        "(`edgecv_<device>_<camera>`), and each label in `mqtt.labels` gets, per camera, a sensor "
        "`<prefix>/sensor/edgecv_<device>_<camera>/<label>_count/config` (the count) and a binary sensor "
        "`<prefix>/binary_sensor/edgecv_<device>_<camera>/<label>_present/config` (count > 0), both reading "
        "the camera's `counts/<label>`. Their `availability` lists the process's "
        "`<prefix>/<device>/availability` and the camera's `availability` with `availability_mode: all`: an "
        "entity is available only while the process runs and its camera's frames flow. Configs are retained, "
        "QoS 1. Entities of labels removed from `mqtt.labels` are deleted (empty retained config) at the next "
        "connect, and so are the retained `counts/<label>` of labels neither configured nor seen by the run.",
        "",
        "Scene rules add, per camera, sensors reading the retained `zones/<zone>` and `lines/<line>` JSON "
        "(`mqtt.discovery_prefix` still needs `mqtt.labels`):",
        "",
        "- an occupancy sensor per zone and label, "
        "`<prefix>/sensor/edgecv_<device>_<camera>/zone_<zone>_<label>_occupancy/config` (`state_class: "
        "measurement`), for each label of the zone's `classes`, else of `detect.classes`; a zone for which "
        "neither names labels gets one sensor summing all labels, `zone_<zone>_occupancy`;",
        "- two counters per line, `line_<line>_in_total` and `line_<line>_out_total` (`state_class: "
        "total_increasing`, the sum over labels of the direction). A reset drops them to 0, which Home "
        "Assistant takes as a new cycle of the meter.",
        "",
        "Unique ids are `edgecv_<device>_<camera>_<object id>`, stable across restarts; names are reduced to "
        "`[A-Za-z0-9_-]` in ids. Entities of zones and lines removed from the config are deleted at the next "
        "connect, like those of removed labels.",
        "With `mqtt.commands: true` each camera also gets a switch "
        "`<prefix>/switch/edgecv_<device>_<camera>/detect/config` (detect on/off), a number "
        "`<prefix>/number/edgecv_<device>_<camera>/conf/config` (conf, 0.01 to 1 in steps of 0.01) and a "
        "button `<prefix>/button/edgecv_<device>_<camera>/snapshot/config`, which publish to its `set/<key>` "
        "and read its `state/<key>`; and every camera gets an image entity "
        "`<prefix>/image/edgecv_<device>_<camera>/image/config` reading its `image` topic "
        "(`content_type: image/jpeg`). Turning `mqtt.commands` off removes the switch, number and button at "
        "the next connect.",
        "",
        "## Commands",
        "",
        "`mqtt.commands` is off by default: whoever may publish to `<prefix>/<device>/<camera>/set/<key>` "
        "steers the detector. Commands apply to that camera from its next frame (the detection parameters "
        "are replaced whole, never edited under the running pipeline) and are echoed on `state/<key>`; an "
        "invalid one changes nothing and is answered on `<prefix>/<device>/error`. `reset_counts` zeroes the "
        "camera's line totals (its `lines/<line>` topics and its totals file); `snapshot` publishes the "
        "`image` topic from the next frame.",
        "",
        "- Values set by commands last until the process restarts or reloads its config (SIGHUP, `systemctl "
        "reload`): both return every camera to the config, and the `state/` topics say so.",
        "- Commands are never retained. A retained message on a `set/` topic (published with the retain flag) "
        "would re-apply an old command at every start: edgecv never applies one, clears it from the broker "
        "(an empty retained message) and reports it on the error topic. Home Assistant's switch, number and "
        "button publish without retain.",
        "- The broker decides who may publish to `set/`. A mosquitto ACL (`acl_file`) that lets only Home "
        "Assistant's user steer, edgecv's own user publish its topics and read its commands, and everyone "
        "else read:",
        "",
        "```",
        "# /etc/mosquitto/acl (mosquitto.conf: acl_file /etc/mosquitto/acl, allow_anonymous false)",
        "# edgecv itself (mqtt.username: edgecv): publishes its topics, reads commands and its own retained state",
        "user edgecv",
        "topic readwrite edgecv/#",
        "topic readwrite homeassistant/#",
        "",
        "# Home Assistant: reads everything, may steer",
        "user homeassistant",
        "topic read edgecv/#",
        "topic write edgecv/+/+/set/#",
        "topic readwrite homeassistant/#",
        "",
        "# everyone else (dashboards, scripts): read only, never set/",
        "pattern read edgecv/#",
        "```",
        "",
        "## Delivery",
        "",
        "- Events are counted as delivered when the broker acknowledges them (PUBACK). With the spool (on by "
        "default: `mqtt.spool`), each QoS 1/2 event is on disk from the moment it is queued until its "
        "acknowledgement, in `<mqtt.spool_dir>/<device>/<camera>/` (default `$STATE_DIRECTORY/spool` under "
        "systemd, else `$XDG_STATE_HOME/edgecv/spool`, i.e. `~/.local/state/edgecv/spool`). Appends reach "
        "the kernel at once and the disk (fsync) at most one second later: `kill -9` loses nothing, a power "
        "cut at most the last second. The next start sends the spool first, in order, with the original "
        "ids. A full spool drops its oldest events, and a spool that cannot be written is a warning; both "
        "are counted (`dropped`, `spool_errors`).",
        "- A subscriber that needs every event uses a persistent session (MQTT 3.1.1 `clean_session=false`, "
        "MQTT 5 session expiry) at QoS 1.",
        "- At a clean exit edgecv publishes the latest line totals (and writes them to disk), zero zone "
        "occupancy and zero counts, then `offline`, and waits up to "
        "`mqtt.flush_timeout_s` (within `service.stop_deadline_s`) for acknowledgements; what is not "
        "acknowledged stays in the spool. The run summary's `mqtt` block says how many events are `spooled` "
        "(sent by the next start) and `undelivered` (lost), and whether the broker was `connected` "
        "(`last_error` says why not).",
        "- An unreachable broker is a WARNING naming `host:port` and the reason (connection refused, name "
        "not resolved, timeout, TLS failure) within 5 s, again when the reason changes and at most once a "
        "minute while it persists; `stats.mqtt` carries `connected` and `last_error`.",
        "- The default client id is `edgecv-<device>`: one connection per process, for all its cameras. Two "
        "processes on one device therefore need their own `mqtt.device` (or `mqtt.client_id`); two clients "
        "with one id kick each other off, and edgecv detects the pattern and logs it once.",
        "- A broker that refuses the credentials ends `edgecv run` with exit code 2 (a configuration error; "
        "the service unit does not restart on it).",
        "",
        "## Changes for subscribers",
        "",
        "Since scene rules (zones and lines):",
        "",
        "- The `events` topic also carries scene events (`event`: `zone_enter`, `zone_exit`, `loiter`, "
        "`line_cross`; schema `scene_events.schema.json`). A subscriber that handles only track events "
        "ignores those whose `event` is not `new`, `update` or `end`.",
        "- New retained topics `zones/<zone>` and `lines/<line>`, whose payloads are the state itself, without "
        "the `v`/`id` envelope. Nothing else changed.",
        "",
        "Since several cameras share one process (the `cameras` map):",
        "",
        "- The last will moved from each camera's `availability` to the process's "
        "`<prefix>/<device>/availability`. A camera's `availability` now says whether its frames flow, and "
        "is `offline` until its first frame; after a crash it may still read `online`: check the process's "
        "topic too.",
        "- The default client id is `edgecv-<device>` (was `edgecv-<device>-<camera>`).",
        "- Event payloads name their camera in `camera` (as every payload does); the `source` key, which a "
        "run of several sources added, is gone. `edgecv run`'s frame and event lines carry `camera` as "
        "well, always.",
        "- `stats` is per camera: `fps`, `frames`, `dropped_frames` and `stages_ms` are the camera's own; the "
        "connection's counters are the process's.",
        "- Home Assistant entities list both availability topics (`availability_mode: all`); their ids and "
        "devices are unchanged.",
        "- Topics are unchanged: `<prefix>/<device>/<camera>/...`. Spools stay per camera in "
        "`<mqtt.spool_dir>/<device>/<camera>/`.",
        "",
    ]
    return "\n".join(lines)


def _topic(spec: TopicSpec) -> str:
    """``…/<leaf>`` for a camera's topic; the process's own (availability, error) are one level up."""
    return f"<prefix>/<device>/{spec.leaf[3:]}" if spec.leaf.startswith("../") else f"…/{spec.leaf}"


def outputs() -> dict[str, str]:
    files = {"mqtt.md": markdown()}
    for name, schema in schemas().items():
        files[f"schemas/{name}.schema.json"] = json.dumps(schema, indent=2) + "\n"
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, default=Path(__file__).resolve().parents[2] / "docs")
    parser.add_argument("--check", action="store_true", help="exit 1 when the files are stale")
    args = parser.parse_args(argv)
    stale = []
    for name, text in outputs().items():
        path = args.docs / name
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(name)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if args.check and stale:
        print(f"stale: {', '.join(stale)}; run python -m edgecv.mqtt.docs", file=sys.stderr)
        return 1
    print("\n".join(f"wrote docs/{n}" for n in stale) if stale else "docs up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
