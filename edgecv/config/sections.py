"""One pydantic model per concern; every field has a description (it feeds ``edgecv config`` docs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import NoDecode


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    def unpaired(self, first: str, second: str) -> tuple[str, str] | None:
        """For two fields that go together (set both or neither): ``(given, missing)`` when only one is set."""
        first_unset, second_unset = getattr(self, first) is None, getattr(self, second) is None
        if first_unset == second_unset:
            return None
        return (second, first) if first_unset else (first, second)


def _split_list(value: Any) -> Any:
    """Lists from the environment: JSON (``["person", "car"]``) or comma-separated (``person,car``)."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [item.strip() for item in text.split(",") if item.strip()]
    return value


# Source types and sinks register themselves in their packages, which import this module: ask them lazily,
# when a value is checked or the schema is written, never at import time.


def _source_type_schema(schema: dict[str, Any]) -> None:
    from ..capture.uri import source_type_choices

    schema["enum"] = list(source_type_choices())


def _sinks_schema(schema: dict[str, Any]) -> None:
    from ..output.base import SINKS

    schema["items"] = {"type": "string", "enum": sorted(SINKS.names())}


class SourceConfig(Section):
    uri: str | None = Field(
        None,
        description="What to read: a camera index (0, as a number or a string) or /dev/videoN, rtsp:// or http(s):// stream, a video "
        "file, an image folder or glob, or 'picamera2' (optionally 'picamera2:N' for camera N). "
        "Unset: the bundled demo clip (the top-level source only: a camera of the cameras map names its own).",
    )
    type: str = Field(
        "auto",
        description="Backend: 'auto' decides from the uri; a source type's name (opencv: a camera, stream or "
        "video file) takes only uris of that type.",
        json_schema_extra=_source_type_schema,
    )
    loop: bool = Field(
        False, description="Restart a video file or image folder at its end instead of stopping."
    )
    max_fps: float | None = Field(
        None, gt=0, description="Process at most this many frames per second (live sources skip the rest)."
    )
    width: int | None = Field(
        None, gt=0, description="Requested capture width for cameras (None: driver default)."
    )
    height: int | None = Field(None, gt=0, description="Requested capture height for cameras.")
    decode_threads: int = Field(
        1,
        ge=0,
        le=64,
        description="FFmpeg threads decoding a video file or stream (0: FFmpeg's choice, every core). One "
        "keeps decoding on the core left to capture, so it never slows the interpreter's cores; raise it only "
        "for streams too large for one core.",
    )
    read_timeout_s: float = Field(
        5.0,
        gt=0,
        description="A live source that yields no frame for this long is treated as lost and reopened.",
    )
    reconnect_min_s: float = Field(0.5, gt=0, description="First delay before reopening a lost live source.")
    reconnect_max_s: float = Field(
        30.0, gt=0, description="Longest delay between reopen attempts (the delay doubles up to this)."
    )
    reconnect_attempts: int | None = Field(
        None,
        ge=1,
        description="Give up after this many failed reopen attempts in a row (None: retry forever, as a "
        "service should).",
    )
    retry_open: bool = Field(
        False,
        description="A live source that cannot be opened at start is retried in the background (with the "
        "backoff above) instead of failing the start: a camera still booting, or unplugged, at service start. "
        "Off by default for the top-level source (the config 'edgecv service install' writes turns it on); "
        "on for every camera of a cameras map unless set to false there. Files never retry: a missing one "
        "exits 2.",
    )

    @field_validator("uri", mode="before")
    @classmethod
    def _camera_index(cls, value: Any) -> Any:
        # YAML reads `uri: 0` as an integer: a camera index, as "0" is.
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("type")
    @classmethod
    def _check_type(cls, value: str) -> str:
        from ..capture.uri import AUTO, SOURCES

        return SOURCES.check(value, extra=(AUTO,))

    @model_validator(mode="after")
    def _check_backoff(self) -> SourceConfig:
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError(
                f"reconnect_max_s ({self.reconnect_max_s}) must be >= reconnect_min_s ({self.reconnect_min_s})"
            )
        return self


def _layout_schema(schema: dict[str, Any]) -> None:
    # Model families register themselves in edgecv.detect.decode; read them lazily, like source types.
    from ..detect.families import layouts

    schema["enum"] = list(layouts())


