"""The MQTT payload contract: one pydantic model per JSON topic; docs and JSON Schema are generated from it.

Every JSON message carries ``v`` (the schema version, raised on incompatible changes) and ``id``, unique
per message across devices and restarts: QoS 1 is at-least-once, so a subscriber drops a message whose id
it has seen. The per-frame builders below make plain dicts (no model instance per message, it is the hot
path); tests validate what they build against these models, so the two cannot drift apart.
"""

from __future__ import annotations

import itertools
import secrets
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from ..contracts import DetectionJson, EventJson, StageJson
from ..scene.events import SceneEventJson

if TYPE_CHECKING:
    from .reachability import Reachability

SCHEMA_VERSION: Final = 1  # Final: the Literal[1] of the v field

ONLINE = "online"
OFFLINE = "offline"


class MessageIds:
    """``<random per process>-<counter>``: unique without a uuid per message, and sortable within a run."""

    def __init__(self) -> None:
        self._run = secrets.token_hex(6)
        self._counter = itertools.count()
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            return f"{self._run}-{next(self._counter):x}"


class Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    v: Literal[1] = Field(SCHEMA_VERSION, description="Schema version of this payload.")
    id: str = Field(
        description="Unique message id; drop a message whose id you have seen (QoS 1 may repeat)."
    )
    device: str = Field(description="The device level of the topic.")
    camera: str = Field(description="The camera level of the topic.")


class DetectionsMessage(Envelope):
    """``detections``: what one processed frame showed."""

    seq: int = Field(ge=0, description="Frame number within the camera's stream, from 0.")
    ts: float = Field(description="Capture time, epoch seconds.")
    detections: list[DetectionJson] = Field(description="Boxes of the frame; track_id on tracked objects.")


class EventMessage(Envelope, EventJson):
    """``events``: a track appeared (``new``), changed (``update``) or ended (``end``)."""


class SceneEventMessage(Envelope, SceneEventJson):
    """``events``: a scene rule fired for a track: it entered or left a zone, stayed in one, crossed a line."""

    seq: int = Field(ge=0, description="Number of the frame that produced the event, in the camera's stream.")


Count = Annotated[int, Field(ge=0)]


class ZoneOccupancy(RootModel[dict[str, Count]]):
    """``zones/<zone>``: tracks inside the zone now, per label. Retained state, so no envelope: the payload
    is the state itself, ``{label: n}``. The zone's labels (its ``classes``, else ``detect.classes``) are
    always present, 0 included; other labels appear when first seen and stay, at 0 once they leave."""

    root: dict[str, Count] = Field(description="label -> confirmed tracks of that label inside the zone now.")


class LineTotals(BaseModel):
    """``lines/<line>``: crossings since the totals were last reset, per direction and label. Retained
    state, so no envelope."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    in_: dict[str, Count] = Field(
        alias="in",
        description="label -> crossings to the line's 'in' side (for a line drawn top to bottom: the left).",
    )
    out: dict[str, Count] = Field(description="label -> crossings the other way.")


class CountMessage(Envelope):
    """``counts/<label>`` and ``counts/all``: confirmed tracks in view now (detections without a tracker)."""

    label: str = Field(description="The label, or 'all' for the total over labels.")
    count: int = Field(ge=0, description="Objects in view now.")
    ts: float = Field(description="Capture time of the frame that changed the count, epoch seconds.")


class LinkJson(BaseModel):
    """The connection to the broker, as the publisher sees it."""

    model_config = ConfigDict(extra="forbid")

    connected: bool = Field(
        description="Whether the broker is connected now (at exit: at the end of the run)."
    )
    last_error: str | None = Field(
        description="The latest connection failure or drop, e.g. 'connection refused', 'name not resolved "
        "(...)', 'timeout (no answer within 4 s)', 'TLS failure: ...'; kept after a recovery; null if none "
        "since start."
    )


class StatsMessage(Envelope):
    """``stats``: health of the pipeline and of the publisher, every stats_interval_s."""

    ts: float = Field(description="Time of the report, epoch seconds.")
    uptime_s: float = Field(ge=0, description="Seconds since the publisher started.")
    fps: float = Field(ge=0, description="Frames processed per second since the previous report.")
    frames: int = Field(ge=0, description="Frames processed since start.")
    dropped_frames: int = Field(
        ge=0, description="Frames a live source replaced before inference, since start."
    )
    skipped_frames: int = Field(
        ge=0,
        description="Of the frames, those the detector skipped since start (motion gating: nothing moved; or "
        "the camera's detect switch off). No detections or per-label counts are published for them; scene "
        "events (zone timers, loiter) still are.",
    )
    stages_ms: dict[str, StageJson] = Field(description="Per-stage timings (mean over the run, recent p95).")
    reconnects: int = Field(ge=0, description="Reconnects to the broker since start.")
    queue_depth: int = Field(
        ge=0, description="Messages waiting for the broker now (queued plus unacknowledged)."
    )
    published: int = Field(ge=0, description="Messages handed to the broker since start.")
    acked: int = Field(ge=0, description="QoS 1/2 messages the broker acknowledged since start.")
    dropped_messages: int = Field(
        ge=0, description="Messages dropped because the offline queue or the spool was full."
    )
    spooled: int = Field(ge=0, description="Events on disk waiting for the broker's acknowledgement now.")
    spool_errors: int = Field(
        ge=0, description="Failed writes to the spool since start (disk full, read-only, no permission)."
    )
    mqtt: LinkJson = Field(description="The connection to the broker.")
    cpu_temp_c: float | None = Field(None, description="CPU temperature, when the device reports one.")
    clock_synced: bool | None = Field(
        None,
        description="Whether the device's wall clock is synchronised (NTP): false while the times in payloads "
        "may be wrong (a device without a real-time clock before the network is up), null when the device "
        "cannot tell. Durations (track age, rate limits) never depend on it.",
    )


class ErrorMessage(BaseModel):
    """``<prefix>/<device>/error`` (not retained): a command that was refused (``mqtt.commands``) or a
    config reload (SIGHUP) that failed. Nothing changed: the run goes on as before."""

    model_config = ConfigDict(extra="forbid")

    v: Literal[1] = Field(SCHEMA_VERSION, description="Schema version of this payload.")
    id: str = Field(
        description="Unique message id; drop a message whose id you have seen (QoS 1 may repeat)."
    )
    ts: float = Field(description="When it was refused, epoch seconds.")
    camera: str | None = Field(
        description="The camera level of the set/ topic (also an unknown one); null for a reload."
    )
    key: str = Field(
        description="The key of the set/ topic (detect, motion, conf, classes, snapshot, reset_counts, or "
        "an unknown one), or 'reload' for a config reload."
    )
    payload: str = Field(
        description="What was sent, as text (bytes that are not UTF-8 escaped); for a reload, the config file."
    )
    reason: str = Field(description="Why nothing changed, in one line.")


def error_message(
    ids: MessageIds, ts: float, camera: str | None, key: str, payload: str, reason: str
) -> dict[str, Any]:
    """:class:`ErrorMessage`."""
    return {
        "v": SCHEMA_VERSION,
        "id": ids.next(),
        "ts": round(ts, 3),
        "camera": camera,
        "key": key,
        "payload": payload,
        "reason": reason,
    }


def link_state(link: Reachability) -> dict[str, Any]:
    """:class:`LinkJson`: the link's state now."""
    return {"connected": link.connected, "last_error": link.last_error}


