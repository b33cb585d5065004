"""The ``mqtt`` config section: broker, identity, credentials, TLS, queue and Home Assistant discovery."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from .cameras import DEFAULT_CAMERA, RESERVED_NAMES
from .sections import Section, _split_list

# systemd's LoadCredential=mqtt-password:/etc/edgecv/mqtt-password lands here as $CREDENTIALS_DIRECTORY/<name>.
CREDENTIAL_NAME = "mqtt-password"
# A topic level may not hold MQTT wildcards or separators; the prefix may hold separators.
_LEVEL = re.compile(r"^[^/+#\x00]+$")
_PREFIX = re.compile(r"^[^+#\x00]+$")


def _default_device() -> str:
    """The host name, reduced to what is safe in a topic level and a client id."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", socket.gethostname()).strip("-")
    return name or "edgecv"


def default_spool_root(environ: Mapping[str, str] = os.environ) -> Path:
    """``$STATE_DIRECTORY/spool`` under systemd (``StateDirectory=``), else the XDG state directory."""
    state = environ.get("STATE_DIRECTORY", "")
    if state:
        return Path(state.split(":")[0]) / "spool"  # several StateDirectory= entries: the first one
    xdg = environ.get("XDG_STATE_HOME", "")
    # The XDG spec says a relative path is invalid and is to be ignored.
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "state"
    return base / "edgecv" / "spool"


