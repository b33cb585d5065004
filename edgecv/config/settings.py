"""The config root and its loading: YAML file < ``EDGECV_*`` environment < CLI flags."""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, BaseModel, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.exceptions import SettingsError

from ..errors import ConfigError
from .cameras import (
    OWN_SECTIONS,
    CameraConfig,
    check_camera_name,
    merge_overrides,
    override_sections,
    shorthand_conflicts,
)
from .mqtt import MqttConfig
from .origins import DEFAULTS, ENV_DELIMITER, ENV_PREFIX, Origins, env_tree
from .scene import LineConfig, MaskConfig, MotionConfig, RuleName, ZoneConfig
from .secrets import MASK, Redactor, mask_tree, secret_paths, values_at
from .sections import DetectConfig, LogConfig, ModelConfig, OutputConfig, SourceConfig
from .service import ServiceConfig
from .tracker import TrackerConfig
from .web import WebConfig

CONFIG_ENV = "EDGECV_CONFIG"
CONFLICT = "cameras_conflict"  # the error type of a shorthand key set beside a cameras map


class EnvironmentSource(EnvSettingsSource):
    """``EDGECV_*`` variables read from the mapping it is given, never from ``os.environ``."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        # The base __init__ loads the variables through _load_env_vars (the hook pydantic-settings' own
        # DotEnvSettingsSource overrides too), so the mapping must be in place before it runs.
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {
            (name if self.case_sensitive else name.lower()): value
            for name, value in self._environ.items()
            if not (self.env_ignore_empty and value == "")
        }


@dataclass(frozen=True)
class _LoadInputs:
    """What one :func:`load_settings` call reads, lowest precedence first."""

    file_values: dict[str, Any]
    environ: Mapping[str, str]
    overrides: dict[str, Any]


# pydantic-settings asks the class for its sources (a classmethod hook), not the call. A context variable
# hands each call its own inputs without a class attribute or a swapped os.environ: a thread runs in a
# context of its own, so two threads loading at once never see each other's.
_LOADING: ContextVar[_LoadInputs | None] = ContextVar("edgecv_load_settings", default=None)


class Settings(BaseSettings):
    """Everything edgecv reads. Nested keys map to ``EDGECV_<SECTION>__<KEY>`` variables."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_DELIMITER,
        extra="forbid",
        validate_assignment=True,
        case_sensitive=False,
    )

    source: SourceConfig = Field(
        default_factory=SourceConfig,
        description="Where frames come from: the one-camera shorthand, named by mqtt.camera. Several cameras "
        "go in 'cameras' instead (setting both is an error).",
    )
    cameras: dict[Annotated[str, AfterValidator(check_camera_name)], CameraConfig] = Field(
        default_factory=dict,
        description="Several cameras sharing the one model and interpreter: name -> {source, and overrides of "
        "detect and tracker}. Names are [a-z0-9_]+ (EDGECV_CAMERAS__<NAME>__SOURCE__URI) and not "
        "availability, error, set or state. Empty: the top-level source is the one camera.",
    )
    model: ModelConfig = Field(default_factory=ModelConfig, description="The detector model and its runtime.")
    detect: DetectConfig = Field(
        default_factory=DetectConfig, description="Score threshold, NMS and class filter."
    )
    output: OutputConfig = Field(
        default_factory=OutputConfig, description="Local outputs (stdout JSON lines)."
    )
    log: LogConfig = Field(default_factory=LogConfig, description="Logging.")
    tracker: TrackerConfig = Field(
        default_factory=TrackerConfig, description="Multi-object tracking: track ids and track events."
    )
    service: ServiceConfig = Field(
        default_factory=ServiceConfig, description="Health checks and deadlines when run as a service."
    )
    mqtt: MqttConfig = Field(default_factory=MqttConfig, description="Publishing to an MQTT broker.")
    web: WebConfig = Field(
        default_factory=WebConfig,
        description="The read-only web view: live annotated streams, snapshots, stats, /healthz, /metrics.",
    )
    zones: dict[RuleName, ZoneConfig] = Field(
        default_factory=dict,
        description="Named zones of the one-camera shorthand (a camera of 'cameras' has its own): "
        "name -> {polygon, classes, min_score, inertia_s, loiter_s, anchor, units}.",
    )
    lines: dict[RuleName, LineConfig] = Field(
        default_factory=dict,
        description="Named counting lines of the one-camera shorthand: name -> {points, classes, anchor, units}.",
    )
    masks: list[MaskConfig] = Field(
        default_factory=list,
        description="Regions of the one-camera shorthand whose detections are dropped before tracking.",
    )
    motion: MotionConfig = Field(
        default_factory=MotionConfig,
        description="Motion-gated detection: skip the detector on frames where nothing moves (a camera of "
        "'cameras' overrides these keys like detect's).",
    )

    @model_validator(mode="before")
    @classmethod
    def _resolve_cameras(cls, data: Any) -> Any:
        """A ``cameras`` map excludes the one-camera shorthand; each camera's overrides are merged here, on
        the raw input, so that its effective sections are validated whole (see :mod:`.cameras`)."""
        if not isinstance(data, Mapping):
            return data
        conflicts = shorthand_conflicts(data)
        if conflicts:
            keys = ",".join(".".join(path) for path in conflicts)
            raise PydanticCustomError(CONFLICT, "{keys} cannot be set beside cameras", {"keys": keys})
        return merge_overrides(data)

    def camera_sections(self) -> dict[str, CameraConfig]:
        """Every camera of the run by name, with its effective sections: the ``cameras`` map, or the
        shorthand (``source`` with the top-level overridable sections, named ``mqtt.camera``)."""
        if self.cameras:
            return dict(self.cameras)
        # Built without validation: the sections were validated where they stand, and the shorthand's
        # source may be unset (the bundled demo clip), which a camera of the map may not.
        sections = {name: getattr(self, name) for name in CameraConfig.model_fields}
        return {self.mqtt.camera: CameraConfig.model_construct(**sections)}

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        inputs = _LOADING.get()
        if inputs is None:
            # Built directly, not by load_settings: keyword arguments over the process environment.
            return (init_settings, env_settings)
        return (
            InitSettingsSource(settings_cls, init_kwargs=inputs.overrides),
            EnvironmentSource(settings_cls, inputs.environ),
            InitSettingsSource(settings_cls, init_kwargs=inputs.file_values),
        )