def envelope(ids: MessageIds, device: str, camera: str, **fields: Any) -> dict[str, Any]:
    """A JSON payload: the :class:`Envelope` fields every topic's message starts with (``v``, a fresh ``id``,
    ``device``, ``camera``), then ``fields`` in the order given (the wire order)."""
    return {"v": SCHEMA_VERSION, "id": ids.next(), "device": device, "camera": camera, **fields}


def detections_message(
    ids: MessageIds, device: str, camera: str, seq: int, ts: float, detections: list[dict[str, Any]]
) -> dict[str, Any]:
    """:class:`DetectionsMessage`."""
    return envelope(ids, device, camera, seq=seq, ts=round(ts, 6), detections=detections)


def event_message(
    ids: MessageIds, device: str, camera: str, seq: int, ts: float, event: dict[str, Any]
) -> dict[str, Any]:
    """:class:`EventMessage`, from the fields :func:`edgecv.contracts.event_json` gives."""
    return envelope(ids, device, camera, type="event", seq=seq, ts=round(ts, 6), **event)


def scene_event_message(ids: MessageIds, device: str, seq: int, event: Mapping[str, Any]) -> dict[str, Any]:
    """:class:`SceneEventMessage`, from the fields :func:`edgecv.scene.events.scene_event_json` gives (its
    ``camera`` goes in the envelope)."""
    fields = {k: v for k, v in event.items() if k not in ("type", "camera", "ts")}
    return envelope(ids, device, event["camera"], type="event", seq=seq, ts=round(event["ts"], 6), **fields)


def zone_occupancy(counts: Mapping[str, int]) -> dict[str, int]:
    """:class:`ZoneOccupancy`."""
    return dict(counts)


def line_totals(inward: Mapping[str, int], outward: Mapping[str, int]) -> dict[str, dict[str, int]]:
    """:class:`LineTotals`, as it goes on the wire."""
    return {"in": dict(inward), "out": dict(outward)}


def count_message(
    ids: MessageIds, device: str, camera: str, label: str, count: int, ts: float
) -> dict[str, Any]:
    """:class:`CountMessage`."""
    return envelope(ids, device, camera, label=label, count=count, ts=round(ts, 6))


def camera_stats(
    *,
    uptime_s: float,
    fps: float,
    frames: int,
    dropped_frames: int,
    skipped_frames: int,
    stages_ms: dict[str, dict[str, float]],
) -> dict[str, Any]:
    """A camera's own fields of :class:`StatsMessage`, in the model's order: the stats topic and the web
    view's ``/api/stats`` both build them here."""
    return {
        "uptime_s": round(uptime_s, 1),
        "fps": round(fps, 2),
        "frames": frames,
        "dropped_frames": int(dropped_frames),
        "skipped_frames": skipped_frames,
        "stages_ms": stages_ms,
    }


def stats_message(ids: MessageIds, device: str, camera: str, ts: float, **stats: Any) -> dict[str, Any]:
    """:class:`StatsMessage`: ``ts`` (to the millisecond) then the ``stats`` fields, in the model's order."""
    return envelope(ids, device, camera, ts=round(ts, 3), **stats)