def _path_level(name: str) -> str:
    """A topic level as one safe folder name: a device called '..' must not climb out of the spool."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name)
    return "_" if safe in ("", ".", "..") else safe


def credentials_password_file() -> Path | None:
    """The password systemd passed with ``LoadCredential=mqtt-password:…``, when it did."""
    directory = os.environ.get("CREDENTIALS_DIRECTORY")
    if not directory:
        return None
    path = Path(directory) / CREDENTIAL_NAME
    return path if path.is_file() else None


class MqttTlsConfig(Section):
    enabled: bool = Field(
        False,
        description="Connect with TLS. Also on when ca_file or cert_file is set. Without ca_file the "
        "system's CA store verifies the broker.",
    )
    ca_file: Path | None = Field(
        None, description="PEM file of the CA(s) that signed the broker's certificate."
    )
    cert_file: Path | None = Field(
        None, description="Client certificate (PEM) for brokers that authenticate clients by certificate."
    )
    key_file: Path | None = Field(None, description="Private key (PEM) of cert_file.")
    insecure: bool = Field(
        False,
        description="Skip the broker host name check (the chain is still verified). Only for test brokers "
        "reached by IP address.",
    )

    @model_validator(mode="after")
    def _check_pair(self) -> MqttTlsConfig:
        if pair := self.unpaired("cert_file", "key_file"):
            given, missing = pair
            raise ValueError(f"tls.{given} is set but tls.{missing} is not; a client certificate needs both")
        return self

    @property
    def active(self) -> bool:
        return self.enabled or self.ca_file is not None or self.cert_file is not None


class MqttQueueConfig(Section):
    max_messages: int = Field(
        10000,
        ge=1,
        description="Messages kept while the broker is unreachable. When full, the oldest per-frame "
        "detections go first, events last.",
    )
    max_bytes: int = Field(
        8 * 1024 * 1024,
        ge=1024,
        description="Bytes of payload kept while the broker is unreachable (same drop order).",
    )


class MqttSnapshotConfig(Section):
    enabled: bool = Field(
        False, description="Publish a retained JPEG to snapshot/<label> for each new track."
    )
    width: int = Field(640, ge=32, le=4096, description="Width of the JPEG in pixels (aspect kept).")
    quality: int = Field(80, ge=10, le=100, description="JPEG quality; lower is smaller.")
    crop: bool = Field(
        False, description="Crop to the track's box (with a margin) instead of sending the whole frame."
    )


class MqttConfig(Section):
    host: str | None = Field(
        None, description="Broker host name or address. MQTT is on when this is set; stdout lines stop."
    )
    port: int | None = Field(
        None, ge=1, le=65535, description="Broker port. Unset: 8883 with TLS, else 1883."
    )
    protocol: Literal["3.1.1", "5"] = Field(
        "5", description="MQTT protocol version. 5 reports why the broker disconnected us."
    )
    prefix: str = Field("edgecv", description="First topic level(s): <prefix>/<device>/<camera>/...")
    device: str = Field(
        default_factory=_default_device,
        description="This device's topic level and discovery id. Unset: the host name.",
    )
    camera: str = Field(
        DEFAULT_CAMERA,
        description="The name (and topic level) of the one-camera shorthand's camera (top-level source). With "
        "a cameras map, the map's keys name the cameras and this is not set.",
    )
    client_id: str | None = Field(
        None,
        max_length=128,
        description="MQTT client id; unique per broker. Unset: edgecv-<device>: one connection per process, "
        "for all its cameras, unique as long as device names are.",
    )
    username: str | None = Field(None, description="User name for password authentication.")
    password: SecretStr | None = Field(
        None,
        description="Password (prefer password_file or systemd LoadCredential=mqtt-password). Never logged.",
        # 'edgecv service install' moves it out of a config file into this systemd credential.
        json_schema_extra={"credential": CREDENTIAL_NAME},
    )
    password_file: Path | None = Field(
        None,
        description="File holding the password (first line). A relative path is looked up in "
        "$CREDENTIALS_DIRECTORY when systemd sets it. Unset: $CREDENTIALS_DIRECTORY/mqtt-password if present.",
    )
    keepalive: int = Field(
        30, ge=5, le=65535, description="Seconds between pings; a dead link is noticed within 1.5x this."
    )
    qos_events: Literal[0, 1, 2] = Field(
        1, description="QoS of track events. 1: at least once (drop duplicates by the message id)."
    )
    qos_detections: Literal[0, 1, 2] = Field(
        0, description="QoS of per-frame detections: 0, since the next frame supersedes a lost one."
    )
    detections_max_rate: float | None = Field(
        None, gt=0, description="Publish detections at most this many times per second (None: every frame)."
    )
    detections_include_empty: bool = Field(
        True, description="Also publish detections for frames in which nothing was detected."
    )
    stats_interval_s: float = Field(30.0, gt=0, description="Seconds between messages on the stats topic.")
    reconnect_min_s: float = Field(0.5, gt=0, description="First delay before reconnecting to the broker.")
    reconnect_max_s: float = Field(
        30.0, gt=0, description="Longest delay between reconnect attempts (the delay doubles up to this)."
    )
    flush_timeout_s: float = Field(
        1.0,
        ge=0,
        description="At exit, wait up to this long for the broker to acknowledge what is queued (capped by "
        "service.stop_deadline_s, less the moment the spool needs to close). Unacknowledged events stay in the "
        "spool for the next start; without a spool they are lost and counted as undelivered.",
    )
    spool: bool = Field(
        True,
        description="Keep QoS 1/2 events on disk from the moment they are queued until the broker "
        "acknowledges them, so an exit or crash during a broker outage loses none (a power cut at most the "
        "last second: appends are fsynced once a second); the next start sends them first, in order, with "
        "their original ids.",
    )
    spool_dir: Path | None = Field(
        None,
        description="Where the spool lives; each camera gets <spool_dir>/<device>/<camera>/. Unset: "
        "$STATE_DIRECTORY/spool under systemd, else $XDG_STATE_HOME/edgecv/spool "
        "(~/.local/state/edgecv/spool).",
    )
    spool_max_mb: float = Field(
        32.0,
        gt=0,
        description="Most megabytes of events the spool keeps, on disk and in memory (about 100 000 events). "
        "When full, the oldest are dropped with a warning and counted in dropped and undelivered.",
    )
    labels: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Labels whose counts are always published (0 included) and that get Home Assistant "
        "entities (env: comma-separated). Other labels are counted once seen.",
    )
    discovery_prefix: str | None = Field(
        None, description="Home Assistant discovery prefix (usually 'homeassistant'); unset: no discovery."
    )
    commands: bool = Field(
        False,
        description="Accept commands on <prefix>/<device>/<camera>/set/<key> (detect, motion, conf, classes, "
        "snapshot, reset_counts) and echo the state, retained, on .../state/<key>. Anyone who may publish to "
        "set/ steers the detector: limit it with the broker's ACL (see docs/mqtt.md). Values set this way "
        "last until the process restarts or reloads its config (SIGHUP).",
    )
    image_interval_s: float = Field(
        10.0,
        ge=0,
        description="The retained annotated JPEG on <prefix>/<device>/<camera>/image (Home Assistant's image "
        "entity) goes out on each new track and at most this often while tracks are in view, and on "
        "set/snapshot; 0: only on new tracks and set/snapshot.",
    )
    tls: MqttTlsConfig = Field(default_factory=MqttTlsConfig, description="TLS to the broker.")
    queue: MqttQueueConfig = Field(
        default_factory=MqttQueueConfig, description="Bounds of the queue kept while disconnected."
    )
    snapshot: MqttSnapshotConfig = Field(
        default_factory=MqttSnapshotConfig, description="JPEG snapshots of new tracks."
    )

    _split_labels = field_validator("labels", mode="before")(_split_list)

    @field_validator("device", "camera")
    @classmethod
    def _check_level(cls, value: str) -> str:
        if not _LEVEL.match(value):
            raise ValueError(f"must be one topic level: no '/', '+', '#' or empty, got {value!r}")
        return value

    @field_validator("camera")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in RESERVED_NAMES:
            raise ValueError(
                f"{value!r} is reserved for the device's own topics ({', '.join(RESERVED_NAMES)}); pick another"
            )
        return value

    @field_validator("prefix", "discovery_prefix")
    @classmethod
    def _check_prefix(cls, value: str | None) -> str | None:
        if value is not None and (not _PREFIX.match(value) or value.startswith("/") or value.endswith("/")):
            raise ValueError(
                f"must be topic levels without '+', '#' or a leading/trailing '/', got {value!r}"
            )
        return value

    @model_validator(mode="after")
    def _check(self) -> MqttConfig:
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError(
                f"reconnect_max_s ({self.reconnect_max_s}) must be >= reconnect_min_s ({self.reconnect_min_s})"
            )
        has_password = (
            self.password is not None or self.password_file is not None or credentials_password_file()
        )
        if self.username is not None and not has_password:
            raise ValueError(
                "mqtt.username is set without a password: set mqtt.password_file (or EDGECV_MQTT__PASSWORD, "
                f"or systemd LoadCredential={CREDENTIAL_NAME}:<file>)"
            )
        if self.username is None and (self.password is not None or self.password_file is not None):
            raise ValueError("a password is set without mqtt.username")
        if self.discovery_prefix is not None and not self.labels:
            raise ValueError(
                "discovery_prefix needs mqtt.labels: the labels to create Home Assistant entities for"
            )
        return self

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else (8883 if self.tls.active else 1883)

    @property
    def spool_root(self) -> Path:
        """``spool_dir``, or its default for where edgecv runs (see :func:`default_spool_root`)."""
        return self.spool_dir if self.spool_dir is not None else default_spool_root()

    @property
    def device_spool_dir(self) -> Path:
        """``<spool_root>/<device>``: the spools of this device's cameras are below it."""
        return self.spool_root / _path_level(self.device)

    def camera_spool_dir(self, camera: str) -> Path:
        """A camera's own spool: ``<spool_root>/<device>/<camera>``, so cameras never share one."""
        return self.device_spool_dir / _path_level(camera)

    @property
    def effective_client_id(self) -> str:
        return self.client_id or f"edgecv-{self.device}"