def _env_names(model: type[BaseModel], prefix: str) -> set[str]:
    """Every variable name that addresses a field (sections and their nested models included)."""
    names: set[str] = set()
    for name, field in model.model_fields.items():
        full = f"{prefix}{name}".upper()
        names.add(full)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= _env_names(annotation, full + ENV_DELIMITER)
    return names


# Maps of named sections: EDGECV_CAMERAS__<NAME>__<KEY...>, where <NAME> is any key of the map.
_NAMED = {f"{ENV_PREFIX}CAMERAS{ENV_DELIMITER}": CameraConfig}


def _known_variable(name: str, known: set[str]) -> bool:
    upper = name.upper()
    if upper in known:
        return True
    for prefix, model in _NAMED.items():
        if upper.startswith(prefix):
            entry, _, rest = upper[len(prefix) :].partition(ENV_DELIMITER)
            # The name's own spelling is checked with the rest of the config (check_camera_name).
            return bool(entry) and (not rest or rest in _env_names(model, ""))
    return False


def check_environment(environ: Mapping[str, str] | None = None) -> None:
    """An ``EDGECV_`` variable that matches no field is a typo that would silently do nothing: reject it."""
    environ = dict(os.environ) if environ is None else environ
    known = _env_names(Settings, ENV_PREFIX) | {CONFIG_ENV}
    unknown = sorted(k for k in environ if k.upper().startswith(ENV_PREFIX) and not _known_variable(k, known))
    if unknown:
        sections = ", ".join(
            f"{ENV_PREFIX}{s.upper()}{ENV_DELIMITER}" + ("<NAME>__<KEY>" if s == "cameras" else "<KEY>")
            for s in Settings.model_fields
        )
        raise ConfigError(
            f"unknown environment variable {unknown[0]}"
            + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""),
            f"edgecv reads {sections}; run 'edgecv config' to list every key",
        )


