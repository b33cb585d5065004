"""Runtime control over MQTT (``mqtt.commands: true``): ``<prefix>/<device>/<camera>/set/<key>``.

Payloads are plain text, as Home Assistant's switch, number and button entities send them:

* ``detect``, ``motion``: ``ON`` or ``OFF`` (case-insensitive);
* ``conf``: a number in (0, 1];
* ``classes``: a JSON list (``["person", "car"]``) or comma-separated names (``person,car``), resolved
  against the model's labels; an empty list or payload means every class;
* ``snapshot``, ``reset_counts``: anything (a button press).

Threading: messages arrive on paho's network thread, and the pipeline's post thread reads the camera's
detection parameters once per frame. A command never edits what the post thread holds: it builds a new
immutable :class:`~edgecv.detect.detector.DetectParams` and replaces the camera's in one attribute store
(atomic in Python), so a frame is decoded with the old parameters or the new, never half of each. Writers
(this thread and a SIGHUP reload on the main thread) take one lock, so two read-modify-writes cannot
interleave. ``detect``/``motion`` are single booleans on the camera, read by the loop.

Accepted commands are echoed, retained, on ``.../state/<key>``; the state is also published at start (from
the config) and after a reload, so Home Assistant always shows what runs. An invalid command changes
nothing and is answered on ``<prefix>/<device>/error`` (:class:`~edgecv.mqtt.payloads.ErrorMessage`).

Retained ``set/`` messages (someone published with the retain flag) would re-apply an old command at every
start: they are never applied, and are cleared from the broker with an error message that says why.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from ..detect.detector import DetectParams
from ..labels import Labels
from .topics import SET, Topics

log = logging.getLogger(__name__)

SWITCHES = ("detect", "motion")
STATEFUL = ("detect", "motion", "conf", "classes")
BUTTONS = ("snapshot", "reset_counts")
KEYS = STATEFUL + BUTTONS
ON, OFF = "ON", "OFF"


class InvalidCommand(ValueError):
    """A command that cannot be applied; its message is the ``reason`` of the error payload."""


class Steerable(Protocol):
    """What commands change on a camera of the run (:class:`edgecv.pipeline.camera.Camera` speaks it)."""

    name: str
    params: DetectParams | None
    detect_enabled: bool
    motion_enabled: bool


@dataclass(frozen=True)
class Baseline:
    """A camera's values from the config: what a reload or restart returns to."""

    params: DetectParams
    detect: bool = True
    motion: bool = True


# -- parsing (pure) -------------------------------------------------------------------------------------


def parse_switch(text: str) -> bool:
    value = text.strip().upper()
    if value not in (ON, OFF):
        raise InvalidCommand(f"expected ON or OFF, got {text!r}")
    return value == ON


