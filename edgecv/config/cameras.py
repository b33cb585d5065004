"""The ``cameras`` map: several cameras in one process, sharing one model and one interpreter.

``cameras: {name: {source: ..., detect: ..., tracker: ...}}``. Each camera has its own ``source``; its
``detect`` and ``tracker`` sections are *overrides*: the keys a camera sets replace those of the top-level
section for that camera only, everything it leaves out comes from the top-level section. Everything else
(model, output, mqtt, service, log) belongs to the process.

Adding an overridable section (the scene rules' ``motion``, zones, lines, masks) is one line: a field of
:class:`CameraConfig` named like the top-level section it overrides. :func:`merge_overrides` and
``edgecv config`` find it there.

The top-level ``source`` stays as the one-camera shorthand, named by ``mqtt.camera``: a run is always a set
of named cameras (:meth:`edgecv.config.Settings.camera_sections`), with one camera in the shorthand.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field, model_validator

from .scene import LineConfig, MaskConfig, MotionConfig, RuleName, SceneConfig, ZoneConfig
from .sections import DetectConfig, Section, SourceConfig
from .tracker import TrackerConfig

# Camera names are topic levels, environment variable parts (EDGECV_CAMERAS__<NAME>__...: variable names are
# matched case-insensitively and cannot hold '-') and Home Assistant object ids: lower case, digits, '_'.
CAMERA_NAME = re.compile(r"^[a-z0-9_]+$")
# Topic levels of the device itself (<prefix>/<device>/availability, and those the device may answer on):
# a camera of that name would be mistaken for them by a subscriber filtering one level deep.
RESERVED_NAMES = ("availability", "error", "set", "state")
DEFAULT_CAMERA = "cam0"
# The sections a camera has of its own rather than as an override of a top-level one: its source and the
# geometry of its scene (pixels of its own frames). At the top level they are the one-camera shorthand.
OWN_SECTIONS = ("source", "zones", "lines", "masks")


def check_camera_name(name: str) -> str:
    """``name`` when it can name a camera; a ``ValueError`` saying what is allowed otherwise."""
    if not CAMERA_NAME.match(name):
        raise ValueError(
            f"camera name {name!r} must be lower-case letters, digits and '_' only ([a-z0-9_]+): it is a topic "
            "level and part of EDGECV_CAMERAS__<NAME>__... variables, whose names ignore case and cannot hold '-'"
        )
    if name in RESERVED_NAMES:
        raise ValueError(
            f"camera name {name!r} is reserved (one of {', '.join(RESERVED_NAMES)}): the device's own topics "
            "use it; pick another name"
        )
    return name


class CameraConfig(Section):
    """One camera of the ``cameras`` map."""

    source: SourceConfig = Field(
        description="Where this camera's frames come from (the keys of the top-level source section). A "
        "live camera that cannot be opened at start is retried in the background unless "
        "source.retry_open is set to false here: one absent camera must not keep the others from running."
    )
    detect: DetectConfig = Field(
        default_factory=DetectConfig,
        description="Overrides of the top-level detect section for this camera: the keys given here replace "
        "the top-level ones, the others are the top-level ones.",
    )
    tracker: TrackerConfig = Field(
        default_factory=TrackerConfig,
        description="Overrides of the top-level tracker section for this camera, as for detect.",
    )
    motion: MotionConfig = Field(
        default_factory=MotionConfig,
        description="Overrides of the top-level motion section for this camera, as for detect.",
    )
    zones: dict[RuleName, ZoneConfig] = Field(
        default_factory=dict, description="This camera's zones (pixels of its frames unless units: relative)."
    )
    lines: dict[RuleName, LineConfig] = Field(
        default_factory=dict, description="This camera's counting lines."
    )
    masks: list[MaskConfig] = Field(
        default_factory=list,
        description="Regions of this camera whose detections are dropped before tracking.",
    )

    @model_validator(mode="after")
    def _check_source(self) -> CameraConfig:
        if self.source.uri is None and self.source.type == "auto":
            raise ValueError(
                "source.uri is not set: a camera of the cameras map names its own source (a camera index, "
                "/dev/videoN, a stream URL, a video file or a folder)"
            )
        return self

    def scene(self) -> SceneConfig:
        """This camera's scene rules: its zones, lines, masks, motion and ``detect.filters``."""
        return SceneConfig.model_construct(
            zones=self.zones,
            lines=self.lines,
            masks=self.masks,
            motion=self.motion,
            filters=self.detect.filters,
        )