class ModelConfig(Section):
    path: Path | None = Field(
        None,
        description="The .tflite model. Unset: the bundled demo model (circles, squares, triangles), for the "
        "bare demo only: detect, eval and a run or bench with a source refuse to start without a model.",
    )
    labels: Path | None = Field(
        None,
        description="Label file (one name per line, TF label map with ??? gaps, 'id name' lines or .pbtxt). "
        "It must name as many classes as the model has (an SSD model: its own label map), else edgecv stops "
        "(exit 2). Unset: names from the model's metadata, else class_<id>.",
    )
    threads: int | None = Field(
        None,
        ge=1,
        le=64,
        description="Interpreter threads. Unset: cores - 1 (at least 1), leaving a core for capture and "
        "post-processing, which overlap inference.",
    )
    edgetpu: bool = Field(
        False, description="Run on a Coral Edge TPU (needs libedgetpu1-std and an _edgetpu model)."
    )
    edgetpu_device: str = Field(
        "", description="Edge TPU to use: '' (first found), 'usb', 'usb:N', 'pci' or 'pci:N'."
    )
    layout: str = Field(
        "auto",
        description="Output decoder: a model family, or 'auto' to detect it from output shapes and metadata.",
        json_schema_extra=_layout_schema,
    )
    resize: Literal["auto", "letterbox", "stretch"] = Field(
        "auto",
        description="How frames are fitted to the input: 'auto' letterboxes YOLO models, stretches SSD.",
    )

    @field_validator("layout")
    @classmethod
    def _check_layout(cls, value: str) -> str:
        from ..detect.families import AUTO, FAMILIES

        return FAMILIES.check(value, extra=(AUTO,))


class SizeFilterConfig(Section):
    min_area: float = Field(
        0.0, ge=0, description="Smallest box area: pixels, or a fraction of the frame below 1."
    )
    max_area: float | None = Field(
        None, gt=0, description="Largest box area: pixels, or a fraction of the frame up to 1."
    )
    min_ratio: float = Field(0.0, ge=0, description="Smallest width / height.")
    max_ratio: float | None = Field(None, gt=0, description="Largest width / height.")

    @model_validator(mode="after")
    def _ordered(self) -> SizeFilterConfig:
        if self.max_ratio is not None and self.max_ratio < self.min_ratio:
            raise ValueError(f"max_ratio {self.max_ratio} is below min_ratio {self.min_ratio}")
        return self


class DetectConfig(Section):
    conf: float = Field(
        0.25,
        ge=0,
        le=1,
        description="Minimum score. Lower finds more objects and more false positives; evaluation uses 0.001.",
    )
    iou: float = Field(
        0.45,
        ge=0,
        le=1,
        description="NMS IoU threshold: boxes overlapping a better one by more than this are dropped. Raise "
        "it for crowds, lower it for duplicate boxes.",
    )
    max_detections: int = Field(300, ge=1, le=10000, description="Keep at most this many boxes per frame.")
    classes: Annotated[list[str | int] | None, NoDecode] = Field(
        None,
        description="Allowlist of class names or ids (env: comma-separated); others are never reported.",
    )
    agnostic: bool = Field(
        False, description="NMS across classes: one box per object even when classes disagree."
    )
    class_iou: dict[str, float] = Field(
        default_factory=dict,
        description="Per-class NMS IoU threshold overriding 'iou', keyed by class name or id.",
    )
    filters: dict[str, SizeFilterConfig] = Field(
        default_factory=dict,
        description="Per-class size bounds, keyed by class name: boxes outside them are dropped before "
        "tracking. Areas in pixels, or a fraction of the frame below 1; ratio = width / height.",
    )

    _split_classes = field_validator("classes", mode="before")(_split_list)

    @field_validator("class_iou")
    @classmethod
    def _check_class_iou(cls, value: dict[str, float]) -> dict[str, float]:
        for key, threshold in value.items():
            if not 0 <= threshold <= 1:
                raise ValueError(f"class_iou[{key!r}] = {threshold} must be between 0 and 1")
        return value


class OutputConfig(Section):
    sinks: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["stdout", "mqtt"],
        description="The outputs a run may use, in order (env: comma-separated). Each still follows its own "
        "settings: stdout its 'stdout' mode, mqtt publishes only with mqtt.host set.",
        json_schema_extra=_sinks_schema,
    )
    stdout: Literal["auto", "on", "off"] = Field(
        "auto", description="JSON lines on stdout: 'auto' prints them when no MQTT broker is configured."
    )
    include_empty: bool = Field(True, description="Also print frames in which nothing was detected.")
    include_skipped: bool = Field(
        False,
        description="Also print a line for each frame on which motion gating skipped the detector (marked "
        '"skipped": true).',
    )
    decimals: int = Field(
        2,
        ge=0,
        le=6,
        description="Decimals of box coordinates in JSON output (1 decimal costs about 0.001 mAP50-95 on COCO).",
    )

    _split_sinks = field_validator("sinks", mode="before")(_split_list)

    @field_validator("sinks")
    @classmethod
    def _check_sinks(cls, value: list[str]) -> list[str]:
        from ..output.base import SINKS

        for name in value:
            SINKS.check(name)
        repeated = sorted({name for name in value if value.count(name) > 1})
        if repeated:
            raise ValueError(f"{', '.join(repeated)} listed more than once; list each sink once")
        return value


class LogConfig(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Log level (stderr).")
    format: Literal["text", "json"] = Field(
        "text", description="'json' logs one object per line for collectors."
    )

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value