def parse_conf(text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise InvalidCommand(f"expected a number in (0, 1], got {text!r}") from None
    if not math.isfinite(value) or not 0.0 < value <= 1.0:
        raise InvalidCommand(f"conf must be in (0, 1], got {text.strip()}")
    return value


def parse_classes(text: str, labels: Labels) -> tuple[str, ...]:
    """Names, in the model's spelling, de-duplicated; ``()`` for every class."""
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            items = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise InvalidCommand(f"not a JSON list: {exc.msg}") from None
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise InvalidCommand("expected a JSON list of class names")
        names = [i.strip() for i in items]
    else:
        names = [part.strip() for part in stripped.split(",")] if stripped else []
    if any(not name for name in names):
        raise InvalidCommand(f"an empty class name in {text!r}")
    unknown = [name for name in names if labels.id_of(name) is None]
    if unknown:
        known = ", ".join(n for n in labels.names if n)[:200] or "none: the model has no labels"
        raise InvalidCommand(f"unknown class {unknown[0]!r} (known: {known})")
    return tuple(dict.fromkeys(labels.name(_id(labels, n)) for n in names))


def _id(labels: Labels, name: str) -> int:
    class_id = labels.id_of(name)
    assert class_id is not None  # checked by the caller
    return class_id


def class_names(params: DetectParams, labels: Labels) -> tuple[str, ...]:
    """The allowlist of ``params`` as names (``()``: every class)."""
    if params.classes is None:
        return ()
    return tuple(labels.name(int(i)) for i in params.classes)


# -- applying -------------------------------------------------------------------------------------------


class CameraControl:
    """Applies commands to one camera and says its state; every change goes through :meth:`apply`."""

    def __init__(self, camera: Steerable, baseline: Baseline, labels: Labels) -> None:
        self.camera = camera
        self.labels = labels
        self._lock = threading.Lock()
        self.baseline = baseline

    def apply(self, key: str, text: str) -> dict[str, str]:
        """Validate and apply ``set/<key>``; the state topics that changed → their payloads.

        Raises :class:`InvalidCommand` (nothing changed) for a bad payload or key.
        """
        if key not in KEYS:
            raise InvalidCommand(f"unknown key {key!r} (known: {', '.join(KEYS)})")
        if key in BUTTONS:
            return {}
        with self._lock:
            camera = self.camera
            if key == "detect":
                camera.detect_enabled = parse_switch(text)
            elif key == "motion":
                camera.motion_enabled = parse_switch(text)
            elif key == "conf":
                camera.params = replace(self.params(), conf=parse_conf(text))
            else:
                names = parse_classes(text, self.labels)
                ids = np.array(sorted(_id(self.labels, n) for n in names), np.int64) if names else None
                camera.params = replace(self.params(), classes=ids)
            return {key: self.state()[key]}

    def reset(self, baseline: Baseline | None = None) -> None:
        """Back to the config (``baseline``: a reloaded one): what a reload does to values set by commands."""
        with self._lock:
            if baseline is not None:
                self.baseline = baseline
            self.camera.params = self.baseline.params
            self.camera.detect_enabled = self.baseline.detect
            self.camera.motion_enabled = self.baseline.motion

    def params(self) -> DetectParams:
        return self.camera.params if self.camera.params is not None else self.baseline.params

    def state(self) -> dict[str, str]:
        """Every stateful key's payload now (``state/<key>``)."""
        camera = self.camera
        params = self.params()
        return {
            "detect": ON if camera.detect_enabled else OFF,
            "motion": ON if camera.motion_enabled else OFF,
            "conf": f"{params.conf:g}",
            "classes": json.dumps(list(class_names(params, self.labels))),
        }


def control_of(camera: Steerable, labels: Labels) -> CameraControl:
    """A camera's control, its baseline what it runs with now (the config's, at start)."""
    params = camera.params if camera.params is not None else DetectParams()
    return CameraControl(camera, Baseline(params, camera.detect_enabled, camera.motion_enabled), labels)


@dataclass(frozen=True)
class Rejected:
    """An invalid command, for the error topic."""

    camera: str | None
    key: str
    payload: str
    reason: str


class Commands:
    """Routes ``set/`` messages to each camera's :class:`CameraControl`.

    ``publish_state(topic, payload)`` sends a retained state; ``reject(rejected)`` answers on the error
    topic; ``buttons[key](camera)`` run the stateless commands (snapshot, reset_counts), each raising
    :class:`InvalidCommand` when the run cannot do it.
    """

    def __init__(
        self,
        topics: Sequence[Topics],
        controls: dict[str, CameraControl],
        *,
        publish_state: Callable[[str, str], None],
        reject: Callable[[Rejected], None],
        buttons: dict[str, Callable[[str], None]],
    ) -> None:
        self.topics = {t.camera: t for t in topics}
        self.controls = controls
        self._publish_state = publish_state
        self._reject = reject
        self._buttons = buttons
        first = next(iter(self.topics.values()))
        self._device_base = f"{first.prefix}/{first.device}/"

    @property
    def subscriptions(self) -> list[str]:
        """``<prefix>/<device>/+/set/+``: also unknown cameras, so that they are answered."""
        return [f"{self._device_base}+/{SET}/+"]

    def owns(self, topic: str) -> bool:
        rest = topic[len(self._device_base) :] if topic.startswith(self._device_base) else ""
        parts = rest.split("/")
        return len(parts) == 3 and parts[1] == SET

    def publish_all_states(self) -> None:
        """Every camera's state, retained: at start and after a reload."""
        for name, control in self.controls.items():
            for key, value in control.state().items():
                self._publish_state(self.topics[name].state(key), value)

    def handle(self, topic: str, payload: bytes, retained: bool) -> None:
        """One ``set/`` message (paho's network thread): applied, echoed, or answered on the error topic."""
        camera, _, key = topic[len(self._device_base) :].split("/")
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            text = payload.decode("utf-8", "backslashreplace")
            self._refuse(camera, key, text, "payload is not UTF-8 text")
            return
        if retained:
            # Left on the broker by a publish with the retain flag: applying it would repeat an old command
            # at every start. It is cleared by the caller.
            self._refuse(
                camera, key, text, "retained set/ messages are ignored (and cleared): publish without retain"
            )
            return
        control = self.controls.get(camera)
        if control is None:
            self._refuse(camera, key, text, f"unknown camera {camera!r} (known: {', '.join(self.controls)})")
            return
        try:
            if key in self._buttons:
                self._buttons[key](camera)
                changed: dict[str, str] = {}
            else:
                changed = control.apply(key, text)
        except InvalidCommand as exc:
            self._refuse(camera, key, text, str(exc))
            return
        log.info("mqtt: camera %s: set/%s %s", camera, key, text.strip()[:80])
        for changed_key, value in changed.items():
            self._publish_state(self.topics[camera].state(changed_key), value)

    def _refuse(self, camera: str | None, key: str, text: str, reason: str) -> None:
        log.warning("mqtt: refused set/%s %r for camera %s: %s", key, text[:80], camera, reason)
        self._reject(Rejected(camera, key, text, reason))