def override_sections() -> tuple[str, ...]:
    """The top-level sections a camera may override (every :class:`CameraConfig` field but its own)."""
    return tuple(name for name in CameraConfig.model_fields if name not in OWN_SECTIONS)


def _as_dict(value: Any, *, given_only: bool) -> Any:
    """Raw input of a section: a dict stays, a model becomes the keys it holds (``given_only``: only those
    that were set, as an override's are), anything else is left for validation to reject."""
    if isinstance(value, BaseModel):
        return value.model_dump(exclude_unset=given_only)
    return value


def _merge(model: type[BaseModel], base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` on top of ``base``, key by key, going into nested sections (``tracker.gate``) but not into
    mapping values (``detect.class_iou``, ``tracker.class_gates``), which a key replaces whole."""
    merged = dict(base)
    for key, value in override.items():
        field = model.model_fields.get(key)
        inner = field.annotation if field is not None else None
        below = merged.get(key)
        if (
            isinstance(inner, type)
            and issubclass(inner, BaseModel)
            and isinstance(value, Mapping)
            and isinstance(below, Mapping)
        ):
            merged[key] = _merge(inner, below, value)
        else:
            merged[key] = value
    return merged


def merge_overrides(data: Mapping[str, Any]) -> dict[str, Any]:
    """The raw config with each camera's override sections resolved against the top-level ones.

    Runs on the raw input, before validation, so that each camera's *effective* section is validated whole
    (a check across keys, such as ``tracker.low_score <= high_score``, sees the values the camera will run
    with) and an error names the camera's key (``cameras.front.detect.conf``).
    """
    cameras = data.get("cameras")
    if not isinstance(cameras, Mapping):
        return dict(data)
    resolved: dict[str, Any] = {}
    for name, raw in cameras.items():
        camera = _as_dict(raw, given_only=True)
        if not isinstance(camera, Mapping):
            resolved[name] = raw  # not a section: validation says so
            continue
        camera = dict(camera)
        for section in override_sections():
            model = CameraConfig.model_fields[section].annotation
            assert isinstance(model, type) and issubclass(model, BaseModel)
            base = _as_dict(data.get(section, {}), given_only=False)
            given = _as_dict(camera.get(section, {}), given_only=True)
            if isinstance(base, Mapping) and isinstance(given, Mapping):
                camera[section] = _merge(model, base, given)
        source = _as_dict(camera.get("source"), given_only=True)
        if isinstance(source, Mapping) and "retry_open" not in source:
            camera["source"] = {**source, "retry_open": True}
        resolved[name] = camera
    return {**data, "cameras": resolved}


def shorthand_conflicts(data: Mapping[str, Any]) -> list[tuple[str, ...]]:
    """The one-camera shorthand's keys that are set beside a ``cameras`` map (each one an error)."""
    if not data.get("cameras"):
        return []
    # An empty rule list at the top level (as 'edgecv config' writes the defaults) is no conflict.
    found: list[tuple[str, ...]] = [
        (name,) for name in OWN_SECTIONS if name in data and (name == "source" or data[name])
    ]
    mqtt = data.get("mqtt")
    if (isinstance(mqtt, Mapping) and "camera" in mqtt) or (
        isinstance(mqtt, BaseModel) and "camera" in mqtt.model_fields_set
    ):
        found.append(("mqtt", "camera"))
    return found