def read_config_file(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"config file not found: {path}", f"pass --config or {CONFIG_ENV} an existing file"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        # Scanner and parser errors carry a position and a one-line problem; others only their text.
        marked = exc if isinstance(exc, yaml.MarkedYAMLError) else None
        mark = marked.problem_mark if marked else None
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = (marked.problem if marked else None) or str(exc).splitlines()[0]
        raise ConfigError(f"config file {path} is not valid YAML{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file {path} must be a mapping of sections (source:, model:, ...), got {type(data).__name__}"
        )
    return data


def _shown(value: Any, loc: tuple[str, ...], secrets: list[tuple[str, ...]]) -> str:
    """The offending value for a message: masked where it is (or holds) a secret, short otherwise."""
    masked = mask_tree(value, secrets, loc)
    if masked == MASK:
        return MASK
    return (
        repr(masked)
        if not isinstance(masked, (dict, list)) or len(repr(masked)) < 60
        else type(masked).__name__
    )


def _format_validation_error(exc: ValidationError, origins: Origins, redact: Redactor) -> str:
    secrets = secret_paths(Settings)
    errors = exc.errors()
    # A camera's copy of a bad top-level value is left to the top-level error, when there is one.
    reported = {tuple(str(part) for part in e["loc"]) for e in errors}
    lines = []
    for error in errors:
        # "[key]": pydantic's place for a map's key (a camera name) that failed its own check.
        loc = tuple(str(part) for part in error["loc"] if part != "[key]")
        field = ".".join(loc) or "config"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == CONFLICT:
            lines.append(_conflict(str((error.get("ctx") or {})["keys"]).split(","), origins))
            continue
        if _inherited(loc, origins) and loc[2:] in reported:
            continue  # a camera's copy of a top-level value: the top-level section reports it once
        if error["type"] == "extra_forbidden":
            lines.append(
                f"{field}: unknown key (from {origins.source_of(loc)}); run 'edgecv config' for keys"
            )
            continue
        value = error.get("input")
        if not loc:
            lines.append(message)  # a check of the whole config words its own message
            continue
        if error["type"] == "missing":
            parent = loc[:-1]
            where = f" ({'.'.join(parent)} from {origins.source_of(parent)})" if parent else ""
            lines.append(f"{field}: required, not set{where}")
            continue
        if isinstance(value, dict):
            # A check across a section's keys: name every key that was set and who set it, not the section.
            given = origins.set_under(loc)
            where = "; ".join(f"{key} from {source}" for key, source in given) or f"all from {DEFAULTS}"
            lines.append(f"{field}: {message} ({where})")
            continue
        lines.append(f"{field} = {_shown(value, loc, secrets)}: {message} (from {origins.source_of(loc)})")
    # A validator may quote a secret in its own words: the known values are masked in the text too.
    return redact("invalid config: " + "; ".join(lines))


def _conflict(keys: list[str], origins: Origins) -> str:
    """A shorthand key beside ``cameras``: both named, with who set them."""
    given = " and ".join(f"{key} (from {origins.source_of(tuple(key.split('.')))})" for key in keys)
    what = "are" if len(keys) > 1 else "is"
    moved = [key for key in keys if key in OWN_SECTIONS and key != "source"]
    rules = (
        f"; {', '.join(moved)} belong to a camera: put them under cameras.<name>.{moved[0]}" if moved else ""
    )
    return (
        f"{given} {what} set beside cameras (from {origins.source_of(('cameras',))}): source, mqtt.camera, "
        "zones, lines and masks are the one-camera shorthand (and --source sets source); with a cameras map, "
        "give each camera its source under cameras.<name>.source, and its name as the map's key" + rules
    )


def _inherited(loc: tuple[str, ...], origins: Origins) -> bool:
    """Whether ``loc`` is a key of a camera's override section that the camera did not set itself: its
    value is the top-level section's, whose own error is reported."""
    return (
        len(loc) >= 4
        and loc[0] == "cameras"
        and loc[2] in override_sections()
        and origins.source_of(loc) == DEFAULTS
    )


def load_settings(
    config_path: str | Path | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
    environ: Mapping[str, str] | None = None,
    flags: Mapping[str, str] | None = None,
) -> Settings:
    """Load the config: file (``--config`` or ``EDGECV_CONFIG``), then environment, then ``overrides``.

    ``environ`` stands in for the process environment (default: a copy of ``os.environ``), which is only
    read, never changed. ``flags`` names the command-line flag behind a dotted override key
    (``{"detect.iou": "--iou"}``) for messages. Raises :class:`ConfigError` (exit code 2) naming the
    field, the value (secrets masked), what is allowed and where the value came from.
    """
    environ = dict(os.environ) if environ is None else environ
    overrides = {k: v for k, v in (overrides or {}).items() if v}
    check_environment(environ)
    config_path = config_path or environ.get(CONFIG_ENV) or None
    file_values = read_config_file(config_path) if config_path else {}
    token = _LOADING.set(_LoadInputs(file_values, environ, overrides))
    try:
        return Settings()
    except ValidationError as exc:
        origins = Origins.of(overrides, environ, file_values, config_path, flags)
        raise ConfigError(
            _format_validation_error(exc, origins, _input_redactor(overrides, environ, file_values))
        ) from None
    except SettingsError as exc:
        cause = exc.__cause__ or exc
        redact = _input_redactor(overrides, environ, file_values)
        raise ConfigError(
            redact(f"invalid config: {exc}: {cause}"), "complex values in the environment take JSON"
        ) from None
    finally:
        _LOADING.reset(token)


def _input_redactor(
    overrides: Mapping[str, Any], environ: Mapping[str, str], file_values: Mapping[str, Any]
) -> Redactor:
    """Masks every secret the inputs hold, whichever input holds it: the settings never came to be."""
    paths = secret_paths(Settings)
    found = [
        value for tree in (overrides, env_tree(environ), file_values) for value in values_at(tree, paths)
    ]
    return Redactor(found)
